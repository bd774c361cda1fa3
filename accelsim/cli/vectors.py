"""accelsim vectors: golden vectors for hardware testbenches (export) and device dumps against them (check)."""
from __future__ import annotations

import shlex

from accelsim.cli.options import add_model, as_options, examples
from accelsim.errors import AccelsimError


def register(sub) -> None:
    p = sub.add_parser("vectors", help="golden vectors for RTL testbenches: export, check a device dump",
                       description=__doc__,
                       **examples("accelsim vectors export --format w8a8 --out vec",
                                  "accelsim vectors check --manifest vec/manifest.json --actual dump"))
    vsub = p.add_subparsers(dest="vectors_command", metavar="ACTION")
    vsub.required = True

    e = vsub.add_parser("export", help="write per-layer golden vectors (hex, raw binary, JSON manifest)",
                        description="Per layer: input, weights, bias, requantization parameters, accumulators "
                        "and expected output as $readmemh hex + raw little-endian binaries, a JSON manifest "
                        "and a plain-text sidecar for C (docs/vectors.md). The golden model and the C++ "
                        "kernels must agree bit for bit, or nothing is written.",
                        **examples("accelsim vectors export --format w8a8 --out vec",
                                   "accelsim vectors export --format w1a1 --layer 0 --batch 4 --out vec_l0",
                                   "accelsim vectors export --model examples/generators.py:cyclegan_tiny --format w8a8 "
                                   "--out vec_cg"))
    add_model(e)
    e.add_argument("--format", default="w8a8",
                   help="a format with integer MAC kernels (accelsim formats): w8a8, w4a8, w2a8 (ternary), "
                   "w1a8, w1a1 (XNOR), w16a16, flex16+5, ... (old names such as int8 are aliases), or per "
                   "layer 'w4a8,first=w8a8' (default w8a8)")
    e.add_argument("--layer", default="all",
                   help="layer index (0 = first layer; for a graph model, the index among its conv / "
                   "transposed conv / linear nodes), layer or node name, or all (default)")
    e.add_argument("--batch", type=int, default=1, help="inputs (latent vectors) (default 1)")
    e.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
    e.add_argument("--calib", type=int, default=64, help="calibration inputs, seed 1234 (default 64)")
    e.add_argument("--autoflex", action="store_true", help="flex16: static Autoflex output exponents")
    e.add_argument("--out", required=True, metavar="DIR", help="output directory (created atomically)")
    e.add_argument("--force", action="store_true", help="replace a non-empty --out directory")
    e.set_defaults(func=run_export)

    c = vsub.add_parser("check", help="compare a device's output dump with the expected outputs, bit for bit",
                        description="Exit status 0: all equal; 1: mismatches; 2: bad input (one-line error).",
                        **examples("accelsim vectors check --manifest vec/manifest.json --actual dump",
                                   "accelsim vectors check --manifest vec --actual out.hex --layer 2 --json check.json"))
    c.add_argument("--manifest", required=True, metavar="PATH", help="manifest.json (or its directory)")
    c.add_argument("--actual", required=True, metavar="FILE_OR_DIR",
                   help="a dump (.hex or .bin) or a directory of layerK.hex/.bin (or layerK/y.hex/.bin) files")
    c.add_argument("--layer", default=None, help="the layer a single-file dump holds (index or name)")
    c.add_argument("--actual-format", default="auto", choices=["auto", "hex", "bin"],
                   help="how to read the dump (default: by extension)")
    c.add_argument("--max-report", type=int, default=10, help="first mismatches to report per layer (default 10)")
    c.add_argument("--json", metavar="PATH", help="write the result as JSON")
    c.set_defaults(func=run_check)


# the parameters of export_vectors / check_vectors (their messages start with them) -> the options
EXPORT_FIELDS = {"fmt": "--format", "layer": "--layer", "model": "--model", "batch": "--batch", "seed": "--seed",
                 "calib": "--calib", "input_shapes": "--input-shape", "out_dir": "--out", "autoflex": "--autoflex"}
