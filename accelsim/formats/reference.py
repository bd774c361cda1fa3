"""The golden kernels behind one signature, the same as ``accelsim.kernels`` (the C++ side).

Tests and ``accelsim validate`` call both implementations with identical arguments and assert the
results are equal bit for bit. Each function validates its inputs and raises ``FormatError``
(``accelsim.errors``, a ``ValueError``; ``ModelError`` for a bad convolution geometry).
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats import binary, fixed, flexpoint, requant
from accelsim.formats.vector import (dequantize, dequantize_add, instance_norm_add, instance_norm_codes,  # noqa: F401
                                     lut_codes, pad_codes, pixel_shuffle_codes, quantize)  # (re-exported)
from accelsim.formats.conv import ConvSpec
from accelsim.formats.conv import taps_per_output as conv_taps

W_KINDS = ("fixed", "ternary", "binary")


def weight_code_range(w_kind: str, w_bits: int) -> tuple[int, int]:
    if w_kind == "fixed":
        if not 2 <= w_bits <= 16:
            raise FormatError(f"w_bits must be in [2, 16], got {w_bits}")
        return -(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1
    if w_kind in ("ternary", "binary"):
        return -1, 1
    raise FormatError(f"w_kind must be one of {W_KINDS}, got {w_kind!r}")


def conv_int(x, w, *, x_bits: int, x_signed: bool, x_zero_point: int, w_kind: str = "fixed", w_bits: int = 8,
             bias=None, spec: ConvSpec, w_key=None) -> np.ndarray:
    """Exact accumulators ``bias + sum (x - z_x) * w`` (int32 when provably safe, else int64). ``w_key``
    is accepted for the kernels' signature and ignored (the golden model caches no packed weights)."""
    x_fmt = fixed.IntFormat(x_bits, x_signed)
    x_fmt.check_codes(x, "x")
    if not x_fmt.qmin <= x_zero_point <= x_fmt.qmax:
        raise FormatError(f"x_zero_point must lie in [{x_fmt.qmin}, {x_fmt.qmax}], got {x_zero_point}")
    lo, hi = weight_code_range(w_kind, w_bits)
    w = np.asarray(w)
    if w.size and (w.min() < lo or w.max() > hi):
        raise FormatError(f"w codes must lie in [{lo}, {hi}]")
    if w_kind == "binary" and (w == 0).any():
        raise FormatError("w (binary weights must be -1 or +1) contains 0")
    spec.check_shapes(np.shape(x), w.shape)
    bias_max = fixed.bias_max_abs(bias, fixed.BIAS_LIMIT, "2^62")
    # The C++ plan's a-priori bound, in the same double operations (qconv_plan): past it both refuse.
    taps = conv_taps(w.shape, spec)
    if float(x_fmt.qmax - x_fmt.qmin) * float(max(abs(lo), abs(hi))) * float(taps) + float(bias_max) >= 9.2e18:
        raise FormatError("accumulators could exceed int64: reduce the reduction length or bit widths")
    bits = fixed.accumulator_bits(x_fmt, max(abs(lo), abs(hi)), w.shape, spec, bias_max)
    acc = fixed.conv_accumulate(x, x_zero_point, w, bias, spec)
    return acc.astype(np.int32 if bits == 32 else np.int64)


def conv_requant(x, w, *, x_bits: int, x_signed: bool, x_zero_point: int, w_kind: str = "fixed", w_bits: int = 8,
                 bias=None, spec: ConvSpec, m0, shift, zero_point: int, out_bits: int, out_signed: bool,
                 act="none", w_key=None) -> np.ndarray:
    """``conv_int`` then ``requantize_integer`` (the C++ kernels run both in one call); ``w_key`` as
    conv_int's."""
    acc = conv_int(x, w, x_bits=x_bits, x_signed=x_signed, x_zero_point=x_zero_point, w_kind=w_kind, w_bits=w_bits,
                   bias=bias, spec=spec)
    return requantize_integer(acc, m0, shift, zero_point=zero_point, out_bits=out_bits, out_signed=out_signed,
                              act=act)


def conv_xnor(x, w, *, bias=None, spec: ConvSpec) -> np.ndarray:
    """Binary x binary: ``bias + sum over valid taps of a*w`` (int32)."""
    return binary.conv_xnor(x, w, bias, spec).astype(np.int32)


