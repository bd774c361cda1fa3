"""Pruning granularity x sparsity x supervision on dcgan-digits: digit-FID and energy per image.

Reproduces the comparison of Yu & Pool 2020 ("Self-Supervised GAN Compression"): the generator
pruned at 50 / 75 / 90 % sparsity at four granularities (``accelsim.compress.pruning.GRANULARITIES``:
single weights, vectors of 4 input channels, whole k x k kernels, whole output channels), each

* ``none``:    pruned, not fine-tuned;
* ``teacher``: fine-tuned against the unpruned generator's images only (recipe ``prune<P>-<G>``);
* ``dsup``:    fine-tuned with the frozen trained discriminator's supervision as well (recipe
  ``dprune<P>-<G>``, ``finetune.DSUP_WEIGHTS``; ``--dsup-weights adv=A,fm=F,logit=L`` overrides them
  for an ablation: non-saturating loss, feature matching, logit matching),

all in this run, same seed, same steps. Quality: ``accelsim.compare.quality`` (the evaluator of
``accelsim compare``: digit-FID of ``--fid-n`` images of latents seed 0 against the real digits,
PSNR / SSIM against the fp32 generator's images). Energy: ``accelsim.compare.workload_of`` (the
exact stored bits of every weight tensor in the sparse format ``best`` chose: bitmap / CSR for
single weights, ``blockmap`` for the coarse groups) priced by ``accelsim.simulate`` per image.

Checks (exit 1 if one fails): every pruned model has the asked fraction of whole groups zero in
each pruned layer; every pruned model stores fewer weight bits than fp32.

usage: python benchmarks/bench_pruning.py [--steps 400] [--sparsities 50,75,90]
       [--granularities fine,vector,kernel,channel] [--variants none,teacher,dsup] [--fid-n 2000]
       [--archs edge-npu] [--threads 1] [--json PATH]
       python benchmarks/bench_pruning.py --steps-sweep 0,100,200,400 --sparsities 75 --granularities fine
       python benchmarks/bench_pruning.py --table-from benchmarks/results/bench_pruning.json   # the doc's table
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

MODEL = "dcgan-digits"


def recipe_of(sparsity: int, granularity: str, variant: str) -> str:
    return f"{'d' if variant == 'dsup' else ''}prune{sparsity}-{granularity}"


def group_fraction_ok(cg, teacher, sparsity: int, granularity: str) -> bool:
    """Every pruned layer has exactly round(s * n) of its n groups all zero (and no other zero groups
    forced by the mask)."""
    from accelsim.compress import pruning
    from accelsim.compress.storage import block_any
    names = teacher.layer_names()[:-1] if granularity == "channel" else teacher.layer_names()
    for n in names:
        enc = cg.encodings[n]
        block = pruning.group_block(teacher.layer(n), granularity)
        kept = block_any(enc.mask, block)
        if kept.size - int(kept.sum()) != int(round(sparsity / 100 * kept.size)):
            return False
        if not np.array_equal(enc.mask, np.repeat(np.repeat(np.repeat(np.repeat(
                kept, block[0], 0), block[1], 1), block[2], 2), block[3], 3)):
            return False
    return True


def evaluate(cg, x, ref, n_fid: int, archs) -> dict:
    from accelsim.api import simulate
    from accelsim.compare import quality, workload_of
    m = quality(cg, x, ref, min(256, n_fid), n_fid)
    workload, formats, comps = workload_of(cg)
    energy = {a: simulate(workload, a, formats, compression=comps).energy_per_image_uj for a in archs}
    return {"fid": m["fid"], "psnr_db": m["psnr_db"], "ssim": m["ssim"], "weight_bits": cg.weight_bits(),
            "density": cg.density(), "energy_uj": energy,
            "formats": sorted({cg.encodings[n].sparse_format for n in cg.layer_names()})}


def write_json(args, argv, base, rows, failures, t0, complete: bool) -> None:
    """The results so far (``complete`` false while rows are still to come), written atomically."""
    if not args.json:
        return
    import torch
    out = {"benchmark": "bench_pruning", "model": MODEL, "argv": sys.argv[1:] if argv is None else list(argv),
           "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
           "fid_n": args.fid_n, "finetune_batch": 64, "seconds": round(time.perf_counter() - t0, 1),
           "complete": complete, "fp32": base, "rows": rows, "failures": failures}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, args.json)


def markdown(data: dict) -> str:
    """The docs/reproductions.md table of a results JSON: per (sparsity, granularity) the digit-FID
    not fine-tuned / teacher only / discriminator-supervised, size and energy per image."""
    by = {}
    for r in data["rows"]:
        by.setdefault((r["sparsity_pct"], r["granularity"]), {})[r["variant"]] = r
    archs = list(data["fp32"]["energy_uj"])
    fp = data["fp32"]
    lines = ["| sparsity | granularity | storage | x smaller | "
             + " | ".join(f"{a} uJ/image" for a in archs) + " | FID not tuned | FID teacher | FID teacher + D |",
             "|---|---|---|---|" + "---|" * len(archs) + "---|---|---|",
             "| 0 | fp32 | dense | 1.00 | " + " | ".join(f"{fp['energy_uj'][a]:.1f}" for a in archs)
             + f" | {fp['fid']:.1f} | | |"]
    for (s, g), v in by.items():
        any_row = next(iter(v.values()))
        fids = [f"{v[k]['fid']:.1f}" if k in v else "" for k in ("none", "teacher", "dsup")]
        if "teacher" in v and "dsup" in v:
            best = min(("teacher", "dsup"), key=lambda k: v[k]["fid"])
            i = ("none", "teacher", "dsup").index(best)
            fids[i] = f"**{fids[i]}**"
        lines.append(f"| {s} % | {g} | {'/'.join(any_row['formats'])} | {any_row['compression_ratio']:.2f} | "
                     + " | ".join(f"{any_row['energy_uj'][a]:.1f}" for a in archs) + " | " + " | ".join(fids) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=400, help="fine-tuning steps (batch 64)")
    p.add_argument("--dsup-weights", default=None, help="adv=A,fm=F,logit=L for the dsup rows (default DSUP_WEIGHTS)")
    p.add_argument("--steps-sweep", default=None, help="comma-separated step counts (quality vs steps)")
    p.add_argument("--sparsities", default="50,75,90")
    p.add_argument("--granularities", default="fine,vector,kernel,channel")
    p.add_argument("--variants", default="none,teacher,dsup")
    p.add_argument("--fid-n", type=int, default=2000)
    p.add_argument("--archs", default="edge-npu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    p.add_argument("--table-from", default=None, help="print the markdown table of a results JSON and exit")
    args = p.parse_args(argv)
    if args.table_from:
        with open(args.table_from) as f:
            print(markdown(json.load(f)))
        return 0

    from accelsim.compress import chain, pruning
    from accelsim.compress.recipe import TrainingBudget, compose
    from accelsim.models.registry import latents

    archs = args.archs.split(",")
    sparsities = [int(s) for s in args.sparsities.split(",")]
    grans = args.granularities.split(",")
    for g in grans:
        if g not in pruning.GRANULARITIES:
            p.error(f"--granularities: {g!r} is not one of {pruning.GRANULARITIES}")
    variants = args.variants.split(",")
    steps_list = [int(s) for s in args.steps_sweep.split(",")] if args.steps_sweep else [args.steps]

    dsup = None
    if args.dsup_weights:
        keys = {"adv": "adv_weight", "fm": "fm_weight", "logit": "logit_weight"}
        try:
            dsup = {keys[k]: float(v) for k, v in (kv.split("=") for kv in args.dsup_weights.split(","))}
        except (KeyError, ValueError):
            p.error(f"--dsup-weights: expected adv=A,fm=F,logit=L, got {args.dsup_weights!r}")
        dsup = {"adv_weight": 0.0, "fm_weight": 0.0, "logit_weight": 0.0, **dsup}
    teacher = chain.from_model(MODEL)
    x = latents(args.fid_n, 0).astype(np.float64)
    ref = teacher.forward(x, np.float32).astype(np.float64)
    t0 = time.perf_counter()
    base = {"name": "fp32", **evaluate(teacher, x, ref, args.fid_n, archs)}
    print(f"fp32: FID {base['fid']:.2f}, {base['weight_bits']} weight bits, "
          + ", ".join(f"{a} {e:.3f} uJ" for a, e in base["energy_uj"].items()), flush=True)
    rows, failures = [], []
    for s in sparsities:
        for g in grans:
            for v in variants:
                for steps in ([0] if v == "none" else steps_list):
                    start = time.perf_counter()
                    if v == "none":
                        cg = pruning.prune(teacher, s / 100, granularity=g)
                        recipe = f"prune{s}-{g} (not fine-tuned)"
                    elif v == "dsup" and dsup is not None:
                        recipe = recipe_of(s, g, v) + " (" + args.dsup_weights + ")"
                        cg = pruning.prune(teacher, s / 100, granularity=g, finetune_steps=steps, threads=args.threads,
                                           **dsup)
                    else:
                        recipe = recipe_of(s, g, v)
                        cg = compose(teacher, recipe, TrainingBudget(finetune_steps=steps, threads=args.threads))
                    train_s = time.perf_counter() - start
                    row = {"sparsity_pct": s, "granularity": g, "variant": v, "recipe": recipe, "steps": steps,
                           "train_seconds": round(train_s, 1), **evaluate(cg, x, ref, args.fid_n, archs)}
                    row["compression_ratio"] = base["weight_bits"] / row["weight_bits"]
                    rows.append(row)
                    if not group_fraction_ok(cg, teacher, s, g):
                        failures.append(f"{recipe} steps {steps}: pruned groups are not round(s * n) whole groups")
                    if row["weight_bits"] >= base["weight_bits"]:
                        failures.append(f"{recipe}: {row['weight_bits']} weight bits >= fp32's")
                    print(f"{s:3d}% {g:8s} {v:8s} steps {steps:4d}: FID {row['fid']:8.2f}  PSNR {row['psnr_db']:6.2f}"
                          f"  {row['compression_ratio']:5.2f}x  {'/'.join(row['formats']):15s} "
                          + " ".join(f"{a} {e:.3f} uJ" for a, e in row["energy_uj"].items())
                          + f"  ({train_s:.0f} s)", flush=True)
                    write_json(args, argv, base, rows, failures, t0, complete=False)
    write_json(args, argv, base, rows, failures, t0, complete=True)
    print(markdown({"fp32": base, "rows": rows}))
    for msg in failures:
        print("CHECK FAILED:", msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
