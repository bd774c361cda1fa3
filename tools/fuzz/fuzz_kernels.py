"""Fuzz the C++ kernels (accelsim.kernels) against the golden model (accelsim.formats.reference).

Every call either returns exactly what the golden model returns (values, dtype, shape; flexpoint's
exponent and counters too) or raises a clean ValueError/TypeError; it never crashes, hangs, writes
its inputs, or accepts an input the golden model rejects. Inputs: random geometries (zero-size and
huge dimensions, strides, paddings, output_padding, dilation, groups, unvalidated ConvSpecs), dtypes,
non-contiguous / Fortran / read-only / non-array operands, bit widths, zero points, exponents, biases,
requantization parameters, lookup tables and sign packing, on every ISA this machine supports.

usage: python tools/fuzz/fuzz_kernels.py --seconds 120     (summary: fuzz-out/kernels/summary.json)
"""
from __future__ import annotations

import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from draw import Draw, Skip, codes  # noqa: E402
from harness import COUNTS, Finding, main  # noqa: E402

K = R = ConvSpec = ISAS = None
CLEAN = (ValueError, TypeError)
MAX_GOLDEN_MACS = 400_000      # golden model runs only on cases this small (it is numpy, written for clarity)
MAX_CPP_MACS = 30_000_000      # valid cases above this are skipped (legitimately slow, not a bug)


def setup() -> None:
    global K, R, ConvSpec, ISAS
    from accelsim import kernels
    from accelsim.formats import reference
    from accelsim.formats.conv import ConvSpec as CS
    K, R, ConvSpec, ISAS = kernels, reference, CS, kernels.available_isas()


