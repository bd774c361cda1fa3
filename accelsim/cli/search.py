"""accelsim search: per-layer formats chosen with the simulator as the cost model and the runtime as
the quality model; prints the Pareto set of quality (PSNR vs float) against cost, the best
assignment within a budget, and whether the search beats ApGAN's rule and every uniform format.

With --widths (sr-x4): the MFAGAN-style sub-generator search instead: every candidate width priced
by the simulator in one format, the ones within the budget nearest it distilled from the teacher
(--steps; --adv-weight adds a distilled PatchGAN's adversarial term), PSNR against the HR ground
truth, the Pareto set and the chosen width. Training needs scikit-image (the training images of
models/train_sr.py) unless --steps 0."""
from __future__ import annotations

import argparse
import math

from accelsim.cli.options import add_model, examples, naming
from accelsim.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("search", help="hardware-aware per-layer format search: Pareto set of quality vs energy",
                       description=__doc__,
                       **examples("accelsim search --arch isaac-like --budget-uj 2.5",
                                  "accelsim search --ladder w8a8,w4a8,w2a8 --budget-dram-bytes 60000",
                                  "accelsim search --model examples/generators.py:cyclegan_tiny --json s.json",
                                  "accelsim search --model sr-x4 --widths --budget-uj 130 --steps 300"))
    add_model(p)
    p.add_argument("--arch", default="edge-npu", help="preset name or YAML file (default edge-npu)")
    p.add_argument("--ladder", default=None,
                   help="formats from most to least precise, walked down layer by layer (default w8a8,w4a8,w2a8,w1a8)")
    w = p.add_argument_group("width search (MFAGAN style; sr-x4)")
    w.add_argument("--widths", nargs="?", const="grid", default=None, metavar="F/S,...",
                   help="search the sub-generator's widths instead of formats: the given features/shrink pairs, "
                        "or (no value) the grid 6..48 / 6..24 in steps of 6; needs a budget")
    w.add_argument("--width-format", default=None, metavar="FMT",
                   help="the one format every candidate width is priced and scored in (default fp32; int8, int4, "
                        "ternary, binary, flex16 or registry names such as w8a8)")
    w.add_argument("--steps", type=int, default=None, help="distillation steps per trained candidate (default 300)")
    w.add_argument("--distil", type=int, default=None,
                   help="candidates within the budget to distil, the costliest first (default 3)")
    w.add_argument("--adv-weight", type=float, default=None,
                   help="weight of the adversarial term under a distilled student PatchGAN (default 0: pixel L1 only)")
    w.add_argument("--disc-steps", type=int, default=None,
                   help="steps to train the teacher PatchGAN and to distil the student PatchGAN (default 200)")
    w.add_argument("--batch-size", type=int, default=None, help="LR patches per distillation step (default 64)")
    w.add_argument("--threads", type=int, default=None, help="torch threads for training (default torch's)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--budget-uj", type=float, metavar="UJ", help="energy per image budget, uJ (cost: energy)")
    budget.add_argument("--budget-dram-bytes", type=float, metavar="B", help="DRAM bytes budget (cost: DRAM bytes)")
    budget.add_argument("--budget-weight-bits", type=float, metavar="BITS",
                        help="weight storage budget, bits (cost: weight bits)")
    p.add_argument("--lowering", default="phase", help="transposed conv lowering (default phase)")
    p.add_argument("--n", type=int, default=None, help="inputs for PSNR vs float (default 32)")
    p.add_argument("--calib", type=int, default=None, help="calibration inputs (seed 1234; default 32)")
    p.add_argument("--weight-quantizer", default=None, choices=["minmax", "mse", "em"],
                   help="how weight scales are chosen (as in accelsim generate; default minmax)")
    p.add_argument("--json", metavar="PATH", help="every evaluated assignment, the Pareto set and the baselines")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=run)


# options of one mode only (None: not given), and their defaults; one given in the other mode is refused
FORMAT_ONLY = {"ladder": "--ladder", "n": "--n", "calib": "--calib", "weight_quantizer": "--weight-quantizer"}
WIDTH_ONLY = {"width_format": "--width-format", "steps": "--steps", "distil": "--distil", "adv_weight": "--adv-weight",
              "disc_steps": "--disc-steps", "batch_size": "--batch-size", "threads": "--threads"}
DEFAULTS = {"n": 32, "calib": 32, "weight_quantizer": "minmax", "width_format": "fp32", "steps": 300, "distil": 3,
            "adv_weight": 0.0, "disc_steps": 200, "batch_size": 64}


