"""QGAN's multi-precision setting (issue 15 item 2): the generator quantization-aware trained at 1-4
weight bits against a discriminator that is frozen (float, today's ``*-qat`` recipes) or trained
with it at float or 1-8 bits (``finetune(disc_lr=..., disc_kind=...)``), then QGAN's
multi-precision choice: the fewest generator bits, then discriminator bits, whose digit-FID meets a
limit (default 1.5x the float generator's on the same images).

Same QAT as the recipes (``qat_train.qat``: teacher distillation, pixel L1 + feature matching on
the discriminator + the non-saturating term, activations fake-quantized to 8 bits), same steps and
seed for every cell; only the discriminator differs. The discriminator's "real" images are the
float teacher's (no real data). Quality through the one runtime (C++ kernels): digit-FID on
``--fid`` images and PSNR against the float generator on ``--n`` latents (``compare.quality``).

usage: python benchmarks/bench_qgan.py [--g-kinds binary,ternary,int3,int4]
           [--d-kinds frozen,fp32,int4,int2] [--steps 400] [--fid 1000] [--json PATH]
           [--seed 0] [--table-from PATH[,PATH...]]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from accelsim import compare  # noqa: E402
from accelsim.compress import zoo  # noqa: E402
from accelsim.formats.registry import canonical  # noqa: E402

MODEL = "dcgan-digits"
D_LR = 2e-4
G_BITS = {"binary": 1, "ternary": 2}
D_BITS = {"frozen": 32, "fp32": 32, "binary": 1, "ternary": 2}


def bits(kind: str, table: dict) -> int:
    return table.get(kind) or int(kind[3:])


def cell(cg, kind: str, d_kind: str, steps: int, seed: int, threads: int):
    from accelsim.compress import qat_train
    disc = {} if d_kind == "frozen" else {"disc_lr": D_LR, "disc_kind": None if d_kind == "fp32" else d_kind}
    return qat_train.qat(cg, kind, steps=steps, seed=seed, threads=threads, **disc)


def cells(rows: list[dict]) -> list[dict]:
    """One entry per (generator, discriminator) cell over the seeds run: mean, min and max FID,
    mean PSNR, the seeds."""
    by: dict = {}
    for r in rows:
        by.setdefault((r["g_kind"], r["d_kind"]), []).append(r)
    out = []
    for (g, d), rs in by.items():
        fids = [r["fid"] for r in rs]
        out.append({"g_kind": g, "d_kind": d, "g_bits": rs[0]["g_bits"], "d_bits": rs[0]["d_bits"], "fmt": rs[0]["fmt"],
                    "fid": sum(fids) / len(fids), "fid_min": min(fids), "fid_max": max(fids),
                    "psnr_db": sum(r["psnr_db"] for r in rs) / len(rs), "seeds": [r.get("seed", 0) for r in rs]})
    return out


def choose(rows: list[dict], fid_limit: float) -> dict | None:
    """QGAN's multi-precision choice: among the cells whose mean FID over the seeds meets the limit,
    the fewest generator bits, then the fewest discriminator bits (a trained one before the frozen
    float one at equal bits), then the lower FID."""
    ok = [c for c in cells(rows) if c["fid"] <= fid_limit]
    return min(ok, key=lambda c: (c["g_bits"], c["d_bits"], c["d_kind"] == "frozen", c["fid"]), default=None)


def trained_beats_frozen(rows: list[dict]) -> dict | None:
    """Per generator precision: does training the float discriminator with the generator give a
    lower FID than keeping it frozen, on every seed run? (Same discriminator precision, only the
    training differs.) None when the grid lacks the frozen or the fp32 column."""
    out = {}
    for g in dict.fromkeys(r["g_kind"] for r in rows):
        pairs = []
        for seed in sorted({r.get("seed", 0) for r in rows}):
            fid = {r["d_kind"]: r["fid"] for r in rows if r["g_kind"] == g and r.get("seed", 0) == seed}
            if "frozen" in fid and "fp32" in fid:
                pairs.append(fid["fp32"] < fid["frozen"])
        if pairs:
            out[g] = all(pairs)
    return out or None


def table(doc: dict) -> str:
    """The doc's table: mean digit-FID per cell over the seeds (range in brackets when more than one),
    then mean PSNR; the float generator, the limit and the multi-precision choice."""
    cs = cells(doc["rows"])
    g_kinds = list(dict.fromkeys(c["g_kind"] for c in cs))
    d_kinds = list(dict.fromkeys(c["d_kind"] for c in cs))
    by = {(c["g_kind"], c["d_kind"]): c for c in cs}
    head = "| generator (format) | " + " | ".join(f"D {d}" for d in d_kinds) + " |"
    lines = [head, "|---|" + "---:|" * len(d_kinds)]
    for g in g_kinds:
        row = []
        for d in d_kinds:
            c = by.get((g, d))
            if c is None:
                row.append("-")
            elif len(c["seeds"]) > 1:
                row.append(f"{c['fid']:.1f} ({c['fid_min']:.1f}-{c['fid_max']:.1f}), {c['psnr_db']:.1f} dB")
            else:
                row.append(f"{c['fid']:.1f}, {c['psnr_db']:.1f} dB")
        fmt = canonical(next(c["fmt"] for c in cs if c["g_kind"] == g))
        lines.append(f"| {g} ({fmt}) | " + " | ".join(row) + " |")
    c = choose(doc["rows"], doc["fid_limit"])
    seeds = sorted({s for c_ in cs for s in c_["seeds"]})
    lines.append("")
    lines.append(f"digit-FID ({doc['n_fid']} images; mean over seeds {', '.join(map(str, seeds))}, range in brackets; "
                 f"then PSNR vs the float generator); float generator {doc['fp32_fid']:.1f}; limit "
                 f"{doc['fid_limit']:.1f}; multi-precision choice: "
                 + (f"G {c['g_kind']} + D {c['d_kind']} (mean FID {c['fid']:.1f})" if c else "none meets the limit"))
    return "\n".join(lines)


def load_runs(paths: str) -> dict:
    """Result JSONs of runs of the same grid settings with different seeds, as one document (rows of
    all; a row without a seed field is seed 0)."""
    docs = []
    for path in paths.split(","):
        with open(path) as f:
            docs.append(json.load(f))
    doc = dict(docs[0])
    doc["rows"] = [dict(r, seed=r.get("seed", d.get("seed", 0))) for d in docs for r in d["rows"]]
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--g-kinds", default="binary,ternary,int3,int4")
    ap.add_argument("--d-kinds", default="frozen,fp32,int4,int2")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fid", type=int, default=1000, help="images for digit-FID")
    ap.add_argument("--n", type=int, default=64, help="latents for PSNR against the float generator")
    ap.add_argument("--fid-limit-ratio", type=float, default=1.5)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--table-from", metavar="PATHS",
                    help="print the doc's table from result JSONs (comma-separated, one per seed); run nothing")
    args = ap.parse_args()
    if args.table_from:
        print(table(load_runs(args.table_from)))
        return 0
    from accelsim.compress.qat import parse_kind
    for k in args.g_kinds.split(","):
        parse_kind(k)
    for k in args.d_kinds.split(","):
        if k not in ("frozen", "fp32"):
            parse_kind(k)
    load0, t0 = os.getloadavg(), time.perf_counter()
    cg = zoo.build(MODEL, "fp32")
    x = compare.model_inputs(MODEL, max(args.n, args.fid), z_dim=cg.layers[0].in_channels)
    ref = cg.forward(x, "float32").astype("float64")
    fp32 = compare.quality(cg, x, ref, args.n, args.fid)
    limit = args.fid_limit_ratio * fp32["fid"]
    print(f"{MODEL}: float generator digit-FID {fp32['fid']:.2f} on {args.fid} images; limit {limit:.2f}; "
          f"{args.steps} QAT steps per cell, seed {args.seed}, {args.threads} thread(s); load {load0[0]:.2f}", flush=True)
    rows = []
    for g in args.g_kinds.split(","):
        for d in args.d_kinds.split(","):
            t = time.perf_counter()
            q = cell(cg, g, d, args.steps, args.seed, args.threads)
            m = compare.quality(q, x, ref, args.n, args.fid)
            rows.append({"g_kind": g, "g_bits": bits(g, G_BITS), "d_kind": d, "d_bits": bits(d, D_BITS), "seed": args.seed,
                         "fid": m["fid"], "psnr_db": m["psnr_db"], "ssim": m["ssim"], "fmt": q.fmt,
                         "weight_bits": q.weight_bits(), "wall_s": time.perf_counter() - t})
            print(f"  G {g:<8} D {d:<7} FID {m['fid']:8.2f}  PSNR {m['psnr_db']:6.2f} dB  "
                  f"({rows[-1]['wall_s']:.0f} s, load {os.getloadavg()[0]:.2f})", flush=True)
    doc = {"model": MODEL, "steps": args.steps, "seed": args.seed, "threads": args.threads, "n_fid": args.fid,
           "n_psnr": args.n, "fp32_fid": fp32["fid"], "fid_limit": limit, "d_lr": D_LR, "rows": rows,
           "choice": choose(rows, limit), "load_average_start": load0, "load_average_end": os.getloadavg(),
           "wall_s": time.perf_counter() - t0, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    doc["trained_beats_frozen"] = trained_beats_frozen(rows)
    print()
    print(table(doc))
    if args.json:
        from accelsim.files import write_atomic
        def dump(tmp):
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1)
        write_atomic(args.json, dump, "--json")
    # the claim docs/reproductions.md makes of this grid: training the float discriminator with the
    # quantized generator beats keeping it frozen, at every generator precision
    beats = doc["trained_beats_frozen"]
    if beats is not None and not all(beats.values()):
        print(f"CHECK FAILED: a trained discriminator does not beat the frozen one for {[g for g, b in beats.items() if not b]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
