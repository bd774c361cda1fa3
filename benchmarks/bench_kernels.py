"""Kernel benchmark on the DCGAN-64 generator's transposed-conv layers (k4 s2 p1), side by side in
one run: every accelsim C++ format on every requested SIMD path, torch fp32 conv_transpose2d and
torch int8 ConvTranspose2d (fbgemm). Each accelsim timing is a whole int8->int8 layer: accumulate +
requantize (flex16: mantissas in, mantissas out; binary: signs in, int32 dot out).

usage: python benchmarks/bench_kernels.py [--json PATH] [--runs N] [--threads T] [--batch 1,64]
                                          [--isas avx512,avx2] [--impls ...] [--no-memory]
                                          [--convt auto,phase,col2im]

``--convt``: the transposed-convolution algorithms of the int formats to time side by side (kernels
.use_convt_path: phase decomposition, GEMM + col2im, or the automatic choice); with more than one,
each int column is ``fmt[isa/path]``.

Timings are interleaved (every run times every implementation once, in turn), so load from other
processes falls on all of them alike; the table gives medians and, per layer, the ratio to torch
fp32 measured in the same run, then geometric means over the four layers vs torch fp32 and vs
torch int8 fbgemm.

Peak memory (largest batch): each kernel call runs once in a fresh subprocess (no torch, glibc
mmap threshold fixed so freed blocks leave the resident set); its peak is the input and weight bytes
plus the growth of VmHWM during the call (reset through /proc/self/clear_refs), reported relative to
that call's input + weight + output bytes (conv: int32 / int64 / int16 outputs as returned;
requantize: int32 in, int8 out).

Peak: in the same run, before the layers, ``kernels.peak_probe`` measures the multiply-accumulates
per second each instruction family sustains on all threads (register-only loops:
csrc/src/peak_probe.cpp). Every row then reports GMAC/s, counting the layer's effectual MACs
(batch x cin x hw^2 x cout x 16 for these k4 s2 layers; flex16 counts one MAC per int16 product
pair of the format, binary one per XNOR bit), and its fraction of the peak of the instruction its
kernel is built on: vpdpbusd (int formats, avx512), TDPBSUD (int formats, amx), vpmaddubsw (avx2),
vpdpwssd (flex16), vpopcntq (binary), vfmadd fp32 (torch fp32), vpdpbusd (torch int8 fbgemm).

JSON rows: {"layer", "batch", "impl", "isa", "convt_path", "median_s", "min_s", "vs_fp32", "gmacs_per_s", "peak_probe",
"peak_gmacs_per_s", "peak_fraction"}, one {"peak_probe", "gmacs_per_s"} per probe, and, for memory,
{"layer", "batch", "impl", "isa", "call", "peak_bytes", "io_bytes"}.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # this checkout's accelsim

import numpy as np  # noqa: E402

from accelsim import kernels  # noqa: E402
from accelsim.formats.conv import ConvSpec  # noqa: E402
from accelsim.formats.requant import quantize_multiplier  # noqa: E402

LAYERS = [("512x4x4->256x8x8", 512, 256, 4), ("256x8x8->128x16x16", 256, 128, 8),
          ("128x16x16->64x32x32", 128, 64, 16), ("64x32x32->3x64x64", 64, 3, 32)]
TORCH = ["torch-fp32", "torch-int8-fbgemm"]
FORMATS = ["int8", "int4", "ternary", "binary_w_int8_a", "binary", "flex16"]
SPEC = ConvSpec.make(stride=2, padding=1, transposed=True)
INT_ARGS = {"int8": (8, "fixed", 8), "int4": (4, "fixed", 4), "ternary": (8, "ternary", 2),
            "binary_w_int8_a": (8, "binary", 2)}


def operands(fmt: str, cin: int, cout: int, hw: int, batch: int, rng) -> dict:
    """The codes one format's layer reads (and nothing else, so a memory probe stays lean)."""
    xs, ws = (batch, cin, hw, hw), (cin, cout, 4, 4)
    if fmt in ("int8", "ternary", "binary_w_int8_a"):
        x = rng.integers(-128, 128, xs, dtype=np.int8)
    elif fmt == "int4":
        x = rng.integers(-8, 8, xs, dtype=np.int8)
    elif fmt == "binary":
        x = np.where(rng.random(xs, dtype=np.float32) < 0.5, 1, -1).astype(np.int8)
    else:
        x = rng.integers(-32767, 32768, xs, dtype=np.int16)
    w = {"int8": lambda: rng.integers(-127, 128, ws, dtype=np.int8),
         "int4": lambda: rng.integers(-7, 8, ws, dtype=np.int8),
         "ternary": lambda: rng.integers(-1, 2, ws, dtype=np.int8),
         "binary_w_int8_a": lambda: np.where(rng.random(ws) < 0.5, 1, -1).astype(np.int8),
         "binary": lambda: np.where(rng.random(ws) < 0.5, 1, -1).astype(np.int8),
         "flex16": lambda: rng.integers(-32767, 32768, ws, dtype=np.int16)}[fmt]()
    m0, sh = quantize_multiplier(1e-4)
    return {"x": x, "w": w, "m0": np.full(cout, m0, np.int32), "shift": np.full(cout, sh, np.int32)}


