"""accelsim compare: every compression of a generator on one accelerator, with one set of metrics
(weight bits, compression ratio, MACs, DRAM bytes and energy per image, PSNR, SSIM, digit-FID)."""
from __future__ import annotations

import argparse

from accelsim.cli.options import add_fusion, add_model, check_fusion, examples, naming
from accelsim.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("compare", help="unified table: every compression, its size, energy and quality",
                       description=__doc__,
                       **examples("accelsim compare --recipes int8,prune50 --plot pareto.png",
                                  "accelsim compare --model examples/generators.py:pix2pix_tiny --json rows.json",
                                  "accelsim compare --model netG.onnx --recipes w8a8,w4a8"))
    add_model(p)
    p.add_argument("--arch", default="edge-npu", help="preset name or YAML file (default edge-npu)")
    p.add_argument("--recipes", default="all",
                   help="comma-separated recipes such as int8,prune50,distilled+int8+codebook16 (default: all rows); "
                        "for a model without shipped compressions (file.py:NAME, .onnx): formats, "
                        "post-training quantized by the runtime (default fp32,w8a8,w4a8,w4a4,w2a8,w1a8,w1a1,flex16+5)")
    p.add_argument("--calib", type=int, default=32, help="calibration inputs of a post-training row (default 32)")
    p.add_argument("--lowering", default="phase", help="transposed conv lowering (default phase)")
    p.add_argument("--images", type=int, default=256, help="images for PSNR/SSIM vs fp32 (default 256)")
    p.add_argument("--fid-images", type=int, default=2000, help="images for digit-FID (default 2000; 0 = skip)")
    p.add_argument("--impl", default="cpp", choices=["cpp", "reference"], help="kernels or golden model")
    p.add_argument("--train", action="store_true", help="train recipes whose trained part is not shipped (torch)")
    add_fusion(p)
    p.add_argument("--cache", metavar="DIR", default=None,
                   help="row cache: a row computed before with the same code, weights, recipe and options is "
                        "read back, new rows are stored (default $ACCELSIM_CACHE_DIR, else ~/.cache/accelsim; "
                        "rows live in DIR/compare)")
    p.add_argument("--no-cache", action="store_true", help="compute every row, store nothing")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    p.add_argument("--plot", metavar="PATH", help="energy per image vs quality, Pareto front marked (PNG)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=run)


def _progress(args):
    from accelsim.cli.progress import Progress, wanted
    return Progress("compare", "rows") if wanted(args.progress) else None


def _row_cache(args):
    """The row cache the options ask for (None: --no-cache); its directory checked before any work."""
    import os

    from accelsim.compare import RowCache, default_cache_dir
    if args.no_cache:
        if args.cache is not None:
            raise ConfigError("--cache and --no-cache: give one of them")
        return None
    directory = os.path.join(args.cache if args.cache is not None else default_cache_dir(), "compare")
    try:
        os.makedirs(directory, exist_ok=True)
        problem = None if os.access(directory, os.W_OK | os.X_OK) else "permission denied"
    except OSError as exc:
        problem = exc.strerror or str(exc)
    if problem is None:
        return RowCache(directory)
    if args.cache is not None:
        raise ConfigError(f"--cache: cannot use {directory}: {problem}")
    import sys
    print(f"accelsim compare: note: no row cache ({directory}: {problem}); every row is computed",
          file=sys.stderr)   # the default place is unusable (a read-only home): not an error
    return None


def run(args) -> int:
    from accelsim import compare
    from accelsim.api import LOWERING_CHOICES
    from accelsim.arch import load_arch
    from accelsim.compress.zoo import RECIPES
    from accelsim.models import registry
    from accelsim.report.compare import compare_table, plot_compare

    if args.lowering not in LOWERING_CHOICES:
        raise ConfigError(f"--lowering must be one of {', '.join(LOWERING_CHOICES)}, got {args.lowering!r}")
    if not 1 <= args.images <= 10000:
        raise ConfigError(f"--images must be in [1, 10000], got {args.images}")
    check_fusion(args.fusion)
    from accelsim.cli.options import check_calib, file_of
    check_calib(args.calib)   # on both paths: never a silently ignored value
    from accelsim.cli.output import check_distinct, check_writable
    check_distinct({"--json": args.json, "--plot": args.plot}, {"--arch": args.arch, "--model": file_of(args.model)})
    if args.model not in registry.GENERATORS or args.input_shape:
        return run_ptq(args)
    if not (args.fid_images == 0 or 64 <= args.fid_images <= 10000):
        raise ConfigError(f"--fid-images must be 0 or in [64, 10000], got {args.fid_images}")
    recipes = list(RECIPES) if args.recipes == "all" else [r.strip() for r in args.recipes.split(",")]
    if not all(recipes):
        raise ConfigError(f"--recipes: empty item in the comma-separated list {args.recipes!r}")
    if not recipes:
        raise ConfigError("--recipes: no recipe given")
    from accelsim.compress import zoo
    from accelsim.compress.recipe import check_recipe
    with naming("--recipes", ConfigError):
        for recipe in recipes:
            check_recipe(recipe)
    untrained = [r for r in recipes if zoo.needs_training(args.model, r)]
    if untrained and not args.train:   # the library's allow_training check, in terms of the options
        raise ConfigError(f"--recipes: {untrained[0]!r} needs training and its trained part is not shipped for "
                          f"{args.model!r}: pass --train (needs torch)")
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            check_writable(path, option)   # before the evaluation, not after it
    with naming("--arch", ConfigError):
        arch = load_arch(args.arch)
    rows = compare.evaluate(args.model, recipes, arch, lowering=args.lowering, n_images=args.images,
                            n_fid=args.fid_images, impl=args.impl, allow_training=args.train,
                            progress=_progress(args), fusion=args.fusion, cache=_row_cache(args))
    quality_key = "fid" if rows[0].fid is not None else "psnr_db"
    front = compare.pareto_front(rows, quality_key)
    data = [r.to_json() for r in rows]
    print(f"accelsim compare: {args.model} on {arch.name}, lowering {args.lowering}; quality vs fp32 on "
          f"{args.images} fixed inputs" + (f", digit-FID on {args.fid_images} images" if rows[0].fid is not None else ""))
    print()
    print(compare_table(data, front))
    print(f"\nPareto front (energy per image vs {'digit-FID' if quality_key == 'fid' else 'PSNR'}): {', '.join(front)}")
    references = {}
    if args.model in compare.SR_MODELS:
        references["bicubic_psnr_gt_db"] = round(compare.sr_bicubic_psnr_gt_db(), 6)
        print(f"reference: bicubic x4 upscaling of the same LR crop, PSNR GT {references['bicubic_psnr_gt_db']:.2f} dB "
              "(a row below it gains nothing over bicubic)")
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, {"model": args.model, "arch": arch.name, "lowering": args.lowering,
                                      "images": args.images, "fid_images": args.fid_images if quality_key == "fid" else 0,
                                      "pareto_front": front, "rows": data, "references": references})
    if args.plot:
        plot_compare(data, args.plot, f"{args.model} on {arch.name}: energy vs quality", front, quality_key)
    return 0


