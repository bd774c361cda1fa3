"""Two builds of accelsim side by side on int8 convolutions: an A/B of a kernel change, old build against
new, alternated in subprocesses so load from other processes falls on both. ``--set dcgan`` (default):
the DCGAN-64 transposed convolutions, ``conv_int`` then ``requantize_integer``; ``--set conv2d``: the
convolutions of CycleGAN ResNet-9, pix2pix U-Net-256 and SRResNet x4 (CONV2D_LAYERS), ``conv_requant``
(the runtime's one call; requant_median_s is then null).

usage: python benchmarks/bench_builds.py OLD_TREE NEW_TREE [--rounds 8] [--secs 0.5] [--isas amx,avx512]
                                         [--batch 64,1] [--layers 1,2,3,4] [--convt auto] [--set dcgan]
                                         [--json PATH]

A tree is a directory holding an importable ``accelsim`` package with its built extension (a worktree
after ``python setup.py build_ext --inplace``, or a copy of one: keep the old build before rebuilding).
Per round, ISA and batch, each tree runs in a fresh interpreter (``PYTHONPATH=<tree>``, checked:
the child reports the ``accelsim`` it imported) that times, per layer, ``kernels.conv_int`` of random
int8 codes (weights packed and cached by a warm-up call) for ``--secs`` seconds (at least 5 calls),
then as many ``requantize_integer`` calls; the trees alternate, round by round. The table gives, per
layer, the median over rounds of each round's median, the fastest call of all rounds, and old/new
ratios (> 1: the new build is faster; with ``--set dcgan`` a second line gives requantize_integer's
medians and ratio), the transposed-conv path each build took, and the 1-minute load average range.
JSON rows: {"layer", "isa", "batch", "tree", "path", "median_s" (median of the round medians), "min_s",
"requant_median_s", "macs", "rounds", "load_min", "load_max"}.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

LAYERS = [("512x4x4->256x8x8", 512, 256, 4), ("256x8x8->128x16x16", 256, 128, 8),
          ("128x16x16->64x32x32", 128, 64, 16), ("64x32x32->3x64x64", 64, 3, 32)]
# (name, cin, cout, input size, kernel, stride, padding): conv2d layers of examples/generators.py's models
CONV2D_LAYERS = [("cyclegan 3x3 256->256 @64", 256, 256, 64, 3, 1, 1),
                 ("cyclegan 3x3/2 64->128 @256", 64, 128, 256, 3, 2, 1),
                 ("cyclegan 3x3/2 128->256 @128", 128, 256, 128, 3, 2, 1),
                 ("pix2pix 4x4/2 64->128 @128", 64, 128, 128, 4, 2, 1),
                 ("pix2pix 4x4/2 256->512 @32", 256, 512, 32, 4, 2, 1),
                 ("pix2pix 4x4/2 512->512 @8", 512, 512, 8, 4, 2, 1),
                 ("srresnet 3x3 64->64 @32", 64, 64, 32, 3, 1, 1),
                 ("srresnet 3x3 64->256 @32", 64, 256, 32, 3, 1, 1)]

CHILD = r"""
import json, sys, time
import numpy as np
import accelsim
from accelsim import kernels
from accelsim.formats.conv import ConvSpec
isa, batch, path, secs, layers, which = (sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5],
                                         sys.argv[6])
rng = np.random.default_rng(0)
out = {"accelsim": accelsim.__file__, "layers": {}}
for li in map(int, layers.split(",")):
    if which == "dcgan":
        cin, cout, hw = LAYERS[li - 1][1:]
        k, spec = 4, ConvSpec.make(stride=2, padding=1, transposed=True)
        w = rng.integers(-127, 128, (cin, cout, k, k), dtype=np.int8)
    else:
        cin, cout, hw, k, stride, pad = CONV2D_LAYERS[li - 1][1:]
        spec = ConvSpec.make(stride=stride, padding=pad)
        w = rng.integers(-127, 128, (cout, cin, k, k), dtype=np.int8)
    x = rng.integers(-128, 128, (batch, cin, hw, hw), dtype=np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=0, w_kind="fixed", w_bits=8, spec=spec)
    if which == "dcgan":
        conv = lambda: kernels.conv_int(x, w, **args)
    else:
        conv = lambda: kernels.conv_requant(x, w, **args, m0=1 << 30, shift=12, zero_point=0, out_bits=8,
                                            out_signed=True, act="relu")
    with kernels.use_isa(isa), kernels.use_convt_path(path):
        acc = conv()
        ts, end = [], time.perf_counter() + secs
        while time.perf_counter() < end or len(ts) < 5:
            t = time.perf_counter(); acc = conv(); ts.append(time.perf_counter() - t)
        if which == "dcgan":
            taken = kernels.last_convt_path()
        else:   # builds before the implicit GEMM had only the im2col path for these
            taken = getattr(kernels, "last_conv2d_path", lambda: "packed")()
        rq = []
        for _ in range(len(ts) if which == "dcgan" else 0):
            t = time.perf_counter()
            kernels.requantize_integer(acc, 1 << 30, 12, zero_point=0, out_bits=8, out_signed=True, act="relu")
            rq.append(time.perf_counter() - t)
    out["layers"][li] = {"median_s": float(np.median(ts)), "min_s": min(ts),
                         "requant_median_s": float(np.median(rq)) if rq else None, "path": taken}
