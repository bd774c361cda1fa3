"""accelsim search: per-layer formats chosen with the simulator as the cost model and the runtime as
the quality model; prints the Pareto set of quality (PSNR vs float) against cost, the best
assignment within a budget, and whether the search beats ApGAN's rule and every uniform format."""
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
                                  "accelsim search --model examples/generators.py:cyclegan_tiny --json s.json"))
    add_model(p)
    p.add_argument("--arch", default="edge-npu", help="preset name or YAML file (default edge-npu)")
    p.add_argument("--ladder", default="w8a8,w4a8,w2a8,w1a8",
                   help="formats from most to least precise, walked down layer by layer (default w8a8,w4a8,w2a8,w1a8)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--budget-uj", type=float, metavar="UJ", help="energy per image budget, uJ (cost: energy)")
    budget.add_argument("--budget-dram-bytes", type=float, metavar="B", help="DRAM bytes budget (cost: DRAM bytes)")
    budget.add_argument("--budget-weight-bits", type=float, metavar="BITS",
                        help="weight storage budget, bits (cost: weight bits)")
    p.add_argument("--lowering", default="phase", help="transposed conv lowering (default phase)")
    p.add_argument("--n", type=int, default=32, help="inputs for PSNR vs float (default 32)")
    p.add_argument("--calib", type=int, default=32, help="calibration inputs (seed 1234; default 32)")
    p.add_argument("--weight-quantizer", default="minmax", choices=["minmax", "mse", "em"],
                   help="how weight scales are chosen (as in accelsim generate; default minmax)")
    p.add_argument("--json", metavar="PATH", help="every evaluated assignment, the Pareto set and the baselines")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=run)


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
    if not 1 <= args.n <= 4096:
        raise ConfigError(f"--n must be in [1, 4096], got {args.n}")
    check_calib(args.calib)
    cost, budget, option = _budget(args)
    with naming("--ladder", FormatError):
        ladder = S._ladder(args.ladder)
    check_distinct({"--json": args.json}, {"--arch": args.arch, "--model": file_of(args.model)})
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
