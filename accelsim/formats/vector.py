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


def instance_norm_add(x, residual, *, x_bits: int, x_signed: bool, scale: float, zero_point: int, weight=None,
                      bias=None, eps: float, out=None, want_float: bool = False):
    """``instance_norm_codes(x) + residual`` in float64 (``residual``: float64, x's shape): that array
    when ``out`` is None; else ``(that array or None unless want_float, its codes in out =
    (out_scale, out_zero_point, out_bits, out_signed))``."""
    r = np.asarray(residual)
    if r.dtype != np.float64 or r.shape != np.shape(x):
        raise FormatError(f"residual must be float64 of shape {np.shape(x)}, got {r.dtype} {r.shape}")
    y = instance_norm_codes(x, x_bits=x_bits, x_signed=x_signed, scale=scale, zero_point=zero_point, weight=weight,
                            bias=bias, eps=eps) + r
    if out is None:
        return y
    out_scale, out_zp, out_bits, out_signed = out
    if not np.isfinite(y).all():
        raise FormatError("instance norm: the sum with the residual contains NaN or inf: cannot quantize")
    return (y if want_float else None), fixed.quantize(y, out_scale, out_zp, fixed.IntFormat(out_bits, out_signed))


PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}


def pad_codes(x, pads, mode: str, zero_point: int) -> np.ndarray:
    """``pad`` (top, bottom, left, right) of codes (N, C, H, W): constant = the zero point."""
    t, b, l, r = pads
    m = PAD_MODES[mode]
    extra = {"constant_values": zero_point} if m == "constant" else {}
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), mode=m, **extra)


def quantize(x, scale: float, zero_point: int, *, bits: int, signed: bool = True) -> np.ndarray:
    return fixed.quantize(x, scale, zero_point, fixed.IntFormat(bits, signed))


def dequantize(codes, scale: float, zero_point: int) -> np.ndarray:
    return fixed.dequantize(codes, scale, zero_point)
