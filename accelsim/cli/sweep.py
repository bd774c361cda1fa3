"""accelsim sweep: design-space exploration over buffer size, format, array, DRAM, dataflow and
lowering; results in a resumable SQLite store; knees and recommended buffers per format.
See docs/sweep.md."""
from __future__ import annotations

import argparse
import os
import re
import sys

from accelsim.cli.options import (add_fusion, add_model, as_options, check_batch, check_fusion, check_jobs, examples,
                                  file_of, naming)
from accelsim.errors import ConfigError

# library fields (the messages of accelsim.sweep start with them) -> the options that set them
AXIS_FIELDS = {"buffer": "--buffer", "array": "--array", "dram": "--dram", "dataflow": "--dataflow"}
RUN_FIELDS = {"store": "--out", "scheduler": "--scheduler", "executor": "--executor", "jobs": "--jobs"}

AXIS_OPTIONS = ("buffer", "array", "dram", "dataflow")


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # pragma: no cover - not Linux
        return os.cpu_count() or 1


def register(sub) -> None:
    p = sub.add_parser("sweep", help="design-space sweep with a resumable results store, knees and plots",
                       description=__doc__,
                       **examples("accelsim sweep --buffer 16KiB:1MiB --format w8a8,w4a8 --out sweep.db",
                                  "accelsim sweep --buffer 64KiB:4MiB:8 --array 16x16,32x32 --plot buffers.png",
                                  "accelsim sweep --points points.csv --out sweep.db --jobs 2"))
    add_model(p)
    p.add_argument("--arch", default="edge-npu", help="base arch: preset name or YAML file (default edge-npu)")
    p.add_argument("--buffer", metavar="RANGE",
                   help="TOTAL on-chip buffer, split in the preset's proportions: SIZE, MIN:MAX (x2 steps), "
                        "MIN:MAX:STEPS (log-spaced) or MIN:MAX:xFACTOR; units B, KiB, MiB, GiB")
    p.add_argument("--format", help="comma-separated formats (fp32, fp16, int2..int16, ternary, binary, "
                                    "binary_w_int8_a, flex16) or 'all' (default int8)")
    p.add_argument("--array", metavar="RxC,...", help="PE arrays, e.g. 8x8,16x16,32x32")
    p.add_argument("--dram", metavar="TYPE,...", help="DRAM types: lpddr4, ddr4, hbm2 (channels kept from the arch)")
    p.add_argument("--dataflow", metavar="DF,...", help="dataflows: os, ws, is")
    p.add_argument("--lowering", help="transposed-conv lowerings, comma-separated (default phase)")
    p.add_argument("--objective", default="dram", help="mapper objective: dram (default), energy, latency, edp")
    p.add_argument("--batch", type=int, default=1, help="images per batch (default 1)")
    add_fusion(p)
    p.add_argument("--points", metavar="FILE", help="CSV or JSON list of points instead of the cartesian product")
    p.add_argument("--out", default="sweep.db", help="SQLite results store (default sweep.db); re-running skips "
                                                     "stored points")
    p.add_argument("--jobs", type=int, help="worker processes (default: the CPUs available; 1 runs in-process)")
    p.add_argument("--executor", default="process", help="process (default) or dask")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (with --executor dask)")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="recommended buffer: the smallest within this fraction of the best energy (default 0.05)")
    p.add_argument("--json", metavar="PATH", help="write the answers (knees, recommended buffers) and curves as JSON")
    p.add_argument("--plot", metavar="PATH", help="PNG of DRAM traffic and energy vs buffer (and a heat map when "
                                                  "two axes are swept)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--export", metavar="csv|json", help="export every row of --out and exit (runs nothing)")
    p.add_argument("--export-path", metavar="P", help="export file (default: --out with .csv/.json)")
    p.set_defaults(func=run)


def _export(args) -> int:
    from accelsim.sweep import export
    given = [o for o in AXIS_OPTIONS + ("format", "lowering", "points", "json", "plot") if getattr(args, o) is not None]
    if given:
        raise ConfigError(f"--export only exports the store given by --out; it cannot be combined with --{given[0]} "
                          "(run the sweep first, then export)")
    fmt = args.export
    path = args.export_path or os.path.splitext(args.out)[0] + "." + fmt
    with as_options({"store": "--out", "fmt": "--export", "out_path": "--export-path"}, ConfigError):
        n = export(args.out, fmt, path)
    print(f"accelsim sweep: exported {n} rows of {args.out} to {path}")
    return 0


