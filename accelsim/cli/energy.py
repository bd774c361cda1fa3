"""accelsim energy: energy per generated image of a generator on an accelerator, per numeric format."""
from __future__ import annotations

import argparse

from accelsim.cli.options import add_fusion, add_model, check_batch, check_fusion, examples, file_of as _file_of, naming
from accelsim.errors import ConfigError

DEFAULT_FORMAT_LIST = "all"


def register(sub) -> None:
    p = sub.add_parser("energy", help="energy per generated image, per format (per layer with --layers)",
                       description=__doc__,
                       **examples("accelsim energy",
                                  "accelsim energy --model examples/generators.py:cyclegan --format w8a8,w2a8 --layers",
                                  "accelsim energy --arch isaac-like --format w8a8,w1a1 --json energy.json"))
    add_model(p)
    p.add_argument("--arch", default="edge-npu", help="preset name or YAML file (default edge-npu)")
    p.add_argument("--format", default=DEFAULT_FORMAT_LIST,
                   help="comma-separated formats or 'all' (fp32,fp16,w8a8,w4a8,w4a4,w2a8,w1a8,w1a1,flex16+5; any wNaM; "
                        "old names int8, ternary, binary, flex16 ... accepted; 'accelsim formats' lists them)")
    p.add_argument("--lowering", default="phase", help="transposed conv lowering: zero_insert, phase (default), scatter, best (per layer)")
    p.add_argument("--objective", default="dram", help="mapper objective: dram, energy, latency, edp")
    p.add_argument("--batch", type=int, default=1, help="images per batch (default 1)")
    p.add_argument("--zeros-in-dram", action="store_true",
                   help="with zero_insert, keep the zero-dilated input in DRAM (as SCALE-Sim/ZigZag do)")
    add_fusion(p)
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--plot", metavar="PATH", help="write a stacked-bar PNG of the energy breakdown")
    p.add_argument("--layers", "-v", "--verbose", action=argparse.BooleanOptionalAction, default=False,
                   help="after the summary, print the per-layer table and the full per-format breakdown "
                        "(default off: the summary only)")
    p.set_defaults(func=run)


def resolve_inputs(args):
    """(workload, arch, formats) of --model/--input-shape, --arch and --format (energy and report):
    on a crossbar arch, 'all' leaves out the float formats (float weights do not fit in cells)."""
    from accelsim.arch import load_arch
    from accelsim.cli.progress import model_status
    from accelsim.errors import ModelError
    from accelsim.workload import get_format, parse_formats
    from accelsim.workload.models import resolve_workload
    formats = list(parse_formats(args.format, "--format"))
    with naming("--model", ModelError), model_status(args.model):
        model = resolve_workload(args.model, args.input_shape)
    with naming("--arch", ConfigError):
        arch = load_arch(args.arch)
    if arch.kind == "crossbar" and args.format == DEFAULT_FORMAT_LIST:
        formats = [f for f in formats if get_format(f).weight_kind != "float"]
    return model, arch, formats


def check_sim_options(args) -> None:
    """--lowering, --objective, --batch and --fusion, as energy and report take them (before any work)."""
    from accelsim.api import LOWERING_CHOICES
    from accelsim.mapping import OBJECTIVES
    if args.lowering not in LOWERING_CHOICES:
        raise ConfigError(f"--lowering must be one of {', '.join(LOWERING_CHOICES)}, got {args.lowering!r}")
    if args.objective not in OBJECTIVES:
        raise ConfigError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {args.objective!r}")
    check_batch(args.batch)
    check_fusion(args.fusion)


def run(args) -> int:
    from accelsim.cli.progress import each, wanted
    from accelsim.report import image_table, layer_table, reports_to_json, summary_table

    check_sim_options(args)
    from accelsim.cli.output import check_distinct, check_writable
    check_distinct({"--json": args.json, "--plot": args.plot}, {"--arch": args.arch, "--model": _file_of(args.model)})
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            check_writable(path, option)   # before the simulation, not after it
    model, arch, formats = resolve_inputs(args)
    from accelsim.api import simulate
    reports = [simulate(model, arch, f, lowering=args.lowering, objective=args.objective, batch=args.batch,
                        zeros_in_dram=args.zeros_in_dram, fusion=args.fusion)
               for f in each(formats, "energy", "formats", wanted(None) and len(formats) > 1)]
    a, d = arch.array, arch.dram
    if arch.kind == "crossbar":
        from accelsim.report import crossbar_table
        x = arch.crossbar
        what = (f"{x.tiles}x{x.crossbars_per_tile} crossbars {x.rows}x{x.cols}, {x.bits_per_cell}b cells, "
                f"{x.dac_bits}b DAC, {x.adc_bits}b ADC/{x.cols_per_adc} cols")
    else:
        what = f"{a.rows}x{a.cols} {a.dataflow}"
    print(f"accelsim energy: {model.name} on {arch.name} ({what}, {arch.clock_mhz:g} MHz, "
          f"{arch.tech_node_nm} nm, {d.name} x{d.channels})")
    fused = "" if args.fusion == "none" else f", fusion {args.fusion}"
    print(f"lowering {args.lowering}, objective {args.objective}, batch {args.batch}{fused}: "
          "energy per generated image, per format")
    print()
    print(summary_table(reports))   # the answer first: one row per format
    if args.layers:
        print()
        print("per layer:")
        print(layer_table(reports))
        print()
        print("per generated image, all energy parts:")
        print(image_table(reports))
    if arch.kind == "crossbar":
        print()
        print("crossbars (weight programming is one-time, not per image):")
        print(crossbar_table(reports))
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, reports_to_json(reports, args.objective))
    if args.plot:
        from accelsim.report import plot_breakdown
        plot_breakdown(reports, args.plot)
    return 0