def _mode_options(args) -> None:
    """Refuse an option of the other mode (it would be ignored), then fill the defaults."""
    widths = args.widths is not None
    for dest, option in (FORMAT_ONLY if widths else WIDTH_ONLY).items():
        if getattr(args, dest) is not None:
            raise ConfigError(f"{option} is for the format search, not --widths" if widths
                              else f"{option} is for the width search: add --widths")
    for dest, value in DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, value)


def _budget(args) -> tuple[str, float | None, str]:
    for cost, value, option in (("energy_uj", args.budget_uj, "--budget-uj"),
                                ("dram_bytes", args.budget_dram_bytes, "--budget-dram-bytes"),
                                ("weight_bits", args.budget_weight_bits, "--budget-weight-bits")):
        if value is not None:
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{option} must be a positive number, got {value!r}")
            return cost, value, option
    return "energy_uj", None, ""


def _row(c, layers) -> str:
    ssim = "-" if math.isnan(c.ssim) else f"{c.ssim:.4f}"
    fmts = " ".join(f"{dict(c.formats)[l]:<{max(len(l), 8)}}" for l in layers)
    return (f"{c.energy_uj:>10.4f} {c.dram_bytes:>11,} {c.weight_bits:>12,} {c.psnr_db:>8.2f} {ssim:>7}  "
            f"{fmts}  {c.origin}")


def run(args) -> int:
    from accelsim import search as S
    from accelsim.api import LOWERING_CHOICES
    from accelsim.arch import load_arch
    from accelsim.cli.options import check_calib, file_of
    from accelsim.cli.output import check_distinct, check_writable
    from accelsim.errors import FormatError, ModelError

    if args.lowering not in LOWERING_CHOICES:
        raise ConfigError(f"--lowering must be one of {', '.join(LOWERING_CHOICES)}, got {args.lowering!r}")
    _mode_options(args)
    cost, budget, option = _budget(args)
    check_distinct({"--json": args.json}, {"--arch": args.arch, "--model": file_of(args.model)})
    if args.widths is not None:
        return run_widths(args, cost, budget, option)
    if not 1 <= args.n <= 4096:
        raise ConfigError(f"--n must be in [1, 4096], got {args.n}")
    check_calib(args.calib)
    with naming("--ladder", FormatError):
        ladder = S._ladder(args.ladder or ",".join(S.DEFAULT_LADDER))
    if args.json:
        check_writable(args.json, "--json")
    with naming("--arch", ConfigError):
        arch = load_arch(args.arch)
    from accelsim.cli.progress import Progress, wanted
    progress = Progress("search", "assignments") if wanted(args.progress) else None
    with naming("--model", ModelError):
        result = S.search(args.model, arch, ladder, cost, n_inputs=args.n, calib=args.calib,
                          lowering=args.lowering, progress=progress, weight_quantizer=args.weight_quantizer)
    layers = [l for l, _ in result.candidates[0].formats]
    front = result.pareto()
    print(f"accelsim search: {result.model} on {result.arch}, ladder {' > '.join(ladder)}, cost {S.COSTS[cost]}; "
          f"PSNR vs float on {args.n} inputs, calibrated on {args.calib}, {args.weight_quantizer} weight scales")
    print(f"{len(result.candidates)} assignments evaluated in {result.seconds:.1f} s "
          f"({len(result.path) - 1} greedy steps)\n")
    head = (f"{'uJ/img':>10} {'DRAM B':>11} {'weight bits':>12} {'PSNR dB':>8} {'SSIM':>7}  "
            f"{' '.join(f'{l:<{max(len(l), 8)}}' for l in layers)}  origin")
    print(f"Pareto set (quality against {S.COSTS[cost]}):")
    print(head)
    print("-" * len(head))
    for c in front:
        print(_row(c, layers))
    print("\nbaselines (uniform formats; ApGAN: binary weights on the k layers with the largest input c*h*w):")
    print(head)
    print("-" * len(head))
    for b in result.baselines:
        print(_row(b, layers))
    beaten = sum(v is not None for v in result.beats.values())
    print(f"\nsearch dominates {beaten} of {len(result.beats)} baselines (cost <= and PSNR >=)"
          + ("" if beaten == len(result.beats) else "; not dominated: "
             + ", ".join(k for k, v in result.beats.items() if v is None)))
    best = None
    if budget is not None:
        best = result.best_within(budget)
        if best is None:
            cheapest = min(result.candidates, key=lambda c: c.cost(cost))
            print(f"\n{option} {budget:g}: no evaluated assignment fits; the cheapest is {cheapest.label} at "
                  f"{cheapest.cost(cost):,.4g}")
        else:
            print(f"\nbest within {option} {budget:g}: {best.label}  ({best.cost(cost):,.4g}, "
                  f"PSNR {best.psnr_db:.2f} dB)")
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, {
            "model": result.model, "arch": result.arch, "ladder": list(ladder), "cost": cost, "budget": budget,
            "inputs": args.n, "calib": args.calib, "lowering": args.lowering, "seconds": result.seconds,
            "best_within_budget": best.to_json() if best else None,
            "pareto": [c.to_json() for c in front], "path": [c.to_json() for c in result.path],
            "baselines": [c.to_json() for c in result.baselines], "beats": result.beats,
            "evaluated": [c.to_json() for c in result.candidates]})
    return 0