def _points(args, base):
    from accelsim.api import LOWERING_CHOICES
    from accelsim.sweep import (SweepSpec, parse_arrays, parse_dataflows, parse_drams, parse_formats, parse_list,
                                parse_size_range)
    from accelsim.sweep.points_file import load_points
    if args.points:
        given = [o for o in AXIS_OPTIONS + ("format", "lowering") if getattr(args, o) is not None]
        if given:
            raise ConfigError(f"--points lists every point; it cannot be combined with --{given[0]}")
        with naming("--points", ConfigError):
            return load_points(args.points, args.model, args.arch, base, LOWERING_CHOICES, args.objective,
                               args.batch, args.fusion)
    spec = SweepSpec(
        args.model, args.arch, parse_formats(args.format or "int8", "--format"),
        parse_size_range(args.buffer, "--buffer") if args.buffer is not None else None,
        parse_arrays(args.array, "--array") if args.array is not None else None,
        parse_drams(args.dram, "--dram") if args.dram is not None else None,
        parse_dataflows(args.dataflow, "--dataflow") if args.dataflow is not None else None,
        parse_list(args.lowering or "phase", "--lowering", LOWERING_CHOICES), args.objective, args.batch, args.fusion)
    with as_options(AXIS_FIELDS, ConfigError):
        return spec.points(base)


def _swept(points) -> list[str]:
    value = {"buffer_kib": lambda p: p.buffer_kib, "array": lambda p: (p.array_rows, p.array_cols),
             "dram": lambda p: p.dram, "dataflow": lambda p: p.dataflow, "lowering": lambda p: p.lowering}
    return [axis for axis, f in value.items() if len({f(p) for p in points}) > 1]


def _plot_paths(path: str, swept: list[str]) -> dict:
    """Which figures --plot writes: the buffer curves at PATH, a heat map at PATH-heatmap.EXT."""
    stem, ext = os.path.splitext(path)
    out = {}
    if "buffer_kib" in swept:
        out["curves"] = path
    if len(swept) == 2:
        out["heatmap"] = f"{stem}-heatmap{ext or '.png'}" if out else path
    if not out:
        raise ConfigError("--plot needs --buffer with at least two sizes, or exactly two swept axes for a heat map "
                          f"(swept here: {', '.join(swept) or 'none besides the format'})")
    return out


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _workers(executor: str, jobs: int) -> str:
    if executor == "dask":
        return "Dask cluster"
    return "in-process" if jobs == 1 else f"{jobs} worker processes"


def _check_dir(option: str, path: str | None) -> None:
    if path:
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise ConfigError(f"{option}: cannot write {path}: directory {directory} does not exist")


