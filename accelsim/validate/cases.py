"""Random bit-exactness cases: the C++ kernels against the golden model, every format, requantization
mode, activation, conv2d and conv_transpose2d, on every SIMD path this machine supports.

A case draws a random geometry (batch, channels, groups, kernel, stride, padding, output_padding,
dilation), random codes (with a share of extreme cases: saturated inputs, zero points at the range
ends, all-zero weight channels) and random requantization parameters, runs both implementations and
compares values and dtypes exactly. A transposed convolution's golden accumulators are computed in
both golden lowerings, the scatter form (the reference) and the zero-insertion gather form
(``accelsim.formats.conv``), which must agree exactly too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim import kernels
from accelsim.errors import FormatError
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec, conv_transpose2d_gather
from accelsim.formats.flexpoint import flex_output
from accelsim.formats.requant import activation_lut, quantize_multiplier

# format name -> (activation bits, weight kind, weight bits)
INT_FORMATS = {
    "int8": (8, "fixed", 8),
    "int4": (4, "fixed", 4),
    "int16": (16, "fixed", 16),
    "ternary": (8, "ternary", 2),
    "binary_w_int8_a": (8, "binary", 2),
    # every other width the kernels take (issue 13: widths 2..16, mixed weight/activation bits)
    "w2a2": (2, "ternary", 2), "w3a3": (3, "fixed", 3), "w4a8": (8, "fixed", 4), "w5a6": (6, "fixed", 5),
    "w7a7": (7, "fixed", 7), "w8a12": (12, "fixed", 8), "w12a10": (10, "fixed", 12), "w2a4": (4, "ternary", 2),
    "w1a5": (5, "binary", 2),
}
FORMATS = tuple(INT_FORMATS) + ("binary", "flex16")
# The remaining widths (validate --space wide): with FORMATS every activation width 2..16 and every
# weight width 2..16 occurs at least once.
WIDE_INT_FORMATS = {"w6a9": (9, "fixed", 6), "w9a11": (11, "fixed", 9), "w10a13": (13, "fixed", 10),
                    "w11a14": (14, "fixed", 11), "w13a15": (15, "fixed", 13), "w14a16": (16, "fixed", 14),
                    "w15a15": (15, "fixed", 15), "w16a2": (2, "fixed", 16)}
INT_FORMATS.update(WIDE_INT_FORMATS)
ALL_FORMATS = FORMATS + tuple(WIDE_INT_FORMATS)   # FORMATS first: the index of each stays as it was
# Case spaces. "default": one case in five large (up to 256 channels per group, K up to 4,096), small
# images, groups 1-3. "wide" (validate --space wide; ~4x slower per case): one case in two large,
# groups up to 4, images up to 9x9 (odd sizes), batch up to 3; the wide widths by default.
SPACES = {"default": dict(large_share=0.2, groups=(1, 1, 1, 2, 3), max_hw=6, max_n=2, large_hw=5),
          "wide": dict(large_share=0.5, groups=(1, 1, 2, 3, 4), max_hw=9, max_n=3, large_hw=7)}
LOWERINGS = ("scatter", "gather")   # golden forms of conv_transpose2d: the reference, and the cross-check


@dataclass
class CaseResult:
    """One case: the worst |C++ - golden| over the ISAs (-1: a shape, dtype, or refusal differs), the
    ISAs that differed, whether the two golden lowerings disagreed, and a description to reproduce it."""
    worst: int = 0
    bad_isas: list = field(default_factory=list)
    lowering_mismatch: bool = False
    desc: str = ""

    def add(self, isa: str, d: int) -> None:
        if d != 0 and isa not in self.bad_isas:
            self.bad_isas.append(isa)
        self.worst = -1 if -1 in (d, self.worst) else max(self.worst, d)


def _gather_acc(x, zero_point: int, w, bias, spec: ConvSpec) -> np.ndarray:
    """Golden int64 accumulators of a transposed convolution in the zero-insertion (gather) form."""
    acc = conv_transpose2d_gather(np.asarray(x, np.int64) - int(zero_point), np.asarray(w, np.int64), spec)
    if bias is not None:
        acc += np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
    return acc


LARGE_SHARE = 0.2    # cases with up to 256 channels per group and reductions up to 4,096 taps
DYADIC_SHARE = 1 / 3   # requantization cases with power-of-two multipliers: exact rounding ties
FLEX_TIE_SHARE = 0.3   # flex cases with small mantissas and an output shift of 1..3: exact rounding ties


def random_spec(rng: np.random.Generator, max_hw: int | None = None, space: str = "default"
                ) -> tuple[ConvSpec, tuple, tuple]:
    """A valid random geometry: (spec, x_shape, w_shape) of the case space ``space`` (``SPACES``). A
    share of the cases is large (channels per group up to 256, reduction K = Cin/g * KH * KW up to
    4,096, odd spatial sizes) so the kernels' blocked loops and vector tails are reached; the rest are
    small and dense in corner cases."""
    sp = SPACES[space]
    max_hw = sp["max_hw"] if max_hw is None else max_hw
    while True:
        transposed = bool(rng.random() < 0.7)
        groups = int(rng.choice(sp["groups"]))
        large = bool(rng.random() < (LARGE_SHARE if space == "default" else sp["large_share"]))
        hw = max_hw
        if large:
            kh, kw = (int(v) for v in rng.integers(1, 5, 2))
            cin_g = int(rng.integers(17, min(256, 4096 // (kh * kw)) + 1))
            cin, cout = groups * cin_g, groups * int(rng.integers(1, 41))
            hw = sp["large_hw"]
        else:
            cin = groups * int(rng.integers(1, 6))
            cout = groups * int(rng.integers(1, 6))
            kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.integers(1, 5, 2))
        dilation = tuple(int(v) for v in rng.choice([1, 1, 2], 2))
        padding = tuple(int(v) for v in rng.integers(0, 4, 2))
        out_pad = tuple(int(rng.integers(0, max(s, d))) if transposed else 0 for s, d in zip(stride, dilation))
        n = int(rng.integers(1, sp["max_n"] + 1))
        h, w = (int(v) for v in rng.integers(1, hw + 1, 2))
        x_shape = (n, cin, h, w)
        w_shape = (cin, cout // groups, kh, kw) if transposed else (cout, cin // groups, kh, kw)
        try:
            spec = ConvSpec.make(stride, padding, out_pad, dilation, groups, transposed)
            spec.check_shapes(x_shape, w_shape)
        except ValueError:
            continue
        return spec, x_shape, w_shape


def _codes(rng, shape, lo, hi, dtype, extreme: bool):
    if extreme:
        choice = rng.integers(0, 3)
        if choice == 0:
            return np.full(shape, hi, dtype=dtype)
        if choice == 1:
            return np.full(shape, lo, dtype=dtype)
        return rng.choice(np.array([lo, hi], dtype=np.int64), size=shape).astype(dtype)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def _requant_args(rng, acc, out_bits, out_signed):
    """Random requantization: mode, per-tensor/channel parameters, zero point, activation."""
    c = acc.shape[1]
    lo = -(1 << (out_bits - 1)) if out_signed else 0
    hi = (1 << (out_bits - 1)) - 1 if out_signed else (1 << out_bits) - 1
    zp = int(rng.choice([lo, hi, 0 if out_signed else lo, int(rng.integers(lo, hi + 1))]))
    nparam = c if rng.random() < 0.5 else 1
    amax = max(1, int(np.abs(acc).max()) if acc.size else 1)
    act_kind = rng.choice(["none", "relu", "lut"])
    if act_kind == "lut":
        if rng.random() < 0.5:
            act = activation_lut("tanh", 4.0 / (hi - lo + 1), zp, lo, hi, 2.0 / (hi - lo + 1), 0 if out_signed else (hi + 1) // 2, lo, hi)
        else:
            act = rng.integers(lo, hi + 1, size=hi - lo + 1)
        act = act.astype(np.int32)
    else:
        act = str(act_kind)
    common = dict(zero_point=zp, out_bits=out_bits, out_signed=out_signed, act=act)
    # One case in three has dyadic multipliers (2^-k or 3 * 2^-k; torch mode: half-integer biases too),
    # so products land exactly on rounding ties: the tie rules of both modes are then decided by the data.
    dyadic = bool(rng.random() < DYADIC_SHARE)
    k0 = int(np.round(np.log2(amax / (hi - lo))))

    def dyadic_reals():
        return np.ldexp(rng.choice([1.0, 1.0, 3.0], nparam), -(k0 + rng.integers(-1, 4, nparam)))

    if rng.random() < 0.6:
        reals = dyadic_reals() if dyadic else (hi - lo) / amax * np.exp(rng.uniform(-2, 2, nparam))
        if rng.random() < 0.1:
            reals[0] = 0.0
        params = [quantize_multiplier(float(r)) for r in reals]
        m0 = np.array([p[0] for p in params], np.int64)
        sh = np.array([p[1] for p in params], np.int64)
        return "integer", (acc, m0, sh), common
    if dyadic:
        mult = dyadic_reals().astype(np.float32)
        bias = (rng.integers(-2 * amax, 2 * amax + 1, nparam) / 2).astype(np.float32)   # k/2: exact in float32
    else:
        mult = ((hi - lo) / amax * np.exp(rng.uniform(-2, 2, nparam))).astype(np.float32)
        bias = rng.normal(0, amax / 4, nparam).astype(np.float32)
        if rng.random() < 0.5:   # fbgemm's per-tensor form: fma(bias, k, acc) with k = 1 / (s_x s_w)
            k = np.float32(np.exp(rng.uniform(2, 12)))
            return "torch", (acc, (bias / k).astype(np.float32), mult), dict(common, bias_mul_f32=k)
    return "torch", (acc, bias, mult), common


def _compare(a, b) -> int:
    """Max |difference|, or -1 if shapes/dtypes differ."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return -1
    if a.size == 0:
        return 0
    return int(np.max(np.abs(a.astype(np.int64) - b.astype(np.int64))))


