"""ReRAM crossbars: functional-model exactness, DCGAN-64 energy next to the digital edge NPU, and the
functional model's speed.

1. Exactness: >= 500 random layers (conv2d and conv_transpose2d with random stride, padding, output
   padding, dilation, groups; int2..int16, ternary, binary and flex16 weights; binary x binary;
   random crossbar geometry, cell bits, DAC bits, encoding; every transposed-conv lowering) through
   the functional model with a lossless ADC, compared bit for bit with the golden accumulators.
   Target: 0 mismatches.
2. DCGAN-64 (zoo) on isaac-like and neurosim-like: energy per image for binary, ternary, int4,
   int8 (and flex16) next to edge-npu, and the ADC share of the crossbar energy.
3. Functional-model time for one full DCGAN-64 image (all five layers, int8 weights, 8-bit inputs,
   isaac-like, phase lowering; numba compiled beforehand). Target <= 2 s.

usage: python benchmarks/bench_crossbar.py [--layers 500] [--json PATH]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

KINDS = [("fixed", b) for b in (2, 3, 4, 6, 8, 12, 16)] + [("ternary", 2), ("binary", 2), ("xnor", 1), ("flex", 16)]


def random_layer(rng):
    from accelsim.formats.conv import ConvSpec
    transposed = rng.random() < 0.7
    g = int(rng.choice([1, 1, 1, 2]))
    k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    p = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    op = tuple(int(rng.integers(0, max(a, b))) for a, b in zip(s, d)) if transposed else (0, 0)
    cin, cout = g * int(rng.integers(1, 24)), g * int(rng.integers(1, 9))
    xshape = (int(rng.integers(1, 3)), cin, int(rng.integers(1, 7)), int(rng.integers(1, 7)))
    spec = ConvSpec.make(stride=s, padding=p, output_padding=op, dilation=d, groups=g, transposed=transposed)
    wshape = (cin, cout // g) + k if transposed else (cout, cin // g) + k
    spec.check_shapes(xshape, wshape)
    return spec, xshape, wshape


def random_crossbar(rng, enc_min_cols: int):
    from accelsim.arch import CrossbarSpec
    xs = CrossbarSpec(rows=int(rng.choice([4, 16, 64, 128])), cols=int(rng.choice([32, 64, 128])),
                      bits_per_cell=int(rng.integers(1, 5)), cell_levels=16, dac_bits=int(rng.integers(1, 5)),
                      signed_encoding=str(rng.choice(["differential", "offset"])), cols_per_adc=8)
    return dataclasses.replace(xs, adc_bits=min(16, xs.lossless_adc_bits))


def exactness(n_layers: int, seed: int = 2024) -> dict:
    from accelsim.formats import binary, fixed, flexpoint
    from accelsim.mapping.crossbar import weight_encoding
    from accelsim.sim.crossbar_func import CrossbarKernels
    rng = np.random.default_rng(seed)
    layers = cases = mismatches = 0
    t0 = time.perf_counter()
    while layers < n_layers:
        try:
            spec, xshape, wshape = random_layer(rng)
        except ValueError:
            continue
        kind, bits = KINDS[layers % len(KINDS)]
        xs = random_crossbar(rng, 0)
        enc = weight_encoding(kind, bits, xs)
        if enc.columns_per_weight + enc.reference_columns > xs.cols or xs.lossless_adc_bits > 16:
            continue
        if kind in ("ternary", "binary", "xnor") and spec.transposed and spec.groups > 1:
            continue
        bias = rng.integers(-1000, 1000, wshape[1] * spec.groups if spec.transposed else wshape[0])
        if kind == "xnor":
            x = np.where(rng.random(xshape) < 0.5, -1, 1).astype(np.int8)
            w = np.where(rng.random(wshape) < 0.5, -1, 1).astype(np.int8)
            golden = binary.conv_xnor(x, w, bias, spec)
            run = lambda K: K.conv_xnor(x, w, bias=bias, spec=spec)  # noqa: E731
        elif kind == "flex":
            xm, xe = flexpoint.to_flex(rng.standard_normal(xshape) * 4)
            wm, we = flexpoint.to_flex(rng.standard_normal(wshape))
            golden = flexpoint.conv_flex(xm, xe, wm, we, None, spec)
            run = lambda K: K.conv_flex(xm, xe, wm, we, bias=None, spec=spec)  # noqa: E731
        else:
            w = rng.integers(enc.code_min, enc.code_max + 1, wshape)
            if kind == "binary":
                w = np.where(w >= 0, 1, -1)
            x_bits, x_signed = int(rng.integers(1, 17)), bool(rng.random() < 0.5)
            x_bits = max(x_bits, 2) if x_signed else x_bits
            f = fixed.IntFormat(x_bits, x_signed)
            x = rng.integers(f.qmin, f.qmax + 1, xshape)
            zp = int(rng.integers(f.qmin, f.qmax + 1))
            golden = fixed.conv_accumulate(x, zp, w, bias, spec)
            run = lambda K: K.conv_int(x, w, x_bits=x_bits, x_signed=x_signed, x_zero_point=zp,  # noqa: E731
                                       w_kind=kind, w_bits=bits, bias=bias, spec=spec)
        for lowering in ("zero_insert", "phase", "scatter") if spec.transposed else ("phase",):
            got = run(CrossbarKernels(xs, lowering, compare=False))
            same = (all(np.array_equal(a, b) for a, b in zip(got, golden)) if kind == "flex"
                    else np.array_equal(got, golden))
            mismatches += not same
            cases += 1
        layers += 1
    return {"layers": layers, "cases": cases, "mismatches": mismatches, "seconds": time.perf_counter() - t0}


def energies() -> list[dict]:
    from accelsim.api import simulate
    rows = []
    for fmt in ("binary", "ternary", "int4", "int8", "flex16"):
        digital = simulate("dcgan-64", "edge-npu", fmt)
        row = {"format": fmt, "edge-npu_uj": digital.energy_per_image_uj, "edge-npu_latency_us": digital.latency_us}
        for arch in ("isaac-like", "neurosim-like"):
            r = simulate("dcgan-64", arch, fmt)
            s = r.crossbar_summary()
            row |= {f"{arch}_uj": r.energy_per_image_uj, f"{arch}_adc_share": s["adc_share"],
                    f"{arch}_latency_us": r.latency_us, f"{arch}_crossbars": s["crossbars"],
                    f"{arch}_fits": s["weights_fit_on_chip"], f"{arch}_programming_uj": s["programming_energy_uj"]}
        rows.append(row)
    return rows


def functional_time(repeat: int = 3) -> dict:
    from accelsim.arch import load_arch
    from accelsim.formats.conv import ConvSpec
    from accelsim.sim.crossbar_func import CrossbarKernels
    from accelsim.workload import get_model
    rng = np.random.default_rng(0)
    layers = get_model("dcgan-64").layers
    weights = [rng.integers(-127, 128, (l.in_channels, l.out_channels) + l.kernel_hw).astype(np.int8) for l in layers]
    specs = [ConvSpec.make(stride=l.stride_hw, padding=l.padding_hw, transposed=True) for l in layers]
    out = {}
    for lowering in ("phase", "scatter", "zero_insert"):
        kern = CrossbarKernels(load_arch("isaac-like").crossbar, lowering, compare=False)
        kern.conv_int(np.zeros((1, 100, 1, 1), np.int8), weights[0], x_bits=8, x_signed=True, x_zero_point=0,
                      spec=specs[0])     # compile the numba kernel
        best = float("inf")
        for _ in range(repeat):
            x, zp = rng.integers(-127, 128, (1, 100, 1, 1)).astype(np.int8), 0
            t0 = time.perf_counter()
            for w, sp in zip(weights, specs):
                acc = kern.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=zp, spec=sp)
                x = np.clip(acc >> 12, -128, 127).astype(np.int8)     # stand-in requantization (ReLU codes)
                zp = -128
                x = np.maximum(x, zp).astype(np.int8)
            best = min(best, time.perf_counter() - t0)
        out[lowering] = best
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=500)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()

    ex = exactness(args.layers)
    print(f"1. functional model vs golden, lossless ADC: {ex['mismatches']} mismatches in {ex['cases']} cases "
          f"({ex['layers']} random layers, every lowering) in {ex['seconds']:.1f} s")
    rows = energies()
    print("\n2. DCGAN-64, energy per image (uJ), ADC share of the energy, latency (us):")
    print(f"{'format':<8} {'edge-npu':>9} {'isaac-like':>11} {'ADC %':>6} {'lat us':>8} {'neurosim-like':>14} "
          f"{'ADC %':>6} {'lat us':>8}  edge lat us")
    for r in rows:
        print(f"{r['format']:<8} {r['edge-npu_uj']:>9.2f} {r['isaac-like_uj']:>11.2f} "
              f"{100 * r['isaac-like_adc_share']:>6.1f} {r['isaac-like_latency_us']:>8.1f} "
              f"{r['neurosim-like_uj']:>14.2f} "
              f"{100 * r['neurosim-like_adc_share']:>6.1f} {r['neurosim-like_latency_us']:>8.1f}  "
              f"{r['edge-npu_latency_us']:.1f}" + ("" if r["neurosim-like_fits"] else "  (neurosim-like: reloads)"))
    ft = functional_time()
    print("\n3. functional model, one DCGAN-64 image (5 layers, int8, isaac-like): "
          + ", ".join(f"{k} {v:.3f} s" for k, v in ft.items()) + " (target <= 2 s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"exactness": ex, "dcgan64_energy": rows, "functional_time_s": ft}, f, indent=1)
    return 1 if ex["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