print(json.dumps(out))
"""


def run_child(tree: str, isa: str, batch: int, path: str, secs: float, layers: str, which: str = "dcgan") -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    code = f"LAYERS = {LAYERS!r}\nCONV2D_LAYERS = {CONV2D_LAYERS!r}\n" + CHILD
    res = subprocess.run([sys.executable, "-c", code, isa, str(batch), path, str(secs), layers, which], env=env,
                         capture_output=True, text=True, cwd=tree)
    if res.returncode != 0:
        raise SystemExit(f"bench_builds: the child for {tree} failed: {res.stderr.strip().splitlines()[-1:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    want = os.path.realpath(os.path.join(tree, "accelsim"))
    if not os.path.realpath(out["accelsim"]).startswith(want):
        raise SystemExit(f"bench_builds: {tree} imported accelsim from {out['accelsim']}, not from the tree")
    return out["layers"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--secs", type=float, default=0.5)
    ap.add_argument("--isas", default="amx,avx512")
    ap.add_argument("--batch", default="64,1")
    ap.add_argument("--layers", default="1,2,3,4")
    ap.add_argument("--convt", default="auto")
    ap.add_argument("--set", default="dcgan", choices=("dcgan", "conv2d"), dest="which",
                    help="dcgan: the DCGAN-64 transposed convs; conv2d: CONV2D_LAYERS")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    table = LAYERS if a.which == "dcgan" else CONV2D_LAYERS
    bad = [v for v in a.layers.split(",") if not v.strip().isdigit() or not 1 <= int(v) <= len(table)]
    if bad:
        ap.error(f"--layers: {', '.join(bad)} not in 1..{len(table)} for --set {a.which}")
    for t in (a.old, a.new):
        if not os.path.isdir(os.path.join(t, "accelsim")):
            ap.error(f"{t} holds no accelsim package")
    trees = {"old": a.old, "new": a.new}
    rows = []
    for isa in a.isas.split(","):
        for batch in map(int, a.batch.split(",")):
            got = {(t, li): [] for t in trees for li in map(int, a.layers.split(","))}
            loads = []
            for _ in range(a.rounds):
                for name, tree in trees.items():
                    for li, r in run_child(tree, isa, batch, a.convt, a.secs, a.layers, a.which).items():
                        got[name, int(li)].append(r)
                loads.append(os.getloadavg()[0])
            print(f"\n{isa}, batch {batch}, --convt {a.convt}, {a.rounds} rounds, 1-min load {min(loads):.2f}-"
                  f"{max(loads):.2f}: median of round medians / fastest call, ms")
            print(f"{'layer':<30}{'old':>28}{'new':>28}{'old/new median':>16}{'old/new fastest':>17}{'new GMAC/s':>12}")
            for li in map(int, a.layers.split(",")):
                if a.which == "dcgan":
                    name, cin, cout, hw = LAYERS[li - 1]
                    macs = batch * cin * hw * hw * cout * 16
                else:
                    name, cin, cout, hw, k, stride, pad = CONV2D_LAYERS[li - 1]
                    o = (hw + 2 * pad - k) // stride + 1
                    macs = batch * cin * cout * k * k * o * o
                stats = {}
                for t in trees:
                    rs = got[t, li]
                    stats[t] = (statistics.median(r["median_s"] for r in rs), min(r["min_s"] for r in rs),
                                None if rs[0]["requant_median_s"] is None else
                                statistics.median(r["requant_median_s"] for r in rs), rs[0]["path"])
                    rows.append({"layer": name, "isa": isa, "batch": batch, "tree": t, "path": stats[t][3],
                                 "median_s": stats[t][0], "min_s": stats[t][1], "requant_median_s": stats[t][2],
                                 "macs": macs, "rounds": a.rounds, "load_min": min(loads), "load_max": max(loads)})
                o, n = stats["old"], stats["new"]
                print(f"{name:<30}{f'{o[0] * 1e3:.3f} / {o[1] * 1e3:.3f} ({o[3]})':>28}"
                      f"{f'{n[0] * 1e3:.3f} / {n[1] * 1e3:.3f} ({n[3]})':>28}{o[0] / n[0]:>15.2f}x{o[1] / n[1]:>16.2f}x"
                      f"{macs / n[0] / 1e9:>12.0f}", flush=True)
                if o[2] is not None and n[2] is not None:
                    print(f"{'  then requantize_integer':<30}{f'{o[2] * 1e3:.3f}':>28}{f'{n[2] * 1e3:.3f}':>28}"
                          f"{o[2] / n[2]:>15.2f}x", flush=True)
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump({"old": a.old, "new": a.new, "rows": rows}, f, indent=1)
        os.replace(a.json + ".tmp", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