def spec_and_shapes(d: Draw):
    transposed = d.bool()
    groups = d.int(1, 3)
    pair = lambda lo, hi: (d.int(lo, hi), d.int(lo, hi)) if d.bool() else (d.int(lo, hi),) * 2  # noqa: E731
    stride, padding, dilation = pair(1, 4), pair(0, 3), pair(1, 3)
    if not transposed:
        outpad = (0, 0) if not d.chance(10) else pair(0, 2)
    elif d.wild:
        outpad = pair(0, 3)
    else:   # valid: output_padding < max(stride, dilation)
        outpad = tuple(d.int(0, max(1, max(s, dl)) - 1, 0) if isinstance(s, int) and isinstance(dl, int) and s > 0
                       and dl > 0 and max(s, dl) < 64 else 0 for s, dl in zip(stride, dilation))
    try:
        spec = ConvSpec.make(stride, padding, outpad, dilation, groups, transposed)
    except (ValueError, TypeError, OverflowError):
        if not d.chance(3):
            raise Skip()
        spec = ConvSpec(stride, padding, outpad, dilation, groups, transposed)   # unvalidated on purpose
    g = max(1, min(groups, 8)) if isinstance(groups, int) else 1
    cin, cout = g * d.int(1, 4, 20), g * d.int(1, 4, 20)
    if d.chance(15):
        cin += 1
    n, h, w = d.int(1, 2, 20), d.int(1, 6), d.int(1, 6)
    kh, kw = d.int(1, 4), d.int(1, 4)
    x_shape = [n, cin, h, w]
    w_shape = [cin, cout // g, kh, kw] if transposed else [cout, cin // g, kh, kw]
    if d.chance(25):
        (x_shape if d.bool() else w_shape).pop()   # wrong rank
    if d.chance(25):
        x_shape[d.int(0, len(x_shape) - 1, 0)] = d.pick([0, -1, (1 << 24) + 1, 1 << 31])
    return spec, x_shape, w_shape


def cost(spec, x_shape, w_shape):
    """(macs, expect_reject) as the golden model sees the geometry; expect_reject when it is invalid or
    beyond the kernels' documented limits (dims <= 2^24, output < 2^40 elements)."""
    try:
        spec.validate()
        n, cout, oh, ow = spec.check_shapes(tuple(x_shape), tuple(w_shape))
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return 0, True
    if max(list(x_shape) + list(w_shape) + [oh, ow]) > (1 << 24) or n * cout * oh * ow > (1 << 40):
        return 0, True
    taps = (w_shape[0] // spec.groups if spec.transposed else w_shape[1]) * w_shape[2] * w_shape[3]
    return n * cout * oh * ow * taps + n * cout * oh * ow, False


def run(fn, *args, **kw):
    try:
        return True, fn(*args, **kw)
    except CLEAN as exc:
        return False, exc
    except Skip:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise Finding("unclean-exception", f"{fn.__module__}.{fn.__name__}: {type(exc).__name__}: {exc}",
                      f"unclean {fn.__module__}.{fn.__name__} {type(exc).__name__}: {str(exc)[:60]}") from exc


def snapshot(*arrays):
    """Bytes of the (not huge) array arguments, to check the kernels never write their inputs."""
    return [a.tobytes() if isinstance(a, np.ndarray) and a.size <= (1 << 22) else None for a in arrays]


def compare(name: str, got, ref, desc: str) -> None:
    if isinstance(got, tuple):
        if not isinstance(ref, tuple) or len(got) != len(ref):
            raise Finding("wrong-answer", f"{name}: result {type(got).__name__} vs golden {type(ref).__name__}; {desc}")
        compare(name, got[0], ref[0], desc)
        if tuple(int(v) for v in got[1:]) != tuple(int(v) for v in ref[1:]):
            raise Finding("wrong-answer",
                          f"{name}: (exp, overflows, acc_max) {got[1:]} != golden {tuple(ref[1:])}; {desc}",
                          f"{name} flex meta")
        return
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape or got.dtype != ref.dtype:
        raise Finding("wrong-answer", f"{name}: shape/dtype {got.shape} {got.dtype} != golden {ref.shape} "
                      f"{ref.dtype}; {desc}", f"{name} shape/dtype {got.dtype} vs {ref.dtype}")
    if not np.array_equal(got, ref):
        i = int(np.flatnonzero(got != ref)[0])
        raise Finding("wrong-answer", f"{name}: element {i}: {got.flat[i]} != golden {ref.flat[i]}; {desc}",
                      f"{name} values")


def oracle(name: str, cpp_fn, ref_fn, args: tuple, kw: dict, desc: str, golden: bool) -> None:
    """Run the C++ kernel on a random ISA; check cleanliness, inputs untouched, and equality with golden."""
    before = snapshot(*args, *[v for v in kw.values() if isinstance(v, np.ndarray)])
    isa = ISAS[len(desc) % len(ISAS)]
    K.set_num_threads(1 + len(desc) % 2)
    with K.use_isa(isa):
        ok, got = run(cpp_fn, *args, **kw)
    after = snapshot(*args, *[v for v in kw.values() if isinstance(v, np.ndarray)])
    for b, a in zip(before, after):
        if b is not None and a != b:
            raise Finding("input-modified", f"{name} wrote into an input; {desc}", f"{name} input modified")
    if not golden:
        COUNTS[f"{name}: C++ {'ran' if ok else 'rejected'} (no golden: large or invalid)"] += 1
        return
    rok, ref = run(ref_fn, *args, **kw)
    COUNTS[f"{name}: " + ("equal to golden" if ok and rok else "both rejected" if not (ok or rok) else
                         "C++ rejected, golden accepted" if rok else "C++ accepted, golden rejected")] += 1
    if rok and not ok:   # the kernels are stricter than the golden model (dtypes, layout, limits): tally why
        COUNTS[f"  why C++ rejected: {re.sub(r'[-0-9]+', 'N', str(got))[:70]}"] += 1
    if ok and not rok:
        raise Finding("accepts-invalid", f"{name}: C++ returned a result, golden raised "
                      f"{type(ref).__name__}: {ref}; {desc}", f"{name} accepts: {str(ref)[:50]}")
    if ok and rok:
        compare(name, got, ref, desc)


def fuzz_conv(d: Draw, which: str) -> None:
    spec, xs, ws = spec_and_shapes(d)
    macs, reject = cost(spec, xs, ws)
    if not reject and macs > MAX_CPP_MACS:
        raise Skip()
    golden = not reject and macs <= MAX_GOLDEN_MACS
    cout = (ws[1] * spec.groups if spec.transposed else ws[0]) if len(ws) == 4 and isinstance(spec.groups, int) else 1
    if not 0 <= cout <= 4096:   # a bias for an absurd geometry: any small length will do
        cout = d.int(0, 8, 0)
    if which == "conv_int":
        x_bits = d.int(1, 16)
        signed = d.bool()
        lo, hi = ((-(1 << (x_bits - 1)), (1 << (x_bits - 1)) - 1) if signed else (0, (1 << x_bits) - 1)) \
            if 1 <= x_bits <= 16 else (-4, 4)
        dt = d.pick([np.int8, np.uint8, np.int16, np.uint16, np.int32, np.float32]) if d.chance(15) else \
            ((np.int8 if signed else np.uint8) if x_bits <= 8 else (np.int16 if signed else np.uint16))
        info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else None
        clip = (lambda v: int(np.clip(v, info.min, info.max))) if info else (lambda v: v)  # noqa: E731
        x = codes(d, xs, clip(lo), clip(hi), dt, clip(lo - 1), clip(hi + 1))
        w_kind = d.pick(["fixed", "fixed", "ternary", "binary"]) if not d.chance(40) else "quaternary"
        w_bits = d.int(2, 16) if w_kind == "fixed" else d.pick([2, 2, 8, 1, 17])
        wlo, whi = (-(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1) if 2 <= w_bits <= 16 else (-1, 1)
        if w_kind in ("ternary", "binary"):
            wlo, whi = -1, 1
        wdt = np.int8 if w_bits <= 8 else np.int16
        w = codes(d, ws, wlo, whi, wdt, wlo - 1 if wlo > -128 else None, whi + 1 if whi < 127 else None)
        if w_kind == "binary" and isinstance(w, np.ndarray) and w.flags.writeable and not d.chance(10):
            w[w == 0] = 1
        zp = d.int(lo, hi) if not d.chance(20) else d.pick([lo - 1, hi + 1, 1 << 31, 1 << 40])
        bias = None
        if d.bool():
            bdt = d.pick([np.int32, np.int32, np.int64, np.int64, np.float32, np.int16])
            mag = d.pick([1 << 8, 1 << 20, 1 << 31, 1 << 40, 1 << 62])
            bias = d.rng.integers(-mag, mag, size=cout + (1 if d.chance(20) else 0)).astype(bdt)
        kw = dict(x_bits=x_bits, x_signed=signed, x_zero_point=zp, w_kind=w_kind, w_bits=w_bits, bias=bias, spec=spec)
        desc = f"conv_int x{xs} w{ws} {spec} x_bits={x_bits} signed={signed} zp={zp} {w_kind}{w_bits}"
        oracle("conv_int", K.conv_int, R.conv_int, (x, w), kw, desc, golden)
    elif which == "conv_xnor":
        x = codes(d, xs, -1, 1, np.int8, None, 2)
        w = codes(d, ws, -1, 1, np.int8, None, 2)
        for a in (x, w):
            if isinstance(a, np.ndarray) and a.flags.writeable and not d.chance(8):
                a[a == 0] = 1
        bias = d.rng.integers(-1000, 1000, cout).astype(d.pick([np.int32, np.int32, np.int64])) if d.bool() else None
        oracle("conv_xnor", K.conv_xnor, R.conv_xnor, (x, w), dict(bias=bias, spec=spec),
               f"conv_xnor x{xs} w{ws} {spec}", golden)
    else:
        dt = np.int16 if not d.chance(15) else d.pick([np.int8, np.int32, np.uint16])
        xm = codes(d, xs, -32768, 32767, dt)
        wm = codes(d, ws, -32768, 32767, dt)
        ex, ew = d.int(-16, 15), d.int(-16, 15)
        out_exp = None if d.bool() else d.int(-16, 15)
        bias = None
        if d.bool():
            mag = d.pick([1 << 20, 1 << 40, 1 << 61, 1 << 62])
            bias = d.rng.integers(-mag, mag, cout).astype(np.int64 if not d.chance(10) else np.int32)
        desc = f"conv_flex x{xs} w{ws} {spec} exps=({ex},{ew}) out_exp={out_exp}"
        oracle("conv_flex", K.conv_flex, R.conv_flex, (xm, ex, wm, ew), dict(bias=bias, spec=spec, out_exp=out_exp),
               desc, golden)


def fuzz_requant(d: Draw, mode: str) -> None:
    rank = d.int(1, 4, edge=0) if not d.chance(15) else d.pick([0, 5])
    shape = tuple(d.int(0, 4, 25) if i else d.int(1, 2, 25) for i in range(rank))
    if np.prod([max(abs(s), 1) for s in shape], dtype=float) > 512:
        raise Skip()
    adt = d.pick([np.int32, np.int32, np.int64, np.int64]) if not d.chance(15) else d.pick([np.int16, np.float32])
    mag = d.pick([1 << 8, 1 << 16, 1 << 31, 1 << 40, 1 << 62, 1 << 63]) if np.dtype(adt).kind == "i" else 100
    lim = np.iinfo(adt).max if np.dtype(adt).kind == "i" else 100
    acc = codes(d, shape, -min(mag, lim), min(mag, lim), adt)
    nch = (shape[1] if rank > 1 else shape[0]) if rank else 1
    count = 1 if d.bool() else nch + (d.pick([1, -1]) if d.chance(12) else 0)
    count = max(count, 0)
    out_bits = d.int(1, 16)
    signed = d.bool()
    qlo, qhi = ((-(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1) if signed else (0, (1 << out_bits) - 1)) \
        if 1 <= out_bits <= 16 else (0, 1)
    zp = d.int(qlo, qhi) if not d.chance(20) else d.pick([qlo - 1, qhi + 1, 1 << 33])
    act = d.pick(["none", "relu", "lut", "lut", "gelu"])
    if act == "lut":
        size = (qhi - qlo + 1) + (d.pick([1, -1]) if d.chance(10) else 0)
        act = d.rng.integers(qlo, qhi + 1, max(size, 0)).astype(d.pick([np.int32, np.int32, np.int64, np.float64]))
        if act.size and d.chance(10):
            act[0] = qhi + 1
    common = dict(zero_point=zp, out_bits=out_bits, out_signed=signed, act=act)
    desc = f"requantize_{mode} acc{shape} {np.dtype(adt)} count={count} out_bits={out_bits} signed={signed} zp={zp}"
    if mode == "integer":
        m0 = [d.pick([0, 1 << 30, (1 << 31) - 1, int(d.rng.integers(1 << 30, 1 << 31)), 5, 1 << 31, -1])
              if d.chance(4) else int(d.rng.integers(1 << 30, 1 << 31)) for _ in range(count)]
        shift = [d.int(-31, 62, 10) for _ in range(count)]
        args = (acc, m0, shift)   # lists: an edge value may not fit int64
        oracle("requantize_integer", K.requantize_integer, R.requantize_integer, args, common, desc, True)
    else:
        mult = d.rng.uniform(0, 4, count).astype(np.float32)
        bias = d.rng.normal(0, 1000, count).astype(np.float32)
        if count and d.chance(10):
            (mult if d.bool() else bias)[0] = d.pick([np.nan, np.inf, -1.0, 1e31])
        oracle("requantize_torch", K.requantize_torch, R.requantize_torch, (acc, bias, mult), common, desc, True)


def fuzz_pack(d: Draw) -> None:
    from accelsim.formats import binary
    shape = tuple(d.int(0, 130, 20) for _ in range(d.int(0, 3, 0)))
    if np.prod([max(abs(s), 1) for s in shape], dtype=float) > 1 << 16:
        raise Skip()
    a = codes(d, shape, -1, 1, np.int8 if not d.chance(10) else np.int16, None, 3)
    if isinstance(a, np.ndarray) and a.flags.writeable and not d.chance(8):
        a[a == 0] = 1
    oracle("pack_signs", K.pack_signs, binary.pack_signs, (a,), {}, f"pack_signs {shape}", True)


def check(data: bytes) -> None:
    d = Draw(data)
    which = d.pick(["conv_int", "conv_int", "conv_xnor", "conv_flex", "requantize_integer", "requantize_torch",
                    "pack_signs"])
    try:
        if which.startswith("conv"):
            fuzz_conv(d, which)
        elif which.startswith("requantize"):
            fuzz_requant(d, which.split("_")[1])
        else:
            fuzz_pack(d)
    except Skip:
        COUNTS["skipped (legitimately large or uninteresting)"] += 1
        return


if __name__ == "__main__":
    sys.exit(main("kernels", setup, check))
