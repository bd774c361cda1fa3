"""Kernel benchmark on the DCGAN-64 generator's transposed-conv layers (k4 s2 p1), side by side in
one run: every accelsim C++ format, torch fp32 conv_transpose2d and torch int8 ConvTranspose2d
(fbgemm). Each accelsim timing is a whole int8->int8 layer: accumulate + requantize (flex16:
mantissas in, mantissas out; binary: signs in, int32 dot out).

usage: python benchmarks/bench_kernels.py [--json PATH] [--runs N] [--threads T] [--batch 1,64]

Prints medians and ratios vs torch fp32 (geometric mean over the four layers), and the peak memory
of one kernel call relative to its input + weight + output bytes. Writes JSON rows
{"layer", "batch", "impl", "median_s"} (+ "peak_bytes", "io_bytes" where measured).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np

from accelsim import kernels
from accelsim.formats.conv import ConvSpec
from accelsim.formats.requant import quantize_multiplier

LAYERS = [("512x4x4->256x8x8", 512, 256, 4), ("256x8x8->128x16x16", 256, 128, 8),
          ("128x16x16->64x32x32", 128, 64, 16), ("64x32x32->3x64x64", 64, 3, 32)]
IMPLS = ["torch-fp32", "torch-int8-fbgemm", "int8", "int4", "ternary", "binary_w_int8_a", "binary", "flex16"]
SPEC = ConvSpec.make(stride=2, padding=1, transposed=True)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def peak_bytes(fn) -> int | None:
    """Peak resident memory growth of one call (VmHWM after resetting it), in bytes."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    base = _rss_kib("VmRSS:")
    out = fn()
    peak = _rss_kib("VmHWM:")
    del out
    return max(0, peak - base) * 1024


def make_layer(cin, cout, hw, batch, rng):
    """Callables for every implementation on one layer, and their input+weight+output bytes."""
    import torch

    xf = rng.standard_normal((batch, cin, hw, hw)).astype(np.float32)
    wf = (rng.standard_normal((cin, cout, 4, 4)) * 0.05).astype(np.float32)
    x8 = rng.integers(-128, 128, xf.shape).astype(np.int8)
    x4 = rng.integers(-8, 8, xf.shape).astype(np.int8)
    w8 = rng.integers(-127, 128, wf.shape).astype(np.int8)
    w4 = rng.integers(-7, 8, wf.shape).astype(np.int8)
    wt = rng.integers(-1, 2, wf.shape).astype(np.int8)
    wb = np.where(rng.random(wf.shape) < 0.5, 1, -1).astype(np.int8)
    xb = np.where(rng.random(xf.shape) < 0.5, 1, -1).astype(np.int8)
    xm = rng.integers(-32767, 32768, xf.shape).astype(np.int16)
    wm = rng.integers(-32767, 32768, wf.shape).astype(np.int16)
    m0, sh = quantize_multiplier(1e-4)
    m0a, sha = np.full(cout, m0, np.int32), np.full(cout, sh, np.int32)

    def layer_int(x, w, bits, kind, wbits):
        def run():
            acc = kernels.conv_int(x, w, x_bits=bits, x_signed=True, x_zero_point=0, w_kind=kind, w_bits=wbits, spec=SPEC)
            return kernels.requantize_integer(acc, m0a, sha, zero_point=0, out_bits=bits, out_signed=True, act="relu")
        return run

    tx, tw = torch.from_numpy(xf), torch.from_numpy(wf)
    torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qm = torch.ao.nn.quantized.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
        qm.set_weight_bias(torch.quantize_per_tensor(tw, 0.01, 0, torch.qint8), None)
        qm.scale, qm.zero_point = 0.05, 64
        qx = torch.quantize_per_tensor(tx, 0.02, 64, torch.quint8)

    def tfp32():
        with torch.no_grad():
            return torch.nn.functional.conv_transpose2d(tx, tw, stride=2, padding=1)

    fns = {
        "torch-fp32": tfp32,
        "torch-int8-fbgemm": lambda: qm(qx),
        "int8": layer_int(x8, w8, 8, "fixed", 8),
        "int4": layer_int(x4, w4, 4, "fixed", 4),
        "ternary": layer_int(x8, wt, 8, "ternary", 2),
        "binary_w_int8_a": layer_int(x8, wb, 8, "binary", 2),
        "binary": lambda: kernels.conv_xnor(xb, wb, spec=SPEC),
        "flex16": lambda: kernels.conv_flex(xm, -15, wm, -16, spec=SPEC),
    }
    out_elems = batch * cout * (2 * hw) ** 2
    io = {"torch-fp32": (xf.nbytes + wf.nbytes + out_elems * 4), "torch-int8-fbgemm": x8.nbytes + w8.nbytes + out_elems,
          "int8": x8.nbytes + w8.nbytes + out_elems, "int4": x4.nbytes + w4.nbytes + out_elems,
          "ternary": x8.nbytes + wt.nbytes + out_elems, "binary_w_int8_a": x8.nbytes + wb.nbytes + out_elems,
          "binary": xb.nbytes + wb.nbytes + out_elems * 4, "flex16": xm.nbytes + wm.nbytes + out_elems * 2}
    return fns, io


def time_median(fn, runs: int) -> float:
    fn()  # warm up
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", default="1,64")
    ap.add_argument("--impls", default=",".join(IMPLS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    kernels.set_num_threads(args.threads)
    impls = args.impls.split(",")
    batches = [int(b) for b in args.batch.split(",")]
    rng = np.random.default_rng(0)
    rows = []
    print(f"accelsim {kernels.active_isa()} | torch {torch.__version__} | threads {args.threads} | "
          f"median of {args.runs} runs", flush=True)
    for batch in batches:
        print(f"\nbatch {batch}")
        print(f"{'layer':<22}" + "".join(f"{i:>18}" for i in impls))
        for name, cin, cout, hw in LAYERS:
            fns, io = make_layer(cin, cout, hw, batch, rng)
            line = f"{name:<22}"
            for impl in impls:
                med = time_median(fns[impl], args.runs)
                row = {"layer": name, "batch": batch, "impl": impl, "median_s": med}
                if batch == max(batches) and impl not in ("torch-fp32", "torch-int8-fbgemm"):
                    pk = peak_bytes(fns[impl])
                    if pk is not None:
                        row.update(peak_bytes=pk, io_bytes=io[impl])
                rows.append(row)
                line += f"{med * 1e3:>16.3f}ms"
            print(line, flush=True)
    print("\nspeed-up vs torch-fp32 (geometric mean over the four layers):")
    print(f"{'batch':<8}" + "".join(f"{i:>18}" for i in impls))
    for batch in batches:
        base = {r["layer"]: r["median_s"] for r in rows if r["batch"] == batch and r["impl"] == "torch-fp32"}
        line = f"{batch:<8}"
        for impl in impls:
            ratios = [base[r["layer"]] / r["median_s"] for r in rows if r["batch"] == batch and r["impl"] == impl]
            line += f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):>17.2f}x"
        print(line)
    mem = [r for r in rows if "peak_bytes" in r]
    if mem:
        print(f"\npeak memory of one call / (input + weight + output bytes), batch {max(batches)}:")
        for impl in impls:
            rs = [r["peak_bytes"] / r["io_bytes"] for r in mem if r["impl"] == impl]
            if rs:
                print(f"  {impl:<18} max {max(rs):.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
