"""Golden model of the vector unit's ops on activation codes (the quantized runtime's non-MAC work;
C++: csrc/src/vector_ops.cpp, equal bit for bit).

A value held as codes means ``real = scale * (codes - zero_point)``. The vector unit

* **instance norm** of such a value takes its statistics from exact integer sums, as an integer
  accumulator would: per (image, channel) plane of ``n`` values, ``d = codes - zero_point``,
  ``S1 = sum d`` and ``S2 = sum d^2`` (int64), then in float64
  ``mean = S1 / n``, ``var = max(S2 / n - mean^2, 0)``,
  ``k = scale * gamma / sqrt(scale^2 * var + eps)`` and ``y = (d - mean) * k + beta``
  (``gamma = 1``, ``beta = 0`` without affine parameters). ``y`` is returned as float64, or, when
  its reader is a MAC's input, straight as that input's codes (``quantize`` below);
* **instance norm + add** (a residual block's norm and the add after it): ``y + residual`` in
  float64 (one IEEE add per value, the order of the operands does not matter), returned as float64,
  as codes (``quantize`` below; NaN or inf refused), or both;
* **pad** of codes (the graph's ``pad`` op on codes): ``np.pad`` with the zero point as the
  constant (real 0), ``reflect`` or ``edge``; a pure move;
* **pixel shuffle** of codes (the graph's ``pixel_shuffle`` op on codes): torch's permutation, a pure
  move in the codes' own dtype;
* **table lookup** of codes (``lut_codes``): ``table[x - min]`` per element, one table or one per
  channel (axis 1), with as many entries as the codes' storage dtype has values (256 or 65536). The
  runtime tabulates an elementwise op (an activation of dequantized codes, quantized again or not)
  by evaluating the op itself on every code, so a lookup is that op to the bit; a pure move of table
  entries;
* **quantize** is ``fixed.quantize``: ``clamp(round_half_even(x / scale) + zero_point, qmin, qmax)``;
* **dequantize** is ``fixed.dequantize``: ``scale * (codes - zero_point)`` in float64.

Every float operation is one IEEE double operation in the order written (no fused multiply-add), so
any implementation that follows it gets the same bits.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats import fixed


def _codes(x, bits: int, signed: bool, name: str) -> np.ndarray:
    fmt = fixed.IntFormat(bits, signed)
    x = np.asarray(x)
    if x.dtype != fmt.storage_dtype:
        raise FormatError(f"{name}: dtype {x.dtype} does not match {bits}-bit {'signed' if signed else 'unsigned'} codes")
    return x


def instance_norm_codes(x, *, x_bits: int, x_signed: bool, scale: float, zero_point: int, weight=None,
                        bias=None, eps: float, out=None, relu: bool = False) -> np.ndarray:
    """Instance norm of ``scale * (x - zero_point)`` over axes 2.. (formula in the module doc).
    ``out=None``: float64; ``out=(out_scale, out_zero_point, out_bits, out_signed)``: codes, and with
    ``relu`` the codes of relu(y), ``max(codes, out_zero_point)``."""
    x = _codes(x, x_bits, x_signed, "x")
    if x.ndim not in (3, 4) or not all(x.shape[2:]):
        raise FormatError(f"x must have rank 3 or 4 (N, C, ...) and values per plane, got shape {x.shape}")
    if not (np.isfinite(scale) and scale > 0 and np.isfinite(eps) and eps > 0):
        raise FormatError("instance norm: scale and eps must be finite and > 0")
    fmt = fixed.IntFormat(x_bits, x_signed)
    if isinstance(zero_point, (bool, np.bool_)) or not isinstance(zero_point, (int, np.integer)) \
            or not fmt.qmin <= zero_point <= fmt.qmax:
        raise FormatError(f"instance norm: zero_point must lie in the x format's range [{fmt.qmin}, {fmt.qmax}], "
                          f"got {zero_point!r}")
    if int(np.prod(x.shape[2:])) >= 1 << 31:   # S2 <= n * 2^32 < 2^63
        raise FormatError("instance norm: a plane must hold fewer than 2^31 values")
    c = x.shape[1]
    gamma = np.ones(c) if weight is None else np.asarray(weight, np.float64).reshape(c)
    beta = np.zeros(c) if bias is None else np.asarray(bias, np.float64).reshape(c)
    axes = tuple(range(2, x.ndim))
    n = int(np.prod(x.shape[2:]))
    d = x.astype(np.int64) - int(zero_point)
    s1 = d.sum(axis=axes)
    s2 = (d * d).sum(axis=axes)
    mean = s1 / n
    var = np.maximum(s2 / n - mean * mean, 0.0)
    k = scale * gamma / np.sqrt(scale * scale * var + eps)
    bshape = mean.shape + (1,) * len(axes)
    y = (d - mean.reshape(bshape)) * k.reshape(bshape) + np.broadcast_to(beta, mean.shape).reshape(bshape)
    if out is None:
        if relu:
            raise FormatError("instance norm: relu is fused only into codes (out=...)")
        return y
    out_scale, out_zp, out_bits, out_signed = out
    q = fixed.quantize(y, out_scale, out_zp, fixed.IntFormat(out_bits, out_signed))
    return np.maximum(q, q.dtype.type(out_zp)) if relu else q


def residual_operand(residual, shape, into_residual: bool = False) -> np.ndarray:
    """The float64 residual of a fused add (``shape``: the other operand's), checked; ``into_residual``
    (the sum written into it) needs it C-contiguous and writeable, the caller's array itself."""
    r = np.asarray(residual)
    if r.dtype != np.float64 or r.shape != tuple(shape):
        raise FormatError(f"residual must be float64 of shape {tuple(shape)}, got {r.dtype} {r.shape}")
    if into_residual and not (r is residual and r.flags.c_contiguous and r.flags.writeable):
        raise FormatError("into_residual needs a C-contiguous, writeable float64 residual array")
    return r


def _fused_add_result(y, r, out, want_float: bool, into_residual: bool, what: str):
    """What a fused add returns for its float64 sum ``y`` of residual ``r``: ``y`` (in ``r`` when
    into_residual) when ``out`` is None, else ``(y or None unless want_float, y's codes in out)``;
    ``what`` names the sum in the refusal of NaN or inf."""
    if out is None:
        if into_residual:
            r[...] = y
            return r
        return y
    out_scale, out_zp, out_bits, out_signed = out
    if not np.isfinite(y).all():
        raise FormatError(f"{what} contains NaN or inf: cannot quantize")
    q = fixed.quantize(y, out_scale, out_zp, fixed.IntFormat(out_bits, out_signed))
    if want_float and into_residual:
        r[...] = y
        y = r
    return (y if want_float else None), q


def instance_norm_add(x, residual, *, x_bits: int, x_signed: bool, scale: float, zero_point: int, weight=None,
                      bias=None, eps: float, out=None, want_float: bool = False, into_residual: bool = False):
    """``instance_norm_codes(x) + residual`` in float64 (``residual``: float64, x's shape): that array
    when ``out`` is None; else ``(that array or None unless want_float, its codes in out =
    (out_scale, out_zero_point, out_bits, out_signed))``. ``into_residual``: that array is ``residual``
    itself (C-contiguous, writeable), overwritten with the sum (the same bits), not a new one."""
    r = residual_operand(residual, np.shape(x), into_residual)
    y = instance_norm_codes(x, x_bits=x_bits, x_signed=x_signed, scale=scale, zero_point=zero_point, weight=weight,
                            bias=bias, eps=eps) + r
    return _fused_add_result(y, r, out, want_float, into_residual, "instance norm: the sum with the residual")


def dequantize_add(codes, scale: float, zero_point: int, residual, *, out=None, want_float: bool = False,
                   into_residual: bool = False):
    """``residual + dequantize(codes)`` in float64 (``residual``: float64, the codes' shape): a residual
    add of codes into a float64 sum; that array when ``out`` is None, else ``(that array or None unless
    want_float, its codes in out = (out_scale, out_zero_point, out_bits, out_signed))``.
    ``into_residual``: that array is ``residual`` itself (C-contiguous, writeable), overwritten with the
    sum (the same bits), not a new one."""
    r = residual_operand(residual, np.shape(codes), into_residual)
    return _fused_add_result(r + dequantize(codes, scale, zero_point), r, out, want_float, into_residual,
                             "dequantize_add: the sum")


PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}


