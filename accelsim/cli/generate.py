"""accelsim generate: images from a quantized generator run by the C++ kernels, with its PSNR and
SSIM against the fp32 generator on the same latent vectors."""
from __future__ import annotations

import time


def register(sub) -> None:
    p = sub.add_parser("generate", help="images from a quantized generator (C++ kernels), PSNR vs fp32",
                       description=__doc__)
    p.add_argument("--model", default="dcgan-digits", help="shipped generator (default dcgan-digits)")
    p.add_argument("--format", default="int8", help="fp32, int16, int8, int6, int4, int2, ternary, "
                   "binary_w_int8_a, binary, flex16 (default int8)")
    p.add_argument("--out", required=True, metavar="PNG", help="image grid to write")
    p.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--impl", default="cpp", choices=["cpp", "reference"], help="kernels or golden model")
    p.add_argument("--scale", type=int, default=3, help="pixel upscaling of the PNG (default 3)")
    p.set_defaults(func=run)


def run(args) -> int:

    from accelsim import imageio, qgen
    from accelsim.models import registry
    from accelsim.quality import psnr_db, ssim

    if not 1 <= args.n <= 4096:
        raise ValueError(f"--n must be in [1, 4096], got {args.n}")
    if not 1 <= args.scale <= 16:
        raise ValueError(f"--scale must be in [1, 16], got {args.scale}")
    if args.model not in registry.GENERATORS or not args.model.startswith("dcgan"):
        raise ValueError(f"--model must be a shipped DCGAN generator ({', '.join(g for g in registry.GENERATORS if g.startswith('dcgan'))}), got {args.model!r}")
    if args.format not in qgen.FORMATS:
        raise ValueError(f"--format must be one of {', '.join(qgen.FORMATS)}, got {args.format!r}")
    from accelsim.cli.output import check_writable
    check_writable(args.out, "--out")   # before generating, not after it
    t0 = time.perf_counter()
    gen = qgen.quantize_generator(args.model, args.format)
    z = registry.latents(args.n, args.seed, z_dim=gen.float_layers[0].weight.shape[0])
    images = gen.run(z, impl=args.impl)
    ref = qgen.float_forward(gen.float_layers, z)
    elapsed = time.perf_counter() - t0
    imageio.write_png(args.out, imageio.grid(imageio.to_uint8(images)), scale=args.scale)
    print(f"{args.model} {args.format} ({args.impl}): {args.n} images -> {args.out}")
    print(f"PSNR vs fp32 {psnr_db(images, ref):.2f} dB, SSIM {ssim(images, ref):.4f}  ({elapsed:.2f} s)")
    return 0