def run_case(fmt: str, rng: np.random.Generator, isas: list[str]) -> tuple[int, str]:
    """One random case of ``fmt`` on every ISA; returns (max |diff| or -1, description)."""
    r = check_case(fmt, rng, isas)
    return (-1 if r.lowering_mismatch else r.worst), r.desc


def check_case(fmt: str, rng: np.random.Generator, isas: list[str], lowerings=LOWERINGS,
               space: str = "default") -> CaseResult:
    """One random case of ``fmt``: C++ on every ISA against the golden model; for a transposed
    convolution with ``"gather"`` in ``lowerings``, the gather-form golden accumulators too."""
    spec, xs, ws = random_spec(rng, space=space)
    extreme = rng.random() < 0.2
    res = CaseResult(desc=f"{fmt} x{xs} w{ws} {spec}")
    gather = spec.transposed and "gather" in lowerings
    if fmt in INT_FORMATS:
        xb, wk, wb = INT_FORMATS[fmt]
        signed = bool(rng.random() < 0.5)
        lo, hi = (-(1 << (xb - 1)), (1 << (xb - 1)) - 1) if signed else (0, (1 << xb) - 1)
        dt = (np.int8 if xb <= 8 else np.int16) if signed else (np.uint8 if xb <= 8 else np.uint16)
        x = _codes(rng, xs, lo, hi, dt, extreme)
        wlo, whi = reference.weight_code_range(wk, wb)
        w = _codes(rng, ws, wlo, whi, np.int8 if wb <= 8 else np.int16, extreme)
        if wk == "binary":
            w[w == 0] = 1
        if rng.random() < 0.2 and wk != "binary":  # an all-zero output channel
            if spec.transposed:
                w[:, 0] = 0
            else:
                w[0] = 0
        zx = int(rng.choice([lo, hi, int(rng.integers(lo, hi + 1))]))
        cout = ws[1] * spec.groups if spec.transposed else ws[0]
        r = rng.random()
        if r < 0.5:
            bias = rng.integers(-(1 << 20), 1 << 20, cout).astype(np.int32)
        elif r < 0.7:  # int64 bias (16-bit formats need it), sometimes beyond int32
            bias = rng.integers(-(1 << 40), 1 << 40, cout).astype(np.int64)
        else:
            bias = None
        args = dict(x_bits=xb, x_signed=signed, x_zero_point=zx, w_kind=wk, w_bits=wb, bias=bias, spec=spec)
        ref = reference.conv_int(x, w, **args)
        out_bits = int(rng.choice([xb, 8])) if xb <= 8 else 16
        out_signed = bool(rng.random() < 0.5)
        mode, rargs, common = _requant_args(rng, ref, out_bits, out_signed)
        req = reference.requantize_integer if mode == "integer" else reference.requantize_torch
        ref_q = req(*rargs, **common)
        if gather and not np.array_equal(_gather_acc(x, zx, w, bias, spec), ref.astype(np.int64)):
            res.lowering_mismatch = True
        for isa in isas:
            with kernels.use_isa(isa):
                got = kernels.conv_int(x, w, **args)
                d = _compare(got, ref)
                cpp_req = kernels.requantize_integer if mode == "integer" else kernels.requantize_torch
                dq = _compare(cpp_req(*rargs, **common), ref_q)
            res.add(isa, -1 if -1 in (d, dq) else max(d, dq))
        res.desc += f" x_bits={xb} signed={signed} zx={zx} requant={mode}"
    elif fmt == "binary":
        x = np.where(rng.random(xs) < 0.5, 1, -1).astype(np.int8)
        w = np.where(rng.random(ws) < 0.5, 1, -1).astype(np.int8)
        if extreme:
            x[:] = 1
        cout = ws[1] * spec.groups if spec.transposed else ws[0]
        bias = rng.integers(-1000, 1000, cout).astype(np.int32) if rng.random() < 0.5 else None
        ref = reference.conv_xnor(x, w, bias=bias, spec=spec)
        if gather and not np.array_equal(_gather_acc(x, 0, w, bias, spec), ref.astype(np.int64)):
            res.lowering_mismatch = True
        for isa in isas:
            with kernels.use_isa(isa):
                res.add(isa, _compare(kernels.conv_xnor(x, w, bias=bias, spec=spec), ref))
    elif fmt == "flex16":
        cout = ws[1] * spec.groups if spec.transposed else ws[0]
        if rng.random() < FLEX_TIE_SHARE:   # small mantissas, output exponent 1..3 above e_acc: ties
            xm = _codes(rng, xs, -8, 8, np.int16, extreme)
            wm = _codes(rng, ws, -8, 8, np.int16, extreme)
            ex, ew = -16, int(rng.integers(-3, 0))    # e_acc in [-19, -17]: dynamic e_out = -16, shift 1..3
            bias = rng.integers(-64, 65, cout).astype(np.int64) if rng.random() < 0.5 else None
            out_exp = None if rng.random() < 0.5 else ex + ew + int(rng.integers(1, 4))
        else:
            xm = _codes(rng, xs, -32768, 32767, np.int16, extreme)
            wm = _codes(rng, ws, -32768, 32767, np.int16, extreme)
            ex, ew = (int(v) for v in rng.integers(-16, 16, 2))
            bias = rng.integers(-(1 << 40), 1 << 40, cout).astype(np.int64) if rng.random() < 0.5 else None
            out_exp = None if rng.random() < 0.5 else int(rng.integers(-16, 16))
        try:
            ref = reference.conv_flex(xm, ex, wm, ew, bias=bias, spec=spec, out_exp=out_exp)
        except ValueError as exc:  # dynamic overflow: the C++ kernel must refuse too
            ref = exc
        if gather:
            try:
                alt = flex_output(_gather_acc(xm, 0, wm, bias, spec), ex + ew, out_exp)
            except ValueError as exc:
                alt = exc
            if isinstance(alt, Exception) != isinstance(ref, Exception) or not isinstance(ref, Exception) and (
                    not np.array_equal(alt[0], ref[0]) or tuple(alt[1:]) != tuple(ref[1:])):
                res.lowering_mismatch = True
        for isa in isas:
            with kernels.use_isa(isa):
                try:
                    got = kernels.conv_flex(xm, ex, wm, ew, bias=bias, spec=spec, out_exp=out_exp)
                except ValueError as exc:
                    got = exc
            if isinstance(ref, Exception) or isinstance(got, Exception):
                d = 0 if (isinstance(ref, Exception) and isinstance(got, Exception)) else -1
            else:
                d = _compare(got[0], ref[0])
                if got[1:] != tuple(ref[1:]):
                    d = -1
            res.add(isa, d)
        res.desc += f" exps=({ex},{ew}) out_exp={out_exp}"
    else:
        raise FormatError(f"unknown format {fmt!r}; choose from {ALL_FORMATS}")
    if res.lowering_mismatch:
        res.desc += " [golden scatter != gather]"
    if res.bad_isas:
        res.desc += f" [C++ differs on {','.join(res.bad_isas)}]"
    return res