def pad_codes(x, pads, mode: str, zero_point: int) -> np.ndarray:
    """``pad`` (top, bottom, left, right) of codes (N, C, H, W): constant = the zero point."""
    t, b, l, r = pads
    m = PAD_MODES[mode]
    extra = {"constant_values": zero_point} if m == "constant" else {}
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), mode=m, **extra)


def pixel_shuffle_codes(x, factor: int) -> np.ndarray:
    """torch's ``pixel_shuffle`` of (N, C r^2, H, W) into (N, C, H r, W r), in x's dtype (C-contiguous)."""
    x = np.asarray(x)
    r = int(factor)
    if x.ndim != 4 or r < 1 or x.shape[1] % (r * r):
        raise FormatError(f"pixel shuffle by {factor} needs a rank-4 x with channels divisible by {r * r}, "
                          f"got shape {x.shape}")
    b, c, h, w = x.shape
    return np.ascontiguousarray(x.reshape(b, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
                                .reshape(b, c // (r * r), h * r, w * r))


LUT_CODE_DTYPES = (np.int8, np.uint8, np.int16, np.uint16)
LUT_ENTRY_DTYPES = (np.int8, np.uint8, np.int16, np.uint16, np.float64)


def lut_entries(dtype) -> int:
    """Entries of one lookup table for codes of storage ``dtype``: every value the dtype holds."""
    return 1 << (8 * np.dtype(dtype).itemsize)


def lut_codes(x, table) -> np.ndarray:
    """``table[x - min(x's dtype)]`` per element (x: int8/uint8/int16/uint16 codes of any shape); a
    table of shape (T,), or (C, T) with one table per channel of axis 1 (x of rank >= 2 with C
    channels), T = ``lut_entries(x.dtype)``; the result has x's shape and the table's dtype."""
    x = np.asarray(x)
    table = np.asarray(table)
    if x.dtype not in LUT_CODE_DTYPES:
        raise FormatError(f"lut: codes must be int8, uint8, int16 or uint16, got {x.dtype}")
    if table.dtype not in LUT_ENTRY_DTYPES:
        raise FormatError(f"lut: table must hold int8, uint8, int16, uint16 or float64 entries, got {table.dtype}")
    t = lut_entries(x.dtype)
    per_channel = table.ndim == 2 and x.ndim >= 2 and table.shape == (x.shape[1], t)
    if not (table.shape == (t,) or per_channel):
        raise FormatError(f"lut: table must have shape ({t},) or (channels of x, {t}) for {x.dtype} codes, "
                          f"got {table.shape}")
    idx = x.astype(np.int64) - int(np.iinfo(x.dtype).min)
    if not per_channel:
        return table[idx]
    ch = np.arange(x.shape[1]).reshape((1, -1) + (1,) * (x.ndim - 2))
    return table[ch, idx]


def quantize(x, scale: float, zero_point: int, *, bits: int, signed: bool = True) -> np.ndarray:
    return fixed.quantize(x, scale, zero_point, fixed.IntFormat(bits, signed))


def dequantize(codes, scale: float, zero_point: int) -> np.ndarray:
    return fixed.dequantize(codes, scale, zero_point)
