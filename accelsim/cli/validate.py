"""accelsim validate: C++ kernels against the golden model, every format, bit for bit."""
from __future__ import annotations

import argparse
import sys
import time

from accelsim.cli.options import examples
from accelsim.errors import AccelsimError, ConfigError


MAX_CASES = 10_000_000   # per format: ~3 days of one core; --minutes bounds a run by time


def _items(text: str, option: str) -> list[str]:
    """Comma-separated values; an empty one ('int8,', 'a,,b') is an error, not silently dropped."""
    items = [v.strip() for v in text.split(",")]
    if not all(items):
        raise ConfigError(f"{option}: empty item in the comma-separated list {text!r}")
    return items

def _one_of(args, new: tuple[str, str], old: tuple[str, str], default: str) -> tuple[str, str]:
    """(the option the user typed, its text) of an option and its old name (``--formats``)."""
    a, b = getattr(args, new[1]), getattr(args, old[1])
    if a is not None and b is not None:
        raise ConfigError(f"{new[0]} and {old[0]} are the same option: give one")
    return (old[0], b) if b is not None else (new[0], a if a is not None else default)


def _case_format(name: str, known) -> str:
    """The validate case family of a format name: itself, or the family whose registry name it is
    (``w8a8`` -> ``int8``, ``flex16+5`` -> ``flex16``); unknown names pass through to be reported."""
    if name in known:
        return name
    from accelsim.formats import registry
    try:
        canonical = registry.resolve(name)
    except AccelsimError:
        return name
    by_canonical = {}
    for k in known:
        try:
            by_canonical.setdefault(registry.resolve(k), k)
        except AccelsimError:
            pass
    return by_canonical.get(canonical, name)


def register(sub) -> None:
    p = sub.add_parser("validate", help="check the C++ kernels against the golden model, bit for bit",
                       description=__doc__ + " Long runs (soaks): --minutes bounds the time, --jobs uses "
                       "several processes; progress goes to stderr.",
                       **examples("accelsim validate",
                                  "accelsim validate --format w8a8,flex16+5 --isa avx2 --cases 1000",
                                  "accelsim validate --minutes 10 --jobs 2 --json soak.json"))
    p.add_argument("--cases", type=int, default=200, help="random cases per format (default 200)")
    p.add_argument("--seed", type=int, default=0, help="case seed, in [0, 2^63) (default 0)")
    p.add_argument("--format", default=None, metavar="F[,F...]",
                   help="comma-separated formats whose kernels to check, any name of 'accelsim formats' that "
                        "validate has cases for (w8a8, w4a8, w2a8, w1a8, w1a1, flex16+5, w3a3 ...; the old names "
                        "int8, ternary, binary, flex16 too) (default all)")
    p.add_argument("--formats", dest="formats_alias", default=None, help=argparse.SUPPRESS)   # old name
    p.add_argument("--isa", default="all", help="SIMD paths to check: all supported (default) or a comma list")
    p.add_argument("--lowering", default=None, metavar="L[,L...]",
                   help="golden forms of conv_transpose2d to check, comma-separated: scatter (the reference) and "
                        "gather (zero insertion) (default scatter,gather)")
    p.add_argument("--lowerings", dest="lowerings_alias", default=None, help=argparse.SUPPRESS)   # old name
    p.add_argument("--space", default="default", choices=["default", "wide"],
                   help="case space: default (1 case in 5 large: up to 256 channels per group, K up to 4096), or "
                        "wide (1 in 2 large, groups up to 4, images up to 9x9, every width 2..16: ~4x slower per "
                        "case; --format all then adds w6a9 ... w16a2)")
    p.add_argument("--minutes", type=float, help="stop after this many minutes (the cases done so far are reported)")
    p.add_argument("--jobs", default="1", help="worker processes, or 'auto' for one per CPU (default 1)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: on a terminal, when the run is long: more than 2000 cases in all)")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON (no timings: reproducible)")
    p.set_defaults(func=run)


def _validate_progress(deadline: float | None):
    """The shared progress line (``accelsim.cli.progress``), with the mismatches found so far."""
    from accelsim.cli.progress import Progress
    bar = Progress("validate", "cases", deadline=deadline)

    def report(done: int, total: int, results) -> None:
        bar(done, total, f"{sum(r.mismatches for r in results.values())} mismatches")
    return report


