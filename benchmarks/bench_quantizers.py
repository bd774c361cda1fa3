"""Weight quantizers side by side (issue 15 item 2): min/max, MSE-optimal clipping and QGAN's
EM-style alternation, at 1, 2, 3, 4, 6 and 8 weight bits (8-bit activations), on the shipped
generators, through the one runtime (C++ kernels). Quality: PSNR and SSIM against the float generator
on fixed inputs; digit-FID for dcgan-digits; PSNR against the ground-truth high-resolution crop for
sr-x4. Every method quantizes the same weights with the same activation calibration; only the
weight scales (and, for ternary, the mask) differ. Binary weights (w1a8) use alpha = mean|w|, the
least-squares scale of sign codes, under every method: the w1a8 rows are one check that the
methods change nothing else.

usage: python benchmarks/bench_quantizers.py [--models dcgan-digits,sr-x4] [--n 64] [--fid 1000] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np

from accelsim import compare, quality
from accelsim.formats.fixed import WEIGHT_QUANTIZERS
from accelsim.graph.reference import load
from accelsim.runtime import calibrate, quantize

FORMATS = ("w1a8", "w2a8", "w3a8", "w4a8", "w6a8", "w8a8")


def inputs(model: str, n: int, seed: int):
    if model in compare.SR_MODELS:
        return compare.model_inputs(model, 1)
    return compare.model_inputs(model, n, seed)


def gt_psnr(model: str, out: np.ndarray) -> float | None:
    if model not in compare.SR_MODELS:
        return None
    return compare.sr_psnr_gt_db(np.clip(np.rint((out[0].transpose(1, 2, 0) + 1.0) * 127.5), 0, 255))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="dcgan-digits,sr-x4")
    ap.add_argument("--n", type=int, default=64, help="inputs for PSNR/SSIM (latent models)")
    ap.add_argument("--fid", type=int, default=1000, help="images for digit-FID (dcgan-digits; 0 = skip)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    rows = []
    t0 = time.perf_counter()
    for model in args.models.split(","):
        loaded = load(model)
        g = loaded.graph
        n_run = max(args.n, args.fid) if model in compare.DIGIT_MODELS else args.n
        x = inputs(model, n_run, compare.QUALITY_SEED)
        ref = g.run_float(x)
        calib = x if model in compare.SR_MODELS else inputs(model, compare.CALIB_N, compare.CALIB_SEED)
        ranges = calibrate(g, calib)
        ref_gt = gt_psnr(model, ref)
        if ref_gt is not None:
            bicubic = compare.sr_bicubic_psnr_gt_db()
            print(f"{model}: float {ref_gt:.2f} dB, bicubic x4 {bicubic:.2f} dB against the HR crop")
            rows.append({"model": model, "format": "bicubic", "weight_bits": None, "method": None, "psnr_db": None,
                         "ssim": None, "fid": None, "psnr_gt_db": bicubic, "psnr_gt_float_db": ref_gt})
        for fmt in FORMATS:
            for method in WEIGHT_QUANTIZERS:
                out = quantize(g, fmt, ranges=ranges, weight_quantizer=method).run(x)
                k = min(args.n, out.shape[0])
                row = {"model": model, "format": fmt, "weight_bits": int(fmt[1:fmt.index("a")]), "method": method,
                       "psnr_db": quality.psnr_db(out[:k], ref[:k]), "ssim": quality.ssim(out[:k], ref[:k]),
                       "fid": None, "psnr_gt_db": gt_psnr(model, out), "psnr_gt_float_db": ref_gt}
                if model in compare.DIGIT_MODELS and args.fid:
                    row["fid"] = quality.digit_fid(out[:args.fid])
                rows.append(row)
                print(f"{model:<13} {fmt:<5} {method:<7} PSNR {row['psnr_db']:6.2f} dB  SSIM {row['ssim']:.4f}"
                      + (f"  FID {row['fid']:7.2f}" if row["fid"] is not None else "")
                      + (f"  PSNR vs HR {row['psnr_gt_db']:.2f} dB (float {ref_gt:.2f})" if ref_gt is not None else ""),
                      flush=True)
    float_fid = None
    if "dcgan-digits" in args.models.split(",") and args.fid:
        loaded = load("dcgan-digits")
        float_fid = quality.digit_fid(loaded.graph.run_float(inputs("dcgan-digits", args.fid, compare.QUALITY_SEED)))
        print(f"dcgan-digits float: FID {float_fid:.2f}")
    # the checks this benchmark's claims rest on: on every model, the best of mse/em is at least as good
    # as min/max at 3 and 4 bits, and the three methods agree on w1a8
    checks = {}
    for model in args.models.split(","):
        for fmt in ("w3a8", "w4a8"):
            by = {r["method"]: r["psnr_db"] for r in rows if r["model"] == model and r["format"] == fmt}
            checks[f"{model} {fmt}: max(mse, em) >= minmax"] = max(by["mse"], by["em"]) >= by["minmax"]
        w1 = {r["method"]: r["psnr_db"] for r in rows if r["model"] == model and r["format"] == "w1a8"}
        checks[f"{model} w1a8: methods agree"] = len(set(w1.values())) == 1
    for k, ok in checks.items():
        print(f"check {k}: {'yes' if ok else 'NO'}")
    print(f"{time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "float_fid": float_fid, "checks": checks, "n": args.n, "fid_images": args.fid},
                      f, indent=1)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