EXPORT_HINTS = {"(force=True replaces it)": "(--force replaces it)", "drop the input shapes": "drop --input-shape"}
CHECK_FIELDS = {"layer": "--layer", "actual": "--actual", "actual_format": "--actual-format",
                "max_report": "--max-report"}
CHECK_HINTS = {"(layer=K)": "(--layer K)", "or give actual_format)": "or --actual-format)"}


def _command(args) -> str:
    parts = ["accelsim", "vectors", "export", "--model", args.model]
    for shape in args.input_shape or ():
        parts += ["--input-shape", shape]
    parts += ["--format", args.format, "--layer", str(args.layer), "--batch", str(args.batch),
              "--seed", str(args.seed)]
    if args.calib != 64:
        parts += ["--calib", str(args.calib)]
    if args.autoflex:
        parts.append("--autoflex")
    parts += ["--out", args.out]
    return " ".join(shlex.quote(p) for p in parts)


def run_export(args) -> int:
    from accelsim.vectors import export_vectors

    with as_options(EXPORT_FIELDS, AccelsimError, hints=EXPORT_HINTS):
        m = export_vectors(args.out, model=args.model, fmt=args.format, layer=args.layer, batch=args.batch,
                           seed=args.seed, command=_command(args), force=args.force, autoflex=args.autoflex,
                           input_shapes=args.input_shape, calib=args.calib)
    where = "every MAC node and graph value" if "mac_nodes" in m else "every layer"
    print(f"accelsim vectors export: {args.model} {m['format']}, batch {args.batch}, seed {args.seed}: "
          f"golden model == C++ kernels ({m['kernel_check']['isa']}) on {where}")
    nfiles = 2
    for rec in m["layers"]:
        ts = rec["tensors"]
        nfiles += 2 * len(ts)
        desc = ", ".join(f"{n} {'x'.join(map(str, t['shape']))}/{t['word_bits']}b" for n, t in ts.items())
        print(f"  layer {rec['index']} {rec['name']:<10} {rec['kernel']:<9} {desc}")
    print(f"wrote {nfiles} files to {args.out} (manifest.json, vectors.txt)")
    return 0


def run_check(args) -> int:
    from accelsim.cli.output import check_writable, write_json_atomic
    from accelsim.vectors import check_vectors

    if args.json:
        check_writable(args.json, "--json")

    with as_options(CHECK_FIELDS, AccelsimError, hints=CHECK_HINTS):
        r = check_vectors(args.manifest, args.actual, layer=args.layer, actual_format=args.actual_format,
                          max_report=args.max_report)
    print(f"accelsim vectors check: {r['model']} {r['format']}, {r['layers_compared']} layer(s)")
    for lr in r["layers"]:
        print(f"  layer {lr['index']} {lr['name']}: {lr['words']} words ({lr['word_bits']}-bit) compared, "
              f"{lr['mismatches']} mismatch{'es' if lr['mismatches'] != 1 else ''}  [{lr['actual']}]")
        for mm in lr["first_mismatches"]:
            where = ", ".join(f"{k}={mm[k]}" for k in ("n", "c", "y", "x") if k in mm) or f"element {mm['element']}"
            print(f"    MISMATCH layer {mm['layer']} ({mm['name']}) at ({where}): expected {mm['expected']} "
                  f"(0x{mm['expected_word']}), actual {mm['actual']} (0x{mm['actual_word']})")
    for nd in r["not_dumped"]:
        print(f"  layer {nd['index']} {nd['name']}: no dump (not compared)")
    verdict = "PASS" if r["ok"] else "FAIL"
    print(f"{verdict}: {r['words_compared']} words compared, {r['mismatches']} mismatch"
          f"{'es' if r['mismatches'] != 1 else ''}")
    if args.json:
        write_json_atomic(args.json, r)
    return 0 if r["ok"] else 1
