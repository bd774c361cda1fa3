"""accelsim adc-sweep: energy per image and image quality (PSNR vs fp32) of a generator on a ReRAM
crossbar arch, against the ADC resolution."""
from __future__ import annotations

from accelsim.cli.options import as_options, examples, naming
from accelsim.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("adc-sweep", help="energy per image and PSNR vs ADC bits on a crossbar arch",
                       description=__doc__,
                       **examples("accelsim adc-sweep",
                                  "accelsim adc-sweep --adc-bits 4,6,8 --plot adc.png",
                                  "accelsim adc-sweep --format ternary --json adc.json"))
    p.add_argument("--model", default="dcgan-digits",
                   help="zoo model (default dcgan-digits; PSNR needs shipped weights)")
    p.add_argument("--arch", default="isaac-like", help="crossbar preset or YAML file (default isaac-like)")
    p.add_argument("--adc-bits", default="3:10",
                   help="ADC resolutions: LO:HI (inclusive) or a comma list (default 3:10)")
    p.add_argument("--format", default="int8", help="int8 (default), intN, ternary, binary, binary_w_int8_a, flex16")
    p.add_argument("--lowering", default="phase",
                   help="transposed conv lowering: zero_insert, phase (default), scatter")
    p.add_argument("--images", type=int, default=16, help="latents scored for PSNR (default 16)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the points as JSON")
    p.add_argument("--plot", metavar="PATH", help="write a PNG of energy and PSNR vs ADC bits")
    p.set_defaults(func=run)


def run(args) -> int:
    from accelsim.adc_sweep import adc_sweep, parse_bits
    from accelsim.arch import load_arch
    from accelsim.mapping import LOWERINGS
    from accelsim.report.adc_sweep import adc_sweep_table

    if args.lowering not in LOWERINGS:
        raise ConfigError(f"--lowering must be one of {', '.join(LOWERINGS)}, got {args.lowering!r}")
    if not 0 <= args.seed < 2 ** 63:
        raise ConfigError(f"--seed must be in [0, 2^63), got {args.seed}")
    from accelsim.cli.output import check_distinct, check_writable
    check_distinct({"--json": args.json, "--plot": args.plot}, {"--arch": args.arch})
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            check_writable(path, option)   # before the sweep, not after it
    with as_options({"adc_bits": "--adc-bits"}, ConfigError):
        bits = parse_bits(args.adc_bits)
    with naming("--arch", ConfigError):
        arch = load_arch(args.arch)
    from accelsim.errors import FormatError
    with as_options({"arch": "--arch", "images": "--images"}, ConfigError), naming("--format", FormatError):
        points, info = adc_sweep(args.model, arch, bits, args.format, args.lowering, args.images, args.seed)
    golden = info["psnr_golden_db"]
    print(f"accelsim adc-sweep: {info['model']} {info['format']} on {info['arch']} ({info['lowering']}), "
          f"ADC {info['adc_mode']}, lossless from {info['lossless_adc_bits']} bits; PSNR vs fp32 over "
          f"{info['images']} images" + ("" if golden is None else f" (golden quantized: {golden:.2f} dB)"))
    print()
    print(adc_sweep_table(points))
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, {**info, "points": [p.to_json() for p in points]})
    if args.plot:
        from accelsim.report.adc_sweep import plot_adc_sweep
        plot_adc_sweep(points, info, args.plot)
    return 0