def run_widths(args, cost: str, budget, option: str) -> int:
    """The --widths mode: ``search.search_widths``."""
    from accelsim import search as S
    from accelsim.arch import load_arch
    from accelsim.cli.options import as_options
    from accelsim.cli.output import check_writable
    from accelsim.errors import FormatError, ModelError

    if budget is None:
        raise ConfigError("--widths needs a budget: --budget-uj, --budget-dram-bytes or --budget-weight-bits")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    with as_options({"widths": "--widths"}, ConfigError):
        widths = None if args.widths == "grid" else S.parse_widths(args.widths, args.model)
        if widths is None:
            S.parse_widths(S.SR_WIDTH_GRID, args.model)          # the model check
    with as_options({"format": "--width-format"}, FormatError):
        S._width_kind(args.width_format)
    if args.json:
        check_writable(args.json, "--json")
    with naming("--arch", ConfigError):
        arch = load_arch(args.arch)
    from accelsim.cli.progress import Progress, wanted
    progress = Progress("search", "widths") if wanted(args.progress) else None
    fields = {"budget": option, "widths": "--widths", "steps": "--steps", "distil": "--distil", "adv_weight": "--adv-weight",
              "disc_steps": "--disc-steps", "batch_size": "--batch-size"}
    with as_options(fields, ConfigError), naming("--model", ModelError):
        r = S.search_widths(args.model, arch, budget, cost, args.width_format, widths, distil=args.distil,
                            steps=args.steps, adv_weight=args.adv_weight, disc_steps=args.disc_steps,
                            batch_size=args.batch_size, threads=args.threads, lowering=args.lowering,
                            progress=progress)
    knobs = "/".join(S.WIDTH_KNOBS[r.model])
    qname = "PSNR vs HR" if r.quality_metric == "psnr_gt_db" else "PSNR vs float"
    print(f"accelsim search --widths: {r.model} on {r.arch}, {knobs} in {r.fmt}, cost {S.COSTS[cost]}, "
          f"{option} {budget:g}")
    print(f"{len(r.priced)} widths priced, {len(r.within)} within the budget, {len(r.evaluated)} scored "
          f"({args.steps} distillation steps each"
          + (f", adversarial weight {args.adv_weight:g} under a distilled PatchGAN" if args.adv_weight > 0 else "")
          + f") in {r.seconds:.1f} s\n")
    head = f"{'widths':>8} {'uJ/img':>10} {'DRAM B':>11} {'weight bits':>12} {'MACs':>12} {qname:>10}  origin"

    def row(c):
        q = "-" if c.quality is None else f"{c.quality:.2f}"
        return (f"{c.label:>8} {c.energy_uj:>10.3f} {c.dram_bytes:>11,} {c.weight_bits:>12,} {c.macs:>12,} {q:>10}  "
                f"{c.origin}{'' if c.cost(cost) <= budget else ' (over budget)'}")
    print("priced (cheapest first):")
    print(head)
    print("-" * len(head))
    for c in r.priced:
        print(row(c))
    print(f"\nPareto set ({qname} against {S.COSTS[cost]}):")
    print(head)
    print("-" * len(head))
    for c in r.pareto():
        print(row(c))
    print(f"\nchosen within {option} {budget:g}: {r.chosen.label} ({r.chosen.cost(cost):,.4g}, {qname} "
          f"{r.chosen.quality:.2f} dB)")
    if args.json:
        from accelsim.cli.output import write_json_atomic
        write_json_atomic(args.json, {
            "mode": "widths", "model": r.model, "arch": r.arch, "format": r.fmt, "cost": cost, "budget": budget,
            "quality": r.quality_metric, "steps": args.steps, "adv_weight": args.adv_weight,
            "discriminator": r.discriminator, "seconds": r.seconds, "chosen": r.chosen.to_json(),
            "pareto": [c.to_json() for c in r.pareto()], "evaluated": [c.to_json() for c in r.evaluated],
            "priced": [c.to_json() for c in r.priced]})
    return 0
