"""The two int8 transposed-convolution algorithms side by side (csrc/src/qconv.cpp): phase
decomposition (``phase``) against GEMM + phase-plane col2im (``col2im``), and which one ``auto``
picks (on AMX and AVX-512 also the phases as implicit GEMMs, ``implicit``, which ``auto`` picks by its own rule), on the
DCGAN-64, pix2pix decoder and CycleGAN upsampling layers and on other geometries (stride 1, 3 and 4,
odd kernels, output_padding, groups, few channels). The evidence behind ``auto`` (docs/design.md).

usage: python benchmarks/bench_convt.py [--runs 15] [--threads 1,2] [--isas avx512,amx] [--json PATH]

Per geometry, ISA and thread count the two algorithms run interleaved run by run (`conv_int` of int8
codes, the bench_kernels layer without the requantization), after one warm-up each (which also packs
and caches the weights); the table gives the fastest and the median run of each and their ratios
(col2im time / phase time: > 1 means phase is faster), plus the 1-minute load average when the
geometry finished. JSON rows: {"name", "isa", "threads", "batch", "cin", "cout", "hw", "spec",
"macs", "auto", "phase_min_s", "phase_median_s", "col2im_min_s", "col2im_median_s", "load_avg_1min"}, and
on amx and avx512 "implicit_min_s", "implicit_median_s".
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # this checkout's accelsim

import numpy as np  # noqa: E402

from accelsim import kernels  # noqa: E402
from accelsim.formats.conv import ConvSpec  # noqa: E402

K4S2 = dict(stride=2, padding=1)
# (name, cin, cout, input hw, kernel, spec keywords, batch)
IMPLICIT_ISAS = ("amx", "avx512")   # the ISAs with the implicit GEMM kernel (hot.hpp ukr_u8s8_implicit)

GEOMS = [
    ("dcgan 100x1x1->512x4x4", 100, 512, 1, 4, dict(stride=1, padding=0), 64),
    ("dcgan 512x4x4->256x8x8", 512, 256, 4, 4, K4S2, 64),
    ("dcgan 256x8x8->128x16x16", 256, 128, 8, 4, K4S2, 64),
    ("dcgan 128x16x16->64x32x32", 128, 64, 16, 4, K4S2, 64),
    ("dcgan 64x32x32->3x64x64", 64, 3, 32, 4, K4S2, 64),
    ("dcgan 100x1x1->512x4x4 b1", 100, 512, 1, 4, dict(stride=1, padding=0), 1),
    ("dcgan 512x4x4->256x8x8 b1", 512, 256, 4, 4, K4S2, 1),
    ("dcgan 256x8x8->128x16x16 b1", 256, 128, 8, 4, K4S2, 1),
    ("dcgan 128x16x16->64x32x32 b1", 128, 64, 16, 4, K4S2, 1),
    ("pix2pix 1024x8x8->512x16x16", 1024, 512, 8, 4, K4S2, 1),
    ("pix2pix 512x32x32->128x64x64", 512, 128, 32, 4, K4S2, 1),
    ("pix2pix 256x64x64->64x128x128", 256, 64, 64, 4, K4S2, 1),
    ("k4s2p1 64->64 32x32", 64, 64, 32, 4, K4S2, 4),
    ("k4s2p1 32->16 32x32", 32, 16, 32, 4, K4S2, 8),
    ("k4s2p1 64->8 32x32", 64, 8, 32, 4, K4S2, 8),
    ("k3s1p1 64->64 16x16", 64, 64, 16, 3, dict(stride=1, padding=1), 4),
    ("k3s2p1op1 128->64 16x16", 128, 64, 16, 3, dict(stride=2, padding=1, output_padding=1), 4),
    ("k5s3p1 64->32 8x8", 64, 32, 8, 5, dict(stride=3, padding=1), 4),
    ("k4s4 128->64 8x8", 128, 64, 8, 4, dict(stride=4), 4),
    ("k4s2p1 g2 128->64 16x16", 128, 64, 16, 4, dict(stride=2, padding=1, groups=2), 4),
    ("cyclegan 256x64x64->128x128x128", 256, 128, 64, 3, dict(stride=2, padding=1, output_padding=1), 1),
    ("cyclegan 128x128x128->64x256x256", 128, 64, 128, 3, dict(stride=2, padding=1, output_padding=1), 1),
]


def time_pair(fn, runs: int, implicit: bool = False) -> dict:
    """Fastest and median seconds of fn under each algorithm (and the implicit GEMM when asked),
    interleaved run by run, the order rotating."""
    ts = {"phase": [], "col2im": [], **({"implicit": []} if implicit else {})}
    for path in ts:
        with kernels.use_convt_path(path):
            fn()
    order = list(ts)
    for r in range(runs):
        for path in order[r % len(order):] + order[:r % len(order)]:
            with kernels.use_convt_path(path):
                t0 = time.perf_counter()
                fn()
                ts[path].append(time.perf_counter() - t0)
    return {f"{p}_{k}_s": f(v) for p, v in ts.items() for k, f in (("min", min), ("median", statistics.median))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--isas", default=None, help="default: every available ISA but scalar")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    isas = args.isas.split(",") if args.isas else [i for i in kernels.available_isas() if i != "scalar"]
    rng = np.random.default_rng(0)
    rows = []
    print(f"median and fastest of {args.runs} interleaved runs; ratio = col2im time / phase time (> 1: phase faster);"
          " on amx and avx512 also the implicit GEMM (ACCELSIM_CONVT=implicit): its median and best-of-two median / its median"
          " (> 1: implicit faster than both)")
    print(f"{'geometry':<32}{'isa':>7}{'thr':>4}{'col2im min':>12}{'phase min':>11}{'ratio':>7}"
          f"{'col2im med':>12}{'phase med':>11}{'ratio':>7}{'auto':>8}{'load':>6}{'impl med':>13}{'ratio':>7}")
    for name, cin, cout, hw, k, kw, batch in GEOMS:
        spec = ConvSpec.make(transposed=True, **kw)
        x = rng.integers(-128, 128, (batch, cin, hw, hw), dtype=np.int8)
        w = rng.integers(-127, 128, (cin, cout // spec.groups, k, k), dtype=np.int8)

        def fn():
            return kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, spec=spec)

        for isa in isas:
            with kernels.use_isa(isa):
                fn()
                auto = kernels.last_convt_path()
                for threads in (int(t) for t in args.threads.split(",")):
                    prev = kernels.num_threads()
                    kernels.set_num_threads(threads)
                    try:
                        t = time_pair(fn, args.runs, implicit=isa in IMPLICIT_ISAS)
                    finally:
                        kernels.set_num_threads(prev)
                    load = os.getloadavg()[0]
                    best = min(t["phase_median_s"], t["col2im_median_s"])
                    rows.append({"name": name, "isa": isa, "threads": threads, "batch": batch, "cin": cin,
                                 "cout": cout, "hw": hw, "spec": str(spec),
                                 "macs": batch * cin * (cout // spec.groups) * hw * hw * k * k, "auto": auto, **t,
                                 "load_avg_1min": load})
                    print(f"{name:<32}{isa:>7}{threads:>4}{t['col2im_min_s'] * 1e3:>10.3f}ms{t['phase_min_s'] * 1e3:>9.3f}ms"
                          f"{t['col2im_min_s'] / t['phase_min_s']:>6.2f}x{t['col2im_median_s'] * 1e3:>10.3f}ms"
                          f"{t['phase_median_s'] * 1e3:>9.3f}ms{t['col2im_median_s'] / t['phase_median_s']:>6.2f}x"
                          f"{auto:>8}{load:>6.2f}" + (f"{t['implicit_median_s'] * 1e3:>11.3f}ms"
                                                      f"{best / t['implicit_median_s']:>6.2f}x"
                                                      if "implicit_median_s" in t else ""), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