def conv_call(fmt: str, ops: dict):
    """The accumulate call of a format (returns its output array)."""
    if fmt == "binary":
        return lambda: kernels.conv_xnor(ops["x"], ops["w"], spec=SPEC)
    if fmt == "flex16":
        return lambda: kernels.conv_flex(ops["x"], -15, ops["w"], -16, spec=SPEC)[0]
    bits, kind, wbits = INT_ARGS[fmt]
    return lambda: kernels.conv_int(ops["x"], ops["w"], x_bits=bits, x_signed=True, x_zero_point=0, w_kind=kind,
                                    w_bits=wbits, spec=SPEC)


def requant_call(fmt: str, ops: dict, acc):
    bits = INT_ARGS[fmt][0]
    return lambda: kernels.requantize_integer(acc, ops["m0"], ops["shift"], zero_point=0, out_bits=bits,
                                              out_signed=True, act="relu")


def layer_call(fmt: str, ops: dict):
    """The whole layer of a format: accumulate (+ requantize for the fixed-point formats)."""
    conv = conv_call(fmt, ops)
    if fmt not in INT_ARGS:
        return conv
    return lambda: requant_call(fmt, ops, conv())()


def torch_calls(cin: int, cout: int, hw: int, batch: int, rng) -> dict:
    import torch

    tx = torch.from_numpy(rng.standard_normal((batch, cin, hw, hw)).astype(np.float32))
    tw = torch.from_numpy((rng.standard_normal((cin, cout, 4, 4)) * 0.05).astype(np.float32))
    torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qm = torch.ao.nn.quantized.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
        qm.set_weight_bias(torch.quantize_per_tensor(tw, 0.01, 0, torch.qint8), None)
        qm.scale, qm.zero_point = 0.05, 64
        qx = torch.quantize_per_tensor(tx, 0.02, 64, torch.quint8)

    def fp32():
        with torch.no_grad():
            return torch.nn.functional.conv_transpose2d(tx, tw, stride=2, padding=1)

    return {"torch-fp32": fp32, "torch-int8-fbgemm": lambda: qm(qx)}


def isa_call(isa: str, fn, convt: str = "auto"):
    def run():
        with kernels.use_isa(isa), kernels.use_convt_path(convt):
            return fn()
    return run


def time_interleaved(fns: dict, runs: int, mins: dict | None = None) -> dict:
    """Median seconds per callable; every run times each callable once, in turn. ``mins`` (if given)
    receives each callable's fastest run."""
    for fn in fns.values():
        fn()  # warm up
    ts = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            ts[name].append(time.perf_counter() - t0)
    if mins is not None:
        mins.update({name: min(v) for name, v in ts.items()})
    return {name: statistics.median(v) for name, v in ts.items()}


# ---- peak memory: one kernel call in a fresh process ---------------------------------------------
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def probe(layer: int, fmt: str, isa: str, call: str, batch: int, threads: int, convt: str = "auto") -> dict:
    """Runs in the subprocess: peak bytes and input + weight + output bytes of one call."""
    name, cin, cout, hw = LAYERS[layer]
    kernels.set_num_threads(threads)
    kernels.set_isa(isa)
    kernels.set_convt_path(convt)
    ops = operands(fmt, cin, cout, hw, batch, np.random.default_rng(0))
    if call == "conv":
        fn, inputs = conv_call(fmt, ops), ops["x"].nbytes + ops["w"].nbytes
    else:
        acc = conv_call(fmt, ops)()
        fn, inputs = requant_call(fmt, ops, acc), acc.nbytes
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set
    base = _status_kib("VmRSS:")
    out = fn()
    growth = max(0, _status_kib("VmHWM:") - base) * 1024
    return {"peak_bytes": inputs + growth, "io_bytes": inputs + out.nbytes}


