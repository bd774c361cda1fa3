"""accelsim validate: C++ kernels against the golden model, every format, bit for bit."""
from __future__ import annotations

import sys

from accelsim.cli.output import write_json_atomic


def register(sub) -> None:
    p = sub.add_parser("validate", help="check the C++ kernels against the golden model, bit for bit",
                       description=__doc__)
    p.add_argument("--cases", type=int, default=200, help="random cases per format (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--formats", default="all",
                   help="comma-separated: int8,int4,int16,ternary,binary_w_int8_a,binary,flex16 (default all)")
    p.add_argument("--isa", default="all", help="SIMD paths to check: all supported (default) or a comma list")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from accelsim import kernels
    from accelsim.validate import FORMATS, validate

    formats = list(FORMATS) if args.formats == "all" else [f.strip() for f in args.formats.split(",") if f.strip()]
    isas = None
    if args.isa != "all":
        isas = [i.strip() for i in args.isa.split(",") if i.strip()]
        bad = [i for i in isas if i not in kernels.available_isas()]
        if bad:
            raise ValueError(f"--isa {','.join(bad)} not supported here; available: {','.join(kernels.available_isas())}")
    if args.cases < 1:
        raise ValueError(f"--cases must be >= 1, got {args.cases}")
    print(f"accelsim validate: {args.cases} cases per format, seed {args.seed}, "
          f"ISA paths {','.join(isas or kernels.available_isas())}", flush=True)
    print(f"{'format':<18}{'cases':>8}{'mismatches':>12}{'max|diff|':>11}", flush=True)

    def progress(fmt, r):
        print(f"{fmt:<18}{r.cases:>8}{r.mismatches:>12}{r.max_abs_diff:>11}", flush=True)

    summary = validate(args.cases, args.seed, formats, isas, progress)
    total = sum(v["mismatches"] for v in summary["formats"].values())
    print(f"{'total':<18}{sum(v['cases'] for v in summary['formats'].values()):>8}{total:>12}"
          f"   ({summary['seconds']:.1f} s)")
    for name, v in summary["formats"].items():
        for f in v["failures"]:
            print(f"  MISMATCH {name}: {f}", file=sys.stderr)
    if args.json:
        write_json_atomic(args.json, summary)
    return 1 if total else 0
