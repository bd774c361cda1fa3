"""The papers of issue 15 measured on accelsim's models, one section of docs/reproductions.md each:

* ``flexpoint`` (Koester et al., NeurIPS 2017): flex16+5 weights against fp32 and w8a8 on
  dcgan-digits (digit-FID, PSNR vs the float generator) and sr-x4 (PSNR vs the HR ground truth),
  weight memory, DRAM bytes and energy per image on edge-npu;
* ``tgan`` (Rakin et al., PIM-TGAN, ICCD 2018): ternary (w2a8) generator weights, post-training and
  quantization-aware (the shipped ``ternary-qat``), on edge-npu and isaac-like;
* ``slimming`` (Wang et al., GAN Slimming, ECCV 2020): channel pruning + 8-bit quantization +
  teacher distillation, each alone and combined (``chprune50+int8-qat`` trained here, ``--qat-steps``);
* ``mfagan`` (Cheng et al., MFAGAN, 2021): sr-x4 sub-generators chosen by the hardware-aware width
  search (``accelsim.search.search_widths``: every width priced on edge-npu, the ones nearest each
  energy budget distilled with ``distill.distill_sr`` on LR patches of the training images of
  ``models/train_sr.py``; needs scikit-image like that script), PSNR vs HR and energy; then the larger
  budget's width distilled again with the adversarial term of a student PatchGAN distilled from a
  teacher PatchGAN (G and D distilled);
* ``qmgan`` (QMGAN's bit-width curve against ground truth): sr-x4 at 1, 2 and 8 weight bits (8-bit
  activations), post-training and quantization-aware (``qat_train.qat`` on LR patches of the same
  training images, pixel L1 to the teacher, ``--sr-qat-steps``), PSNR vs HR against fp32 and bicubic;
* ``frontier`` (issue 15 item 5): every ``accelsim compare`` recipe plus the new combinations of
  ``NEW_COMBOS`` trained here, size ratio against digit-FID, the Pareto set and both targets.

Every row is measured in this run by the one evaluator of ``accelsim compare``
(``compare.evaluate`` / ``compare.evaluate_generator``: the runtime's kernels for quality, the
simulator for cost). Each section checks the conclusion docs/reproductions.md states from it and the
script exits 1 when one stops holding.

usage: python benchmarks/bench_reproductions.py [--papers flexpoint,tgan,slimming,mfagan,qmgan,frontier]
       [--fid-n 2000] [--qat-steps 1000] [--sr-steps 1000] [--sr-distil 3] [--mfagan-budgets 130,65]
       [--disc-steps 300] [--no-adv] [--sr-qat-steps 500] [--threads 1]
       [--out-dir benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

PAPERS = ("flexpoint", "tgan", "slimming", "mfagan", "qmgan", "frontier")
DIGITS, SR = "dcgan-digits", "sr-x4"


def _rows_json(rows) -> list[dict]:
    return [r.to_json() for r in rows]


def _by_name(rows: list[dict]) -> dict:
    return {r["name"]: r for r in rows}


def _print_rows(title: str, rows: list[dict], extra=()) -> None:
    print(f"\n== {title}")
    print(f"{'row':44s} {'format':16s} {'x smaller':>9s} {'weight KiB':>10s} {'DRAM B':>9s} {'uJ/img':>8s} "
          f"{'PSNR':>7s} {'FID':>8s} {'PSNR HR':>8s}" + "".join(f" {k:>12s}" for k in extra))
    for r in rows:
        def f(v, spec):
            return "-" if v is None else (f"{v:>{spec.split('.')[0]}}" if isinstance(v, str) else format(v, spec))
        print(f"{r['name']:44s} {r['fmt']:16s} {r['compression_ratio']:9.2f} {r['weight_bits'] / 8192:10.1f} "
              f"{r['dram_bytes']:9d} {r['energy_per_image_uj']:8.3f} {f(r['psnr_db'], '7.2f')} {f(r['fid'], '8.2f')} "
              f"{f(r['psnr_gt_db'], '8.2f')}" + "".join(f" {f(r.get(k), '12.3f')}" for k in extra), flush=True)


def _inputs(model: str, n_fid: int):
    from accelsim import compare
    from accelsim.compress import zoo
    ref_cg = zoo.build(model, "fp32")
    x = compare.model_inputs(model, max(256, n_fid), z_dim=ref_cg.layers[0].in_channels)
    return ref_cg, x, ref_cg.forward(x, np.float32).astype(np.float64)


def _energy_on(cg, arch: str) -> float | None:
    """Energy per image of ``cg`` on ``arch`` (None when the arch cannot hold its format)."""
    from accelsim.api import simulate
    from accelsim.compare import workload_of
    from accelsim.errors import InfeasibleError
    workload, formats, comps = workload_of(cg)
    try:
        return simulate(workload, arch, formats, compression=comps).energy_per_image_uj
    except InfeasibleError:
        return None


# ---- Flexpoint -------------------------------------------------------------------------------------
def flexpoint(args) -> tuple[dict, dict]:
    from accelsim import compare
    out, checks = {}, {}
    for model in (DIGITS, SR):
        rows = _rows_json(compare.evaluate(model, ["fp32", "flex16", "int8"], "edge-npu", n_fid=args.fid_n))
        _print_rows(f"Flexpoint: {model} on edge-npu", rows)
        out[model] = rows
    d, s = _by_name(out[DIGITS]), _by_name(out[SR])
    out["bicubic_psnr_gt_db"] = compare.sr_bicubic_psnr_gt_db()
    # the doc's conclusions: flex16+5 matches fp32 at inference (FID within 1 %, SR PSNR vs HR within
    # 0.05 dB, PSNR vs float > 60 dB), at half the weight memory; w8a8 is further from fp32 than flex16
    # but costs at most 0.7 x flex16's energy per image on edge-npu
    checks["digits flex16 FID within 1 % of fp32"] = abs(d["flex16"]["fid"] - d["fp32"]["fid"]) <= 0.01 * d["fp32"]["fid"]
    checks["digits flex16 PSNR vs float > 60 dB"] = d["flex16"]["psnr_db"] > 60
    checks["sr flex16 PSNR vs HR within 0.05 dB of fp32"] = abs(s["flex16"]["psnr_gt_db"] - s["fp32"]["psnr_gt_db"]) <= 0.05
    checks["flex16 stores about half of fp32's weight bits"] = all(
        0.49 < m["flex16"]["weight_bits"] / m["fp32"]["weight_bits"] < 0.51 for m in (d, s))
    checks["int8 further from fp32 than flex16 (PSNR vs float, both models)"] = all(
        m["int8"]["psnr_db"] < m["flex16"]["psnr_db"] for m in (d, s))
    checks["int8 energy < 0.7 x flex16 energy (both models)"] = all(
        m["int8"]["energy_per_image_uj"] < 0.7 * m["flex16"]["energy_per_image_uj"] for m in (d, s))
    return out, checks


# ---- TGAN ------------------------------------------------------------------------------------------
TGAN_RECIPES = ("fp32", "int8", "ternary", "ternary-qat", "ternary-qat+huffman", "distilled+ternary-qat")


def tgan(args) -> tuple[dict, dict]:
    from accelsim import compare
    from accelsim.compress import zoo
    rows = _rows_json(compare.evaluate(DIGITS, list(TGAN_RECIPES), "edge-npu", n_fid=args.fid_n))
    for r in rows:
        r["isaac_like_uj"] = _energy_on(zoo.build(DIGITS, r["name"]), "isaac-like")
    _print_rows("TGAN: dcgan-digits, ternary weights (edge-npu energy; isaac-like alongside)", rows, ("isaac_like_uj",))
    b = _by_name(rows)
    fp = b["fp32"]["fid"]
    checks = {
        "post-training ternary FID > 3 x fp32": b["ternary"]["fid"] > 3 * fp,
        "ternary-qat recovers: FID < 0.5 x post-training ternary": b["ternary-qat"]["fid"] < 0.5 * b["ternary"]["fid"],
        "ternary-qat not 'almost the same' as fp32: FID > 1.2 x fp32": b["ternary-qat"]["fid"] > 1.2 * fp,
        "isaac-like: ternary costs less energy than int8": b["ternary"]["isaac_like_uj"] < b["int8"]["isaac_like_uj"],
    }
    return {"rows": rows, "fp32_fid": fp}, checks


# ---- GAN Slimming ----------------------------------------------------------------------------------
SLIM_RECIPES = ("fp32", "distilled", "chprune50", "int8", "chprune50+int8", "distilled+int8")


def slimming(args) -> tuple[dict, dict]:
    from accelsim import compare
    from accelsim.compress import zoo
    from accelsim.compress.recipe import TrainingBudget, apply_step
    rows = _rows_json(compare.evaluate(DIGITS, list(SLIM_RECIPES), "edge-npu", n_fid=args.fid_n))
    ref_cg, x, ref = _inputs(DIGITS, args.fid_n)
    budget = TrainingBudget(qat_steps=args.qat_steps, threads=args.threads)
    trained = {}
    for base, q in (("chprune50", "int8-qat"), ("distilled", "int8-qat")):
        name = f"{base}+{q}"
        start = time.perf_counter()
        cg = apply_step(zoo.build(DIGITS, base), q, ref_cg, budget)
        trained[name] = round(time.perf_counter() - start, 1)
        row = compare.evaluate_generator(cg, f"{name} ({args.qat_steps} steps)", "edge-npu", x, ref,
                                         ref_cg.weight_bits(), n_fid=args.fid_n).to_json()
        row["train_seconds"] = trained[name]
        rows.append(row)
    _print_rows("GAN Slimming: dcgan-digits on edge-npu, parts alone and combined", rows)
    b = _by_name(rows)
    combo = b[f"chprune50+int8-qat ({args.qat_steps} steps)"]
    parts = [b[n] for n in ("chprune50", "int8", "distilled")]
    stacked = b["chprune50+int8"]
    checks = {
        "combination smaller than every part alone": all(combo["weight_bits"] < p["weight_bits"] for p in parts),
        "combination cheaper (energy) than every part alone": all(
            combo["energy_per_image_uj"] < p["energy_per_image_uj"] for p in parts),
        "stacking after the fact fails: chprune50+int8 (post-training) FID > 3 x fp32":
            stacked["fid"] > 3 * b["fp32"]["fid"],
        "training the combination works: chprune50+int8-qat FID < 0.5 x stacked and < 1.5 x fp32":
            combo["fid"] < 0.5 * stacked["fid"] and combo["fid"] < 1.5 * b["fp32"]["fid"],
        "and beats its channel-pruned part alone (FID)": combo["fid"] < b["chprune50"]["fid"],
    }
    return {"rows": rows, "qat_steps": args.qat_steps}, checks


# ---- MFAGAN ----------------------------------------------------------------------------------------
def sr_training_pairs():
    """(LR, HR) images of sr-x4's training set (``distill.sr_training_pairs``: models/train_sr.py's
    skimage.data images, PIL bicubic / 4), or the one-line exit when scikit-image is missing."""
    from accelsim.compress import distill
    from accelsim.errors import ConfigError
    try:
        return distill.sr_training_pairs()
    except ConfigError:
        sys.exit("bench_reproductions: error: --papers mfagan and qmgan train on skimage.data images and need "
                 "scikit-image (pip install scikit-image), as models/train_sr.py does")


MFAGAN_BUDGETS_UJ = (130.0, 65.0)   # about 1/2 and 1/4 of the fp32 teacher's 263 uJ per image on edge-npu
ADV_WEIGHTS = (0.01, 0.1)         # the adversarial term's weights tried at the larger budget's chosen width
MFAGAN_TEACHER = "teacher fp32 (width 48/24)"


def mfagan(args) -> tuple[dict, dict]:
    from accelsim import compare, search
    from accelsim.compress import distill, precision
    pairs = sr_training_pairs()
    ref_cg, x, ref = _inputs(SR, 0)
    fp32_bits = ref_cg.weight_bits()
    rows = [compare.evaluate_generator(ref_cg, MFAGAN_TEACHER, "edge-npu", x, ref, fp32_bits).to_json()]
    rows.append(compare.evaluate_generator(precision.quantize(ref_cg, "int8"), "teacher w8a8", "edge-npu", x, ref,
                                           fp32_bits).to_json())
    searches, agree = [], []
    budgets = sorted({float(b) for b in args.mfagan_budgets.split(",")}, reverse=True)   # [0]: the larger
    for budget in budgets:
        r = search.search_widths(SR, "edge-npu", budget, steps=args.sr_steps, distil=args.sr_distil, pairs=pairs,
                                 threads=args.threads)
        c = r.chosen
        print(f"width search, budget {budget:g} uJ: {len(r.priced)} widths priced, {len(r.within)} within, "
              f"distilled {', '.join(f'{e.label} ({e.energy_uj:.1f} uJ, {e.psnr_gt_db:.2f} dB)' for e in r.evaluated)}; "
              f"chosen {c.label} ({r.seconds:.0f} s)", flush=True)
        searches.append({"budget_uj": budget, "priced": len(r.priced), "within": len(r.within),
                         "evaluated": [e.to_json() for e in r.evaluated], "chosen": c.to_json(),
                         "pareto": [e.label for e in r.pareto()], "seconds": round(r.seconds, 1)})
        student = r.generators[c.widths]
        init = distill.distill_sr(ref_cg, c.widths[0], c.widths[1], 0, None)
        for name, cg, trained in ((f"budget {budget:g}: {c.label}, bilinear start", init, False),
                                  (f"budget {budget:g}: {c.label}, distilled {args.sr_steps} steps", student, True),
                                  (f"budget {budget:g}: {c.label}, distilled + w8a8", precision.quantize(student, "int8"),
                                   True)):
            row = compare.evaluate_generator(cg, name, "edge-npu", x, ref, fp32_bits).to_json()
            row.update(budget_uj=budget, widths=c.label, distilled=trained, fp32=cg.fmt == "fp32",
                       train_seconds=c.train_seconds if trained else 0.0)
            rows.append(row)
            if trained and cg.fmt == "fp32":
                # the row's JSON is rounded to 6 decimals
                agree.append(abs(row["energy_per_image_uj"] - c.energy_uj) <= 1e-5
                             and abs(row["psnr_gt_db"] - c.psnr_gt_db) <= 1e-5)
    # G and D distilled (MFAGAN): the larger budget's chosen width again, with a student PatchGAN's
    # adversarial term (the PatchGAN distilled from a teacher PatchGAN trained against the teacher G),
    # beside the same pixel-only distillation from another seed (the seed-to-seed spread)
    widths = searches[0]["chosen"]["label"]
    patchgan = {}
    if args.adv:
        from accelsim.compress.finetune import paired_patch_sampler
        s0 = time.perf_counter()
        sampler = paired_patch_sampler(*pairs)
        d_t, st = distill.train_patch_discriminator(ref_cg, sampler, args.disc_steps, threads=args.threads)
        d_s, sd = distill.distill_patch_discriminator(d_t, ref_cg, sampler, args.disc_steps, threads=args.threads)
        patchgan = {"teacher_width": d_t.width, "student_width": d_s.width, "steps": args.disc_steps,
                    "teacher_last_batch": st, "student_last_batch": sd,
                    "seconds": round(time.perf_counter() - s0, 1)}
        print(f"PatchGAN: teacher {d_t.width} (last batch mean logit real {st['real_logit']:.3f}, fake "
              f"{st['fake_logit']:.3f}), student {d_s.width} (logit L1 {sd['l1']:.4f}, verdict agreement "
              f"{sd['sign_agreement']:.3f}), {patchgan['seconds']:.0f} s", flush=True)
        runs = [(w, 0, f"distilled + adversarial {w:g}") for w in ADV_WEIGHTS] + [(0.0, 1, "distilled, seed 1")]
        for w, seed, label in runs:
            r = search.search_widths(SR, "edge-npu", budgets[0], widths=widths, distil=1, steps=args.sr_steps,
                                     pairs=pairs, adv_weight=w, discriminator=d_s if w > 0 else None, seed=seed,
                                     threads=args.threads)
            row = compare.evaluate_generator(r.generators[r.chosen.widths], f"budget {budgets[0]:g}: {widths}, {label}",
                                             "edge-npu", x, ref, fp32_bits).to_json()
            row.update(budget_uj=budgets[0], widths=widths, distilled=True, fp32=True, adv_weight=w, seed=seed,
                       train_seconds=r.chosen.train_seconds)
            print(f"{label}: PSNR vs HR {row['psnr_gt_db']:.3f} dB ({row['train_seconds']:.0f} s)", flush=True)
            rows.append(row)
    bicubic = compare.sr_bicubic_psnr_gt_db()
    _print_rows(f"MFAGAN-style: sr-x4 sub-generators chosen by the width search on edge-npu "
                f"(bicubic x4: {bicubic:.2f} dB vs HR)", rows)
    data = {"rows": rows, "searches": searches, "budgets_uj": budgets, "search_equals_compare": agree,
            "bicubic_psnr_gt_db": bicubic, "sr_steps": args.sr_steps, "disc_steps": args.disc_steps,
            "patchgan": patchgan, "train_images": "models/train_sr.TRAIN_IMAGES"}
    checks, data["pixel_seed_spread_db"], data["adversarial_gain_db"] = mfagan_checks(data)
    return data, checks


def mfagan_checks(data: dict) -> tuple[dict, float | None, float | None]:
    """The conclusions docs/reproductions.md states from a ``mfagan`` run (its JSON), each a check;
    and the pixel-only seed-to-seed spread and the best adversarial gain over the best pixel-only seed."""
    rows, searches, budgets, bicubic = data["rows"], data["searches"], data["budgets_uj"], data["bicubic_psnr_gt_db"]
    teacher = _by_name(rows)[MFAGAN_TEACHER]
    chosen = [r for r in rows if r.get("distilled") and r.get("fp32") and "adv_weight" not in r]
    starts = {r["budget_uj"]: r for r in rows if r.get("distilled") is False}
    students = [r for r in rows if r.get("distilled")]
    adversarial = [r for r in rows if r.get("adv_weight", 0) > 0]
    pixel_only = [r for r in students if r.get("fp32") and not r.get("adv_weight") and r["budget_uj"] == budgets[0]]
    checks = {
        "every chosen width is within its energy budget (simulator, and compare's row)":
            all(s["chosen"]["energy_uj"] <= s["budget_uj"] for s in searches)
            and all(r["energy_per_image_uj"] <= r["budget_uj"] for r in chosen),
        "no candidate over the budget was distilled": all(e["energy_uj"] <= s["budget_uj"]
                                                          for s in searches for e in s["evaluated"]),
        "the search's price and PSNR vs HR are compare's for the chosen students":
            len(data["search_equals_compare"]) == len(budgets) and all(data["search_equals_compare"]),
        "distillation improves every chosen student over its bilinear start (PSNR vs HR)":
            all(r["psnr_gt_db"] > starts[r["budget_uj"]]["psnr_gt_db"] for r in chosen),
        "the larger budget buys the better student (PSNR vs HR)": len(budgets) < 2 or
            next(r for r in chosen if r["budget_uj"] == max(budgets))["psnr_gt_db"]
            > next(r for r in chosen if r["budget_uj"] == min(budgets))["psnr_gt_db"],
        "students cost less energy per image than the teacher":
            all(r["energy_per_image_uj"] < teacher["energy_per_image_uj"] for r in students),
        "no student reaches the teacher against HR": all(r["psnr_gt_db"] < teacher["psnr_gt_db"] for r in students),
        "no pixel-only student beats bicubic x4 against HR":
            all(r["psnr_gt_db"] < bicubic for r in students if not r.get("adv_weight")),
    }
    spread = gain = None
    if adversarial:
        spread = max(r["psnr_gt_db"] for r in pixel_only) - min(r["psnr_gt_db"] for r in pixel_only)
        gain = max(r["psnr_gt_db"] for r in adversarial) - max(r["psnr_gt_db"] for r in pixel_only)
        checks["the best adversarial weight's gain over the best pixel-only seed (PSNR vs HR) is smaller than the "
               "pixel-only seed-to-seed spread: no measured effect"] = len(pixel_only) >= 2 and gain < spread
    return checks, spread, gain


# ---- QMGAN ----------------------------------------------------------------------------------------
QMGAN_KINDS = ("binary", "ternary", "int8")


def qmgan(args) -> tuple[dict, dict]:
    from accelsim import compare
    from accelsim.compress import precision, qat_train
    from accelsim.compress.finetune import lr_patch_sampler
    ref_cg, x, ref = _inputs(SR, 0)
    fp32_bits = ref_cg.weight_bits()
    sampler = lr_patch_sampler(sr_training_pairs()[0])
    rows = [compare.evaluate_generator(ref_cg, "fp32", "edge-npu", x, ref, fp32_bits).to_json()]
    for kind in QMGAN_KINDS:
        row = compare.evaluate_generator(precision.quantize(ref_cg, kind), f"{kind} post-training", "edge-npu", x, ref,
                                         fp32_bits).to_json()
        row["kind"], row["qat"] = kind, False
        rows.append(row)
        start = time.perf_counter()
        q = qat_train.qat(ref_cg, kind, ref_cg, args.sr_qat_steps, act_bits=8, input_sampler=sampler,
                          discriminator=None, threads=args.threads)
        secs = round(time.perf_counter() - start, 1)
        row = compare.evaluate_generator(q, f"{kind} QAT {args.sr_qat_steps} steps", "edge-npu", x, ref,
                                         fp32_bits).to_json()
        row["kind"], row["qat"], row["train_seconds"] = kind, True, secs
        rows.append(row)
    bicubic = compare.sr_bicubic_psnr_gt_db()
    _print_rows(f"QMGAN: sr-x4 bit widths against HR (bicubic x4: {bicubic:.2f} dB)", rows)
    by = {(r.get("kind"), r.get("qat")): r for r in rows}
    fp32 = _by_name(rows)["fp32"]
    checks = {
        "QAT raises PSNR vs HR over post-training at 1 and 2 weight bits":
            all(by[(k, True)]["psnr_gt_db"] > by[(k, False)]["psnr_gt_db"] for k in ("binary", "ternary")),
        "no quantized row reaches fp32 against HR": all(r["psnr_gt_db"] < fp32["psnr_gt_db"] for r in rows[1:]),
    }
    return {"rows": rows, "bicubic_psnr_gt_db": bicubic, "sr_qat_steps": args.sr_qat_steps}, checks


# ---- item 5: the frontier ------------------------------------------------------------------------
# new combinations aimed at the two targets, trained in this run: ``<kind>-qat[opt,...][+huffman]``
# with options ``fm=F`` / ``adv=A`` (discriminator feature-matching / non-saturating weights; QAT's
# defaults are fm 3.0, adv 0.05), ``lr=L`` (Adam, default 2e-4), ``dlr=L`` (train the discriminator with the generator at
# that Adam rate, QGAN's joint training; default 0: frozen), ``steps=N`` (default --qat-steps) and ``last=int8`` (the image layer,
# 512 weights, kept at 8 bits: a mixed assignment, not an all-binary generator), ``sched=cosine`` (the generator's
# learning rate decays to 0 over the steps; default constant)
NEW_COMBOS = ("ternary-qat[steps=2000]+huffman", "binary-qat[lr=0.001]",
              "binary-qat[lr=0.002,sched=cosine,adv=0,steps=1500]")
COMBO = re.compile(r"(ternary|binary|int\d+)-qat(?:\[([^\]]*)\])?(\+huffman)?")


def split_combos(text: str) -> list[str]:
    """The names of a comma-separated ``--new-combos`` list; commas inside ``[...]`` separate options."""
    return [n.strip() for n in re.split(r",(?![^\[\]]*\])", text or "") if n.strip()]


def parse_combo(name: str, steps: int) -> tuple[str, dict, bool]:
    """``(kind, options, huffman)`` of a ``NEW_COMBOS`` name (``steps``: the default QAT steps);
    ValueError naming the name and the option if malformed (checked for every name before any work)."""
    from accelsim.compress.finetune import FM_WEIGHT, LR_SCHEDULES
    m = COMBO.fullmatch(name)
    if not m:
        raise ValueError(f"--new-combos: {name!r} is not <kind>-qat[opt,...][+huffman]")
    opts = {"fm": FM_WEIGHT, "adv": 0.05, "steps": steps, "last": None, "lr": 2e-4, "dlr": 0.0, "sched": "constant"}
    for kv in filter(None, (m[2] or "").split(",")):
        k, _, v = kv.partition("=")
        if k not in opts or not v:
            raise ValueError(f"--new-combos: {name!r}: unknown option {kv!r} "
                             f"(fm=, adv=, lr=, dlr=, steps=, last=int8, sched=cosine)")
        try:
            opts[k] = v if k in ("last", "sched") else (int(v) if k == "steps" else float(v))
        except ValueError:
            raise ValueError(f"--new-combos: {name!r}: {k}= must be a number, got {v!r}") from None
    if opts["sched"] not in LR_SCHEDULES:
        raise ValueError(f"--new-combos: {name!r}: sched= must be one of {', '.join(LR_SCHEDULES)}, got {opts['sched']!r}")
    if opts["last"] not in (None, "int8"):
        raise ValueError(f"--new-combos: {name!r}: last= must be int8, got {opts['last']!r}")
    return m[1], opts, bool(m[3])


def _build_new(name: str, teacher, steps: int, threads: int):
    """The compressed generator of a ``NEW_COMBOS`` name and the QAT steps it was trained for (the
    name's ``steps=``, else ``steps``); ValueError naming it if malformed."""
    from accelsim.compress import encoding, precision, qat_train
    from accelsim.compress.finetune import finetune
    kind, opts, huffman = parse_combo(name, steps)
    start = precision.quantize(teacher, kind)
    if opts["last"]:
        last, hi = teacher.layer_names()[-1], precision.quantize(teacher, opts["last"])
        layers = [(hi if l.name == last else start).layer(l.name) for l in teacher.layers]
        encs = {n: (hi if n == last else start).encodings[n] for n in teacher.layer_names()}
        fmt = f"{precision.kernel_format(kind)},{last}={precision.kernel_format(opts['last'])}"
        start = teacher.with_layers(layers, encs, fmt=fmt)
    if opts["last"]:   # QAT with each layer fake-quantized in its own format, activations at 8 bits
        cg = finetune(start, teacher, int(opts["steps"]), fm_weight=opts["fm"], adv_weight=opts["adv"], act_bits=8,
                      lr=opts["lr"], disc_lr=opts["dlr"], threads=threads, step_name=None, lr_schedule=opts["sched"])
    else:
        cg = qat_train.qat(teacher, kind, teacher, int(opts["steps"]), fm_weight=opts["fm"], adv_weight=opts["adv"],
                           lr=opts["lr"], disc_lr=opts["dlr"], threads=threads, lr_schedule=opts["sched"])
    return (encoding.huffman_code(cg) if huffman else cg), int(opts["steps"])


def pareto_size_fid(rows: list[dict]) -> list[str]:
    """Rows no other row beats on both compression ratio (higher) and digit-FID (lower)."""
    return [r["name"] for r in rows if not any(
        o["compression_ratio"] >= r["compression_ratio"] and o["fid"] <= r["fid"]
        and (o["compression_ratio"] > r["compression_ratio"] or o["fid"] < r["fid"]) for o in rows)]


def frontier(args) -> tuple[dict, dict]:
    from accelsim import compare
    from accelsim.compress.zoo import RECIPES
    names = split_combos(args.new_combos)
    for name in names:                 # every name and option checked before any work
        parse_combo(name, args.qat_steps)
    rows = _rows_json(compare.evaluate(DIGITS, list(RECIPES), "edge-npu", n_fid=args.fid_n))
    ref_cg, x, ref = _inputs(DIGITS, args.fid_n)
    for name in names:
        start = time.perf_counter()
        cg, steps_run = _build_new(name, ref_cg, args.qat_steps, args.threads)
        secs = round(time.perf_counter() - start, 1)
        row = compare.evaluate_generator(cg, name, "edge-npu", x, ref, ref_cg.weight_bits(), n_fid=args.fid_n).to_json()
        row["train_seconds"], row["new"] = secs, True
        # stored with what produced it: the combination, its budget, the code digest and their hash
        from accelsim.compress import serialize, zoo
        from accelsim.compress.recipe import TrainingBudget
        prov = zoo.provenance_of(DIGITS, name, TrainingBudget(qat_steps=steps_run, threads=args.threads))
        path = os.path.join(args.out_dir, "repro-frontier-" + re.sub(r"[^A-Za-z0-9.=-]+", "_", name) + ".npz")
        serialize.save(cg, path, prov)
        row["stored"], row["provenance_hash"] = os.path.relpath(path, ROOT), prov["hash"]
        rows.append(row)
        print(f"{row['name']}: {row['compression_ratio']:.2f}x, FID {row['fid']:.2f} ({secs:.0f} s)", flush=True)
    fp = _by_name(rows)["fp32"]["fid"]
    for r in rows:
        r["fid_over_fp32"] = r["fid"] / fp
        r["target1"] = r["compression_ratio"] >= 20 and r["fid"] <= 1.5 * fp
        # a binary-weight generator: every conv weight binary (w1a8 or XNOR w1a1)
        r["all_binary"] = r["fmt"].split(",")[0] in ("w1a8", "w1a1") and "=" not in r["fmt"].replace("first=w1a8", "")
        r["target2"] = r["all_binary"] and r["fid"] <= 2 * fp
    front = pareto_size_fid(rows)
    _print_rows("item 5: every combination, size ratio vs digit-FID (fp32 FID %.2f)" % fp, rows, ("fid_over_fp32",))
    print("Pareto (ratio up, FID down):", ", ".join(front))
    met1 = [r["name"] for r in rows if r["target1"]]
    met2 = [r["name"] for r in rows if r["target2"]]
    print("target 1 (>= 20x, FID <= 1.5x fp32):", ", ".join(met1) or "not met")
    print("target 2 (binary weights, FID <= 2x fp32):", ", ".join(met2) or "not met")
    # the doc's conclusions (updated with the measurement): which targets are met
    checks = {f"target 1 met by {', '.join(EXPECT_TARGET1) or 'none'}": sorted(met1) == sorted(EXPECT_TARGET1),
              f"target 2 met by {', '.join(EXPECT_TARGET2) or 'none'}": sorted(met2) == sorted(EXPECT_TARGET2)}
    return {"rows": rows, "fp32_fid": fp, "pareto": front, "target1": met1, "target2": met2,
            "qat_steps": args.qat_steps}, checks


# what docs/reproductions.md states (names as printed, with --qat-steps 1000)
EXPECT_TARGET1: tuple[str, ...] = ("ternary-qat[steps=2000]+huffman",)
EXPECT_TARGET2: tuple[str, ...] = ("binary-qat[lr=0.002,sched=cosine,adv=0,steps=1500]",)

SECTIONS = {"flexpoint": flexpoint, "tgan": tgan, "slimming": slimming, "mfagan": mfagan, "qmgan": qmgan,
            "frontier": frontier}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--papers", default=",".join(PAPERS))
    p.add_argument("--fid-n", type=int, default=2000, help="images for digit-FID (as accelsim compare)")
    p.add_argument("--qat-steps", type=int, default=1000, help="QAT steps of the rows trained here (batch 64)")
    p.add_argument("--sr-steps", type=int, default=1000, help="distillation steps of the sr-x4 students (batch 64)")
    p.add_argument("--sr-distil", type=int, default=3,
                   help="mfagan: width candidates distilled per budget, the nearest the budget first (default 3)")
    p.add_argument("--mfagan-budgets", default=",".join(f"{b:g}" for b in MFAGAN_BUDGETS_UJ),
                   help="mfagan: edge-npu energy budgets, uJ per image (default 130,65)")
    p.add_argument("--disc-steps", type=int, default=300,
                   help="mfagan: steps of the teacher PatchGAN and of the student PatchGAN's distillation")
    p.add_argument("--adv", action=argparse.BooleanOptionalAction, default=True,
                   help="mfagan: also distil with the adversarial term (ADV_WEIGHTS; default on)")
    p.add_argument("--sr-qat-steps", type=int, default=500, help="QAT steps of the sr-x4 rows of qmgan (batch 64)")
    p.add_argument("--new-combos", default=",".join(NEW_COMBOS),
                   help="frontier: comma-separated combinations to train (see NEW_COMBOS; empty = none)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out-dir", default=os.path.join(ROOT, "benchmarks", "results"))
    args = p.parse_args(argv)
    papers = [s.strip() for s in args.papers.split(",")]
    for s in papers:
        if s not in SECTIONS:
            p.error(f"--papers: {s!r} is not one of {', '.join(PAPERS)}")
    if "frontier" in papers:
        for name in split_combos(args.new_combos):
            try:
                parse_combo(name, args.qat_steps)
            except ValueError as e:
                p.error(str(e))
    failed = []
    for s in papers:
        t0 = time.perf_counter()
        data, checks = SECTIONS[s](args)
        secs = time.perf_counter() - t0
        load = os.getloadavg()
        for k, ok in checks.items():
            print(f"check {s}: {k}: {'yes' if ok else 'NO'}")
            if not ok:
                failed.append(f"{s}: {k}")
        print(f"{s}: {secs:.0f} s; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
        os.makedirs(args.out_dir, exist_ok=True)
        path = os.path.join(args.out_dir, f"repro-{s}.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"benchmark": "bench_reproductions", "paper": s, "argv": sys.argv[1:] if argv is None else argv,
                       "seconds": round(secs, 1), "load_average": [round(v, 2) for v in load],
                       "platform": platform.platform(), "fid_n": args.fid_n, "checks": checks, **data}, f, indent=1)
        os.replace(path + ".tmp", path)
    for msg in failed:
        print("CHECK FAILED:", msg)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