def peak_memory(layer: int, fmt: str, isa: str, call: str, batch: int, threads: int,
                convt: str = "auto") -> dict | None:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    cmd = [sys.executable, os.path.abspath(__file__), "--_probe",
           f"{layer},{fmt},{isa},{call},{batch},{threads},{convt}"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"  memory probe failed ({fmt} {isa} {call}): {res.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout)


def peak_probe_for(impl: str, isa: str | None, avx512: bool) -> str | None:
    """The instruction whose measured peak bounds this implementation (None: no SIMD kernel)."""
    if impl == "torch-fp32":
        return "fma-zmm" if avx512 else "fma-ymm"
    if impl == "torch-int8-fbgemm":
        return "vpdpbusd-zmm" if avx512 else "vpmaddubsw-ymm"
    if impl in INT_ARGS:
        return {"amx": "tdpbsud-amx", "avx512": "vpdpbusd-zmm", "avx2": "vpmaddubsw-ymm"}.get(isa)
    if impl == "flex16":
        return "vpdpwssd-zmm" if isa in ("avx512", "amx") else ("vpmaddwd-ymm" if isa == "avx2" else None)
    if impl == "binary":
        return "vpopcntq-zmm" if isa in ("avx512", "amx") else None
    return None


def geomean(xs) -> float:
    return math.exp(sum(map(math.log, xs)) / len(xs))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", default="1,64")
    ap.add_argument("--isas", default=None, help="SIMD paths to compare (default: every available one but scalar)")
    ap.add_argument("--impls", default=",".join(TORCH + FORMATS))
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes")
    ap.add_argument("--convt", default="auto",
                    help="transposed-conv algorithms of the int formats, comma separated: auto, phase, col2im")
    ap.add_argument("--_probe", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._probe:
        layer, fmt, isa, call, batch, threads, convt = args._probe.split(",")
        print(json.dumps(probe(int(layer), fmt, isa, call, int(batch), int(threads), convt)))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    kernels.set_num_threads(args.threads)
    isas = args.isas.split(",") if args.isas else [i for i in kernels.available_isas() if i != "scalar"] or ["scalar"]
    impls = args.impls.split(",")
    torch_impls = [i for i in impls if i in TORCH]
    formats = [i for i in impls if i in FORMATS]
    convts = args.convt.split(",")
    bad = [c for c in convts if c not in kernels.CONVT_PATHS]
    if bad:
        ap.error(f"--convt: unknown {', '.join(bad)} (one of {', '.join(kernels.CONVT_PATHS)})")

    def variants(fmt: str) -> list[tuple[str, str, str]]:
        """(column, isa, convt path) of a format: one column per ISA, and per path for int formats."""
        paths = convts if fmt in INT_ARGS else ["auto"]
        return [(f"{fmt}[{isa}]" if paths == ["auto"] else f"{fmt}[{isa}/{path}]", isa, path)
                for isa in isas for path in paths]

    columns = torch_impls + [col for f in formats for col, _, _ in variants(f)]
    col_isa = {col: isa for f in formats for col, isa, _ in variants(f)}
    col_path = {col: path for f in formats for col, _, path in variants(f)}
    batches = [int(b) for b in args.batch.split(",")]
    rng = np.random.default_rng(0)
    rows = []
    print(f"accelsim isas {','.join(isas)} | convt {','.join(convts)} | torch {torch.__version__} | "
          f"threads {args.threads} | median of {args.runs} interleaved runs", flush=True)
    avx512 = "avx512" in kernels.available_isas()
    probe_of = {col: peak_probe_for(col.partition("[")[0], col_isa.get(col), avx512) for col in columns}
    peaks = {}
    for name in sorted({p for p in probe_of.values() if p}):
        try:
            peaks[name] = kernels.peak_probe(name)
        except ValueError as e:        # this CPU cannot run it: no fraction for its rows
            print(f"peak probe {name}: {e}")
    print("measured peak, all threads (GMAC/s): " + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in peaks.items()),
          flush=True)
    rows += [{"peak_probe": k, "gmacs_per_s": v / 1e9} for k, v in peaks.items()]
    for batch in batches:
        med, fastest, load = {}, {}, {}
        for li, (name, cin, cout, hw) in enumerate(LAYERS):
            fns = torch_calls(cin, cout, hw, batch, rng) if torch_impls else {}
            fns = {k: v for k, v in fns.items() if k in torch_impls}
            for fmt in formats:
                fn = layer_call(fmt, operands(fmt, cin, cout, hw, batch, rng))
                for col, isa, path in variants(fmt):
                    fns[col] = isa_call(isa, fn, path)
            mins = {}
            for col, s in time_interleaved(fns, args.runs, mins).items():
                med[name, col] = s
                fastest[name, col] = mins[col]
            load[name] = os.getloadavg()[0]
        macs = {name: batch * cin * hw * hw * cout * 16 for name, cin, cout, hw in LAYERS}
        rate = {}
        base = {name: med.get((name, "torch-fp32")) for name, *_ in LAYERS}
        fbg = {name: med.get((name, "torch-int8-fbgemm")) for name, *_ in LAYERS}
        print(f"\nbatch {batch}: median ms (speed-up vs torch-fp32 in the same run)")
        head = f"{'impl':<24}" + "".join(f"{name:>24}" for name, *_ in LAYERS)
        print(head + f"{'geomean vs fp32':>17}{'vs fbgemm':>11}")
        for col in columns:
            line = f"{col:<24}"
            for name, *_ in LAYERS:
                s = med[name, col]
                r = base[name] / s if base[name] else float("nan")
                line += f"{s * 1e3:>14.3f}ms{r:>7.2f}x "
                fmt = col.partition("[")[0]
                gmacs, peak = macs[name] / s / 1e9, peaks.get(probe_of[col])
                rows.append({"layer": name, "batch": batch, "impl": fmt, "isa": col_isa.get(col),
                             "convt_path": col_path.get(col), "median_s": s, "min_s": fastest[name, col],
                             "load_avg_1min": load[name], "vs_fp32": r, "gmacs_per_s": gmacs, "peak_probe": probe_of[col],
                             "peak_gmacs_per_s": peak / 1e9 if peak else None,
                             "peak_fraction": gmacs * 1e9 / peak if peak else None})
                rate[name, col] = rows[-1]
            g_fp32 = geomean([base[n] / med[n, col] for n, *_ in LAYERS]) if all(base.values()) else float("nan")
            g_fbg = geomean([fbg[n] / med[n, col] for n, *_ in LAYERS]) if all(fbg.values()) else float("nan")
            print(line + f"{g_fp32:>16.2f}x{g_fbg:>10.2f}x", flush=True)
        print("fastest run, ms:  " + "  ".join(
            f"{col} " + "/".join(f"{fastest[n, col] * 1e3:.3f}" for n, *_ in LAYERS) for col in columns))
        print("1-min load average after each layer: " + ", ".join(f"{load[n]:.2f}" for n, *_ in LAYERS), flush=True)
        print(f"\nbatch {batch}: GMAC/s (fraction of the measured peak of the kernel's instruction)")
        print(head + f"{'peak of':>16}")
        for col in columns:
            line = f"{col:<24}"
            for name, *_ in LAYERS:
                rec = rate[name, col]
                frac = f"{rec['peak_fraction'] * 100:5.1f}%" if rec["peak_fraction"] is not None else "     -"
                line += f"{rec['gmacs_per_s']:>15.1f} {frac:>7} "
            print(line + f"{probe_of[col] or '-':>16}", flush=True)
    if not args.no_memory and formats:
        batch = max(batches)
        print(f"\npeak memory of one kernel call / (its input + weight + output bytes), batch {batch}, "
              f"max over the layers:")
        for fmt in formats:
            for col, isa, path in variants(fmt):
                for call in (["conv", "requant"] if fmt in INT_ARGS else ["conv"]):
                    res = [(li, peak_memory(li, fmt, isa, call, batch, args.threads, path))
                           for li in range(len(LAYERS))]
                    ok = [(li, r) for li, r in res if r]
                    for li, r in ok:
                        rows.append({"layer": LAYERS[li][0], "batch": batch, "impl": fmt, "isa": isa,
                                     "convt_path": path, "call": call, **r})
                    if ok:
                        li, r = max(ok, key=lambda t: t[1]["peak_bytes"] / t[1]["io_bytes"])
                        print(f"  {col + ' ' + call:<32} {r['peak_bytes'] / r['io_bytes']:.2f}x "
                              f"({r['peak_bytes'] / 2**20:.1f} MiB / {r['io_bytes'] / 2**20:.1f} MiB, {LAYERS[li][0]})",
                              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