def run(args) -> int:
    if args.export is not None:
        return _export(args)
    from accelsim.arch import load_arch
    from accelsim.mapping import OBJECTIVES
    from accelsim.report.sweep_table import sweep_table
    from accelsim.sweep import EXECUTORS, Store, make_tasks, run as run_tasks
    from accelsim.sweep.analysis import answer, curves
    from accelsim.errors import ModelError
    from accelsim.sweep.runner import register_workload
    from accelsim.workload.models import resolve_workload

    if args.objective not in OBJECTIVES:
        raise ConfigError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {args.objective!r}")
    check_batch(args.batch)
    check_fusion(args.fusion)
    from accelsim.cli.output import check_distinct
    check_distinct({"--out": args.out, "--json": args.json, "--plot": args.plot},
                   {"--arch": args.arch, "--points": getattr(args, "points", None), "--model": file_of(args.model)})
    if not 0 <= args.tolerance < 10:
        raise ConfigError(f"--tolerance must be in [0, 10), got {args.tolerance}")
    jobs = _default_jobs() if args.jobs is None else args.jobs
    check_jobs(jobs)
    if args.executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {args.executor!r}")
    if args.executor == "dask" and not args.scheduler:
        raise ConfigError("--executor dask needs --scheduler ADDRESS (a running 'dask scheduler')")
    if args.scheduler is not None and not re.fullmatch(r"((tcp|tls|inproc|ucx|ws|wss)://)?[^\s:/]+(:\d+)?/?",
                                                       args.scheduler):
        raise ConfigError(f"--scheduler: not a scheduler address such as tcp://host:8786, got {args.scheduler!r}")
    if args.export_path is not None:
        raise ConfigError("--export-path goes with --export")
    with naming("--model", ModelError):
        model = resolve_workload(args.model, args.input_shape)
    register_workload(args.model, model)
    with naming("--arch", ConfigError):
        base = load_arch(args.arch)
    points = _points(args, base)
    with naming("--points", ConfigError) if args.points else as_options(AXIS_FIELDS, ConfigError):
        tasks = make_tasks(points, base)      # resolves and validates every point's arch
    swept = _swept(points)
    plots = _plot_paths(args.plot, swept) if args.plot else {}
    for option, path in (("--out", args.out), ("--json", args.json), ("--plot", args.plot)):
        _check_dir(option, path)
    a = getattr(base, "array", None)
    compute = "ReRAM crossbar" if a is None else f"{a.rows}x{a.cols} {a.dataflow}"
    print(f"accelsim sweep: {model.name} on {base.name} ({compute}, {base.dram.name} "
          f"x{base.dram.channels}), objective {args.objective}, batch {args.batch}"
          f"{'' if args.fusion == 'none' else ', fusion ' + args.fusion}: {_n(len(tasks), 'point')} "
          f"({_workers(args.executor, jobs)}) -> {args.out}")
    from accelsim.cli.progress import Progress, wanted
    show = wanted(args.progress)
    try:
        with as_options(RUN_FIELDS, ConfigError):
            stats = run_tasks(tasks, args.out, jobs=jobs, executor=args.executor, scheduler=args.scheduler,
                              on_result=Progress("sweep", "pt") if show else None)
    except KeyboardInterrupt:
        print(f"\naccelsim sweep: interrupted; every finished point is in {args.out}: run the same command "
              "again to resume", file=sys.stderr)
        return 130
    with as_options(RUN_FIELDS, ConfigError), Store(args.out) as store:
        by_hash = {r["config_hash"]: r for r in store.rows()}
    rows = [by_hash[t.config_hash] for t in tasks]
    rate = stats.computed / stats.seconds if stats.seconds > 0 else 0.0
    print(f"{_n(stats.points, 'point')}: {stats.computed} computed ({rate:.1f} points/s), {stats.skipped} already in "
          f"the store, {sum(r['status'] != 'ok' for r in rows)} infeasible (the arch cannot run them)")
    cs = curves(rows)
    ans = [answer(c, args.tolerance) for c in cs]
    print()
    print(sweep_table(ans))
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, _json_doc(args, model.name, base.name, stats, rows, cs, ans))
    lowerings = ", ".join(dict.fromkeys(p.lowering for p in points))
    title = f"{model.name} on {base.name}: {lowerings} lowering, mapper objective {args.objective}, batch {args.batch}"
    if "curves" in plots:
        from accelsim.report.sweep_plot import plot_buffer_sweep
        plot_buffer_sweep(cs, ans, plots["curves"], title)
    if "heatmap" in plots:
        from accelsim.report.sweep_plot import plot_heatmap
        x_axis, y_axis = sorted(swept, key=lambda axis: axis != "buffer_kib")   # buffer (if swept) along x
        plot_heatmap(rows, x_axis, y_axis, plots["heatmap"], title)
    for path in plots.values():
        print(f"wrote {path}")
    return 0


def _json_doc(args, model, arch, stats, rows, cs, ans) -> dict:
    from accelsim.sweep.knee import KNEE_DEFINITION
    return {
        "model": model, "arch": arch, "objective": args.objective, "batch": args.batch, "tolerance": args.tolerance,
        **({} if args.fusion == "none" else {"fusion": args.fusion}),
        "store": args.out, "points": stats.points, "computed": stats.computed, "skipped": stats.skipped,
        "infeasible": sum(r["status"] != "ok" for r in rows),
        "buffer_scaling": "total on-chip capacity, split over the arch's buffers in the preset's proportions",
        "knee_definition": KNEE_DEFINITION,
        "answers": [a.to_json() for a in ans],
        "curves": [{**c.label, "buffer_kib": list(c.buffer_kib), "dram_bytes_per_image": list(c.dram_bytes_per_image),
                    "energy_per_image_pj": list(c.energy_per_image_pj),
                    "compulsory_dram_bytes_per_image": c.compulsory_dram_bytes_per_image,
                    "infeasible_buffer_kib": list(c.infeasible_buffer_kib)} for c in cs],
    }