def conv_xnor_f64(x, w, *, bias=None, scale, spec: ConvSpec, relu: bool = False, w_key=None) -> np.ndarray:
    """The whole w1a1 MAC node: signs of float64 ``x`` (``np.where(x >= 0, 1, -1)``: NaN gives -1,
    -0.0 gives +1), ``conv_xnor``, then ``acc * scale[co]`` in float64 (one IEEE multiply per output),
    then with ``relu`` the graph's ReLU ``np.maximum(y, 0.0)`` (every scale must then be positive and
    finite). ``w_key`` as conv_int's (ignored)."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise FormatError(f"x must have dtype float64, got {getattr(x, 'dtype', type(x).__name__)}")
    if not isinstance(scale, np.ndarray) or scale.dtype != np.float64:
        raise FormatError(f"scale must have dtype float64, got {getattr(scale, 'dtype', type(scale).__name__)}")
    if x.ndim != 4:
        raise FormatError(f"x must have rank 4, got rank {x.ndim}")
    codes = np.where(x >= 0, 1, -1).astype(np.int8)
    if bias is not None and np.ndim(w) == 4:
        cout = np.shape(w)[1] * spec.groups if spec.transposed else np.shape(w)[0]
        if np.shape(bias) != (cout,):
            raise FormatError(f"bias must have Cout={cout} entries, got shape {np.shape(bias)}")
    acc = conv_xnor(codes, w, bias=bias, spec=spec)
    if scale.ndim != 1 or scale.shape[0] != acc.shape[1]:
        raise FormatError(f"scale must have Cout={acc.shape[1]} entries, got shape {scale.shape}")
    if relu:
        bad = np.flatnonzero(~((scale > 0) & (scale <= np.finfo(np.float64).max)))
        if bad.size:
            raise FormatError(f"scale must be positive and finite with relu, got scale[{bad[0]}] = {scale[bad[0]]}")
        return np.maximum(acc * scale.reshape(1, -1, 1, 1), 0.0)
    with np.errstate(invalid="ignore", over="ignore"):   # 0 * inf and the like: IEEE results, as the kernels'
        return acc * scale.reshape(1, -1, 1, 1)


def conv_flex(xm, x_exp: int, wm, w_exp: int, *, bias=None, spec: ConvSpec, out_exp: int | None = None):
    """flex16+5: ``(mantissas int16, out_exp, overflows, acc_max_abs)``; ``out_exp=None`` is dynamic."""
    return flexpoint.conv_flex(xm, x_exp, wm, w_exp, bias, spec, out_exp)


def _finish(y: np.ndarray, zero_point: int, fmt: fixed.IntFormat, act) -> np.ndarray:
    if isinstance(act, str):
        if act == "relu":
            y = requant.relu_codes(y, zero_point)
        elif act != "none":
            raise FormatError(f"act must be 'none', 'relu' or a lookup table, got {act!r}")
    else:
        lut = np.asarray(act)
        if lut.shape != (fmt.qmax - fmt.qmin + 1,):
            raise FormatError(f"lut must have {fmt.qmax - fmt.qmin + 1} entries")
        fmt.check_codes(lut, "lut")
        y = requant.apply_lut(y, lut, fmt.qmin)
    return y.astype(fmt.storage_dtype)


def _check_zp(zero_point: int, fmt: fixed.IntFormat) -> None:
    if not fmt.qmin <= zero_point <= fmt.qmax:
        raise FormatError(f"zero_point must lie in [{fmt.qmin}, {fmt.qmax}], got {zero_point}")


def requantize_integer(acc, m0, shift, *, zero_point: int, out_bits: int, out_signed: bool,
                       act="none") -> np.ndarray:
    """gemmlowp-style integer requantization (see ``accelsim.formats.requant``)."""
    fmt = fixed.IntFormat(out_bits, out_signed)
    _check_zp(zero_point, fmt)
    y = requant.requantize_integer(acc, m0, shift, zero_point, fmt.qmin, fmt.qmax)
    return _finish(y, zero_point, fmt, act)


def requantize_torch(acc, bias_f32, mult_f32, *, zero_point: int, out_bits: int, out_signed: bool,
                     act="none", bias_mul_f32=1.0) -> np.ndarray:
    """fbgemm float32 requantization (see ``accelsim.formats.requant``)."""
    fmt = fixed.IntFormat(out_bits, out_signed)
    _check_zp(zero_point, fmt)
    y = requant.requantize_torch(acc, bias_f32, mult_f32, zero_point, fmt.qmin, fmt.qmax, bias_mul_f32=bias_mul_f32)
    return _finish(y, zero_point, fmt, act)


def requantize_qnnpack(acc, mult_f32, *, zero_point: int, out_bits: int, out_signed: bool,
                       act="none") -> np.ndarray:
    """QNNPACK float32 requantization (see ``accelsim.formats.requant``)."""
    fmt = fixed.IntFormat(out_bits, out_signed)
    _check_zp(zero_point, fmt)
    y = requant.requantize_qnnpack(acc, mult_f32, zero_point, fmt.qmin, fmt.qmax)
    return _finish(y, zero_point, fmt, act)
