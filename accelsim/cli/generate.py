"""accelsim generate: run any generator in any format through the C++ kernels (the one runtime) and
report its PSNR and SSIM against the same generator in float on the same inputs."""
from __future__ import annotations

import time

from accelsim.cli.options import add_model, examples, naming
from accelsim.errors import ConfigError

CALIB_SEED = 1234     # calibration inputs: disjoint from the evaluation seed's default 0


def register(sub) -> None:
    p = sub.add_parser("generate", help="run a generator in a format (C++ kernels), PSNR/SSIM vs float",
                       description=__doc__,
                       **examples("accelsim generate --format w4a8 --out grid.png",
                                  "accelsim generate --model examples/generators.py:cyclegan_tiny --format w8a8 --out o.png",
                                  "accelsim generate --format 'w4a4,first=w8a8,last=w8a8' --out mixed.png"))
    add_model(p)
    p.add_argument("--format", default="w8a8",
                   help="format ('accelsim formats'), or per layer 'w4a8,first=w8a8,LAYER=w2a8' (default w8a8)")
    p.add_argument("--out", required=True, metavar="PNG|NPZ",
                   help="image grid (.png; outputs must be 1 or 3 channel images in [-1, 1]) or arrays (.npz)")
    p.add_argument("--n", type=int, default=64, help="number of inputs (default 64)")
    p.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
    p.add_argument("--calib", type=int, default=64, help="calibration inputs (seed 1234; default 64)")
    p.add_argument("--impl", default="cpp", choices=["cpp", "reference"], help="kernels or golden model")
    p.add_argument("--weight-quantizer", default="minmax", choices=["minmax", "mse", "em"],
                   help="how weight scales are chosen: max|w| (minmax, default), MSE-optimal clipping (mse), "
                        "QGAN's EM-style alternation (em); docs/quantization.md")
    p.add_argument("--scale", type=int, default=3, help="pixel upscaling of the PNG (default 3)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from accelsim import imageio
    from accelsim.cli.output import check_writable
    from accelsim.graph.reference import load
    from accelsim.quality import output_scores
    from accelsim.runtime import quantize

    if not 1 <= args.n <= 4096:
        raise ConfigError(f"--n must be in [1, 4096], got {args.n}")
    from accelsim.cli.options import check_calib
    check_calib(args.calib)
    if not 1 <= args.scale <= 16:
        raise ConfigError(f"--scale must be in [1, 16], got {args.scale}")
    if not 0 <= args.seed < 2 ** 63:
        raise ConfigError(f"--seed must be in [0, 2^63), got {args.seed}")
    kind = args.out.lower().rsplit(".", 1)[-1] if "." in args.out else ""
    if kind not in ("png", "npz"):
        raise ConfigError(f"--out must end in .png or .npz, got {args.out!r}")
    from accelsim.cli.options import file_of
    from accelsim.cli.output import check_distinct
    check_distinct({"--out": args.out}, {"--model": file_of(args.model)})
    check_writable(args.out, "--out")   # before any work
    from accelsim.errors import FormatError, ModelError
    with naming("--model", ModelError):
        from accelsim.cli.progress import model_status
        with model_status(args.model):
            loaded = load(args.model, args.input_shape)
    t0 = time.perf_counter()
    with naming("--format", FormatError):
        q = quantize(loaded.graph, args.format, loaded.example_inputs(args.calib, CALIB_SEED),
                     weight_quantizer=args.weight_quantizer)
    x = loaded.example_inputs(args.n, args.seed)
    out = q.run(x, impl=args.impl)
    elapsed = time.perf_counter() - t0
    ref = loaded.graph.run_float(x)
    if isinstance(out, tuple):
        raise ModelError(f"{loaded.origin}: the model has {len(out)} outputs; generate writes one")
    if kind == "png":
        if out.ndim != 4 or out.shape[1] not in (1, 3):
            raise ModelError(f"--out: the output has shape {out.shape}, not 1 or 3 channel images; use .npz")
        imageio.write_png(args.out, imageio.grid(imageio.to_uint8(out)), scale=args.scale)
    else:
        from accelsim.files import write_atomic
        write_atomic(args.out, lambda tmp: np.savez(tmp, output=out, float_reference=ref), "--out")
    fmts = sorted(set(q.format_names.values()))
    wq = "" if args.weight_quantizer == "minmax" else f", {args.weight_quantizer} weight scales"
    print(f"{loaded.name} {args.format} ({', '.join(fmts)}; {args.impl}{wq}): {args.n} inputs -> {args.out}")
    s = output_scores(out, ref, loaded.graph.node(loaded.graph.outputs[0]).op == "tanh")
    line = f"PSNR vs float {s['psnr_db']:.2f} dB (data range {s['data_range']:g})"
    if s["ssim"] == s["ssim"]:   # not NaN: images of at least 11x11
        line += f", SSIM {s['ssim']:.4f}"
    print(f"{line}  ({elapsed:.2f} s: calibration on {args.calib} inputs + run)")
    return 0
