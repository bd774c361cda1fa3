"""accelsim report: one self-contained HTML page for a model on an accelerator: the energy per image per
format and its breakdown, the per-layer table, a roofline per layer, the compressions' energy-quality
Pareto plot and, with --sweep, the buffer curves of a sweep store."""
from __future__ import annotations

import argparse

from accelsim.cli.options import add_fusion, add_model, examples, file_of, naming
from accelsim.errors import ConfigError

# A quick comparison by default: the post-training rows and the shipped trained ones cost seconds.
SHIPPED_RECIPES = "fp32,int8,int4,ternary,binary,xnor,flex16,ternary-qat,prune50+int8"


def register(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page: energy, layers, roofline, Pareto, buffers",
                       description=__doc__,
                       **examples("accelsim report --out report.html",
                                  "accelsim report --model examples/generators.py:cyclegan_tiny --compare w8a8,w4a8,w2a8 "
                                  "--out cg.html",
                                  "accelsim report --arch edge-npu --sweep sweep.db --out report.html"))
    add_model(p)
    p.add_argument("--arch", default="edge-npu", help="preset name or YAML file (default edge-npu)")
    p.add_argument("--format", default="all", help="comma-separated formats or 'all' (as accelsim energy)")
    p.add_argument("--lowering", default="phase", help="transposed conv lowering (default phase)")
    p.add_argument("--objective", default="dram", help="mapper objective: dram, energy, latency, edp")
    p.add_argument("--batch", type=int, default=1, help="images per batch (default 1)")
    add_fusion(p)
    p.add_argument("--compare", default="auto", metavar="LIST|none",
                   help="compressions to plot: recipes for a shipped generator, formats for any other model; "
                        f"'none' skips them (default: {SHIPPED_RECIPES} / the post-training formats)")
    p.add_argument("--images", type=int, default=64, help="images scored for the comparison's PSNR (default 64)")
    p.add_argument("--sweep", metavar="STORE", help="a sweep store (accelsim sweep --out) to draw buffer curves from")
    p.add_argument("--json", metavar="PATH", help="also write the page's data as JSON")
    p.add_argument("--out", required=True, metavar="PATH", help="the HTML page (.html)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr while comparing (default: when stderr is a terminal)")
    p.set_defaults(func=run)


def run(args) -> int:
    import os

    from accelsim.api import simulate_formats
    from accelsim.cli.energy import check_sim_options, resolve_inputs
    from accelsim.cli.output import check_distinct, check_writable, write_json_atomic
    from accelsim.report import reports_to_json
    from accelsim.files import write_atomic
    from accelsim.report.html import render

    if not args.out.lower().endswith((".html", ".htm")):
        raise ConfigError(f"--out: {args.out}: the report is an HTML page: give a .html path")
    check_sim_options(args)
    if not 1 <= args.images <= 10000:
        raise ConfigError(f"--images must be in [1, 10000], got {args.images}")
    if args.sweep is not None and not os.path.isfile(args.sweep):
        raise ConfigError(f"--sweep: {args.sweep}: no such sweep store (a file written by accelsim sweep --out)")
    check_distinct({"--out": args.out, "--json": args.json},
                   {"--arch": args.arch, "--model": file_of(args.model), "--sweep": args.sweep})
    for option, path in (("--out", args.out), ("--json", args.json)):
        if path:
            check_writable(path, option)
    model, arch, formats = resolve_inputs(args)
    reports = simulate_formats(model, arch, formats, lowering=args.lowering, objective=args.objective,
                               batch=args.batch, fusion=args.fusion)
    doc = {"energy": reports_to_json(reports, args.objective),
           "setup": f"lowering {args.lowering}, mapper objective {args.objective}, batch {args.batch}"
                    + ("" if args.fusion == "none" else f", fusion {args.fusion}"),
           "generated_by": f"accelsim report --model {args.model} --arch {args.arch}"}
    if arch.kind != "crossbar":
        doc["roofline"] = {"peak_macs_per_cycle": arch.array.rows * arch.array.cols,
                           "dram_bytes_per_cycle": arch.dram_bytes_per_cycle}
    if args.compare != "none":
        doc["compare"] = _compare(args, arch)
    if args.sweep:
        doc["sweep"] = _sweep(args.sweep)
    page = render(doc)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
    write_atomic(args.out, write, "--out")
    if args.json:
        write_json_atomic(args.json, doc)
    rows = doc["energy"]["summary"]["rows"]
    print(f"accelsim report: {doc['energy']['model']} on {arch.name}: {len(rows)} formats, "
          f"{sum(len(r['layers']) for r in doc['energy']['results'])} layer rows"
          + (f", {len(doc['compare']['rows'])} compressions" if "compare" in doc else "")
          + (f", {len(doc['sweep']['curves'])} buffer curves" if "sweep" in doc else "") + f" -> {args.out}")
    return 0


def _compare(args, arch) -> dict:
    from accelsim import compare
    from accelsim.cli.progress import Progress, wanted
    from accelsim.errors import FormatError, ModelError
    from accelsim.models import registry
    progress = Progress("report: compare", "rows") if wanted(args.progress) else None
    if args.model in registry.GENERATORS and not args.input_shape:
        from accelsim.compress import zoo
        from accelsim.compress.recipe import check_recipe
        recipes = [r.strip() for r in (SHIPPED_RECIPES if args.compare == "auto" else args.compare).split(",")]
        with naming("--compare", ConfigError):
            for r in recipes:
                check_recipe(r)
        recipes = [r for r in recipes if args.compare != "auto" or not zoo.needs_training(args.model, r)]
        untrained = [r for r in recipes if zoo.needs_training(args.model, r)]
        if untrained:
            raise ConfigError(f"--compare: {untrained[0]!r} needs training and its trained part is not shipped "
                              f"for {args.model!r} (accelsim compare --train trains it)")
        rows = compare.evaluate(args.model, recipes, arch, lowering=args.lowering, n_images=args.images, n_fid=0,
                                progress=progress, fusion=args.fusion)
    else:
        from accelsim.formats.registry import parse_list
        from accelsim.graph.reference import load
        formats = ",".join(compare.PTQ_FORMATS) if args.compare == "auto" else args.compare
        with naming("--compare", FormatError):
            formats = parse_list(formats)
        with naming("--model", ModelError):
            loaded = load(args.model, args.input_shape)
        rows = compare.evaluate_ptq(loaded, formats, arch, lowering=args.lowering, n_images=args.images,
                                    progress=progress, fusion=args.fusion)
    return {"quality_key": "psnr_db", "pareto_front": compare.pareto_front(rows, "psnr_db"),
            "rows": [r.to_json() for r in rows]}


def _sweep(path: str) -> dict:
    from accelsim.sweep import Store
    from accelsim.sweep.analysis import answer, curves
    with naming("--sweep", ConfigError), Store(path, create=False) as store:
        rows = store.rows()
    if not rows:
        raise ConfigError(f"--sweep: {path} holds no sweep point")
    cs = curves(rows)
    return {"store": path, "answers": [answer(c).to_json() for c in cs],
            "curves": [{**c.label, "buffer_kib": list(c.buffer_kib), "energy_per_image_pj": list(c.energy_per_image_pj),
                        "dram_bytes_per_image": list(c.dram_bytes_per_image)} for c in cs]}