def run_ptq(args) -> int:
    """compare for any model reference: one post-training-quantized row per format (``run`` has
    checked the options the two paths share)."""
    from accelsim import compare
    from accelsim.arch import load_arch
    from accelsim.cli.output import check_writable
    from accelsim.errors import FormatError, ModelError
    from accelsim.graph.reference import load
    from accelsim.report.compare import compare_table, plot_compare

    from accelsim.cli.options import check_calib
    check_calib(args.calib)
    formats = ",".join(compare.PTQ_FORMATS) if args.recipes == "all" else args.recipes
    from accelsim.formats.registry import parse_list
    with naming("--recipes", FormatError):
        formats = parse_list(formats)
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            check_writable(path, option)
    with naming("--model", ModelError):
        from accelsim.cli.progress import model_status
        with model_status(args.model):
            loaded = load(args.model, args.input_shape)
    if args.train or args.fid_images != 2000 or args.cache is not None:
        raise ConfigError("--train, --fid-images and --cache apply to the shipped generators' recipes, not to "
                          f"{args.model}'s post-training rows")
    with naming("--arch", ConfigError):
        arch = load_arch(args.arch)
    rows = compare.evaluate_ptq(loaded, formats, arch, lowering=args.lowering, n_images=args.images,
                                n_calib=args.calib, impl=args.impl, progress=_progress(args), fusion=args.fusion)
    front = compare.pareto_front(rows, "psnr_db")
    data = [r.to_json() for r in rows]
    print(f"accelsim compare: {loaded.name} ({loaded.origin}) on {arch.name}, lowering {args.lowering}; "
          f"post-training quantization, calibrated on {args.calib} inputs, quality vs float on {args.images} inputs")
    print()
    print(compare_table(data, front))
    print(f"\nPareto front (energy per image vs PSNR): {', '.join(front)}")
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, {"model": loaded.name, "origin": loaded.origin, "arch": arch.name,
                                      "lowering": args.lowering, "images": args.images, "calib": args.calib,
                                      "pareto_front": front, "rows": data})
    if args.plot:
        plot_compare(data, args.plot, f"{loaded.name} on {arch.name}: energy vs quality", front, "psnr_db")
    return 0