def run(args) -> int:
    from accelsim import kernels
    from accelsim.cli.output import check_writable, write_json_atomic
    from accelsim.validate import LOWERINGS, default_jobs, validate
    from accelsim.validate.cases import ALL_FORMATS, FORMATS
    if args.space == "wide":
        FORMATS = ALL_FORMATS  # noqa: N806 (every width 2..16)

    f_opt, f_text = _one_of(args, ("--format", "format"), ("--formats", "formats_alias"), "all")
    formats = list(FORMATS) if f_text == "all" else [_case_format(f, FORMATS) for f in _items(f_text, f_opt)]
    isas = None
    if args.isa != "all":
        isas = _items(args.isa, "--isa")
        bad = [i for i in isas if i not in kernels.available_isas()]
        if bad or not isas:
            shown = ",".join(b if b.isprintable() else repr(b) for b in bad) or repr(args.isa)
            raise ConfigError(f"--isa {shown} not supported here; available: "
                              f"{','.join(kernels.available_isas())}")
    if not 1 <= args.cases <= MAX_CASES:   # a longer run is --minutes' job
        raise ConfigError(f"--cases must be in [1, {MAX_CASES}] per format, got {args.cases}")
    if not 0 <= args.seed < 2 ** 63:
        raise ConfigError(f"--seed must be in [0, 2^63), got {args.seed}")
    if args.jobs == "auto":
        jobs = default_jobs()
    elif args.jobs.isascii() and args.jobs.isdigit() and int(args.jobs) >= 1:
        from accelsim.cli.options import check_jobs
        jobs = check_jobs(int(args.jobs))
    else:
        raise ConfigError(f"--jobs must be a positive integer or 'auto', got {args.jobs!r}")
    if args.minutes is not None and not 0 < args.minutes <= 10080:
        raise ConfigError(f"--minutes must be in (0, 10080], got {args.minutes}")
    l_opt, l_text = _one_of(args, ("--lowering", "lowering"), ("--lowerings", "lowerings_alias"), "scatter,gather")
    lowerings = _items(l_text, l_opt)
    if "scatter" not in lowerings or any(lw not in LOWERINGS for lw in lowerings):
        raise ConfigError(f"{l_opt} must include scatter (the reference) and be among {', '.join(LOWERINGS)}, "
                          f"got {l_text!r}")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"{f_opt}: unknown format(s) {', '.join(map(repr, unknown)) or repr(f_text)}; "
                          f"choose from {', '.join(FORMATS)}")
    if args.json:
        check_writable(args.json, "--json")   # before the run, not after an hour of it
    total = args.cases * len(formats)
    show = args.progress if args.progress is not None else sys.stderr.isatty() and total > 2000
    deadline = None if args.minutes is None else time.time() + 60.0 * args.minutes
    print(f"accelsim validate: {args.cases} cases per format, seed {args.seed}, "
          f"ISA paths {','.join(isas or kernels.available_isas())}, golden lowerings {','.join(lowerings)}"
          + (f", space {args.space}" if args.space != "default" else "") + (f", {jobs} processes" if jobs > 1 else "") + (f", at most {args.minutes:g} min" if args.minutes else ""),
          flush=True)
    t0 = time.perf_counter()
    summary = validate(args.cases, args.seed, formats, isas, _validate_progress(deadline) if show else None,
                       minutes=args.minutes, jobs=jobs, lowerings=lowerings, space=args.space)
    seconds = time.perf_counter() - t0
    print(f"{'format':<18}{'cases':>10}{'mismatches':>12}{'max|diff|':>11}  by ISA")
    for name, v in summary["formats"].items():
        by_isa = " ".join(f"{i}={n}" for i, n in v["mismatches_by_isa"].items())
        lw = f" golden-lowerings={v['golden_lowering_mismatches']}" if "gather" in lowerings else ""
        print(f"{name:<18}{v['cases']:>10}{v['mismatches']:>12}{v['max_abs_diff']:>11}  {by_isa}{lw}")
    cases = sum(v["cases"] for v in summary["formats"].values())
    bad = sum(v["mismatches"] for v in summary["formats"].values())
    print(f"{'total':<18}{cases:>10}{bad:>12}   ({seconds:.1f} s, {cases / max(seconds, 1e-9):.0f} cases/s"
          + ("" if summary["complete"] else f"; stopped by --minutes {args.minutes:g}") + ")")
    for name, v in summary["formats"].items():
        for f in v["failures"]:
            print(f"  MISMATCH {name}: {f}", file=sys.stderr)
    if args.json:
        write_json_atomic(args.json, summary)
    return 1 if bad else 0
