"""Fixed point (affine) int2..int16: ``real = scale * (q - zero_point)``. Golden model.

* Codes: signed ``[-2^(b-1), 2^(b-1) - 1]``, unsigned ``[0, 2^b - 1]``. Weights are signed and
  symmetric (``[-(2^(b-1) - 1), 2^(b-1) - 1]``, zero point 0), per tensor or per output channel.
* Quantize: ``q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)``; NaN/inf are errors.
* Accumulate: ``acc[n, co, oy, ox] = bias[co] + sum (x_q - z_x) * w_q`` over the convolution's taps,
  exact. The accumulator is int32 when ``(qmax_x - qmin_x) * max|w| * taps + max|bias| < 2^31``
  (decided from the formats and shapes, ``accumulator_bits``), otherwise int64; never wraps.
* Bias is int32 (int64 when it does not fit) at scale ``s_x * s_w``.
* Requantize to the output format with ``accelsim.formats.requant`` (``integer`` or ``torch`` mode).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.errors import FormatError, ModelError
from accelsim.formats.conv import ConvSpec, convolve, taps_per_output


@dataclass(frozen=True)
class IntFormat:
    """An integer code range: ``bits`` in [1, 16]; ``symmetric`` drops the most negative code."""

    bits: int
    signed: bool = True
    symmetric: bool = False

    def __post_init__(self):
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= self.bits <= 16:
            raise FormatError(f"bits must be an integer in [1, 16], got {self.bits!r}")
        if self.symmetric and not self.signed:
            raise FormatError("a symmetric format must be signed")
        if self.symmetric and self.bits < 2:
            raise FormatError("a symmetric signed format needs bits >= 2")

    @property
    def qmin(self) -> int:
        if not self.signed:
            return 0
        return -(1 << (self.bits - 1)) + (1 if self.symmetric else 0)

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def storage_dtype(self) -> np.dtype:
        """Smallest numpy container: int8/uint8 up to 8 bits, int16/uint16 up to 16."""
        if self.bits <= 8:
            return np.dtype(np.int8 if self.signed else np.uint8)
        return np.dtype(np.int16 if self.signed else np.uint16)

    def check_codes(self, q: np.ndarray, name: str) -> None:
        q = np.asarray(q)
        if q.size and (q.min() < self.qmin or q.max() > self.qmax):
            raise FormatError(f"{name} codes must lie in [{self.qmin}, {self.qmax}] for {self}, "
                              f"got [{q.min()}, {q.max()}]")


def weight_format(bits: int) -> IntFormat:
    return IntFormat(bits, signed=True, symmetric=True)


def _check_finite(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise FormatError(f"{name} contains NaN or inf: cannot quantize")
    return x


def _zero_points(zero_point) -> np.ndarray:
    """The zero point(s) as int64: FormatError for a non-integer (a float 2.5 is refused, never truncated;
    the C++ ``kernels.quantize`` refuses it with the same words)."""
    zp = np.asarray(zero_point)
    if zp.dtype.kind not in "iu":
        raise FormatError(f"zero_point must be an integer, got {zero_point!r}")
    return zp.astype(np.int64)


def quantize(x, scale, zero_point, fmt: IntFormat, channel_axis: int | None = None) -> np.ndarray:
    """``clamp(round_half_even(x / scale) + zero_point, qmin, qmax)`` in fmt's storage dtype.
    ``scale``/``zero_point`` are scalars, or per channel along ``channel_axis``; zero points are integers."""
    x = _check_finite(x, "x")
    scale = np.asarray(scale, dtype=np.float64)
    zp = _zero_points(zero_point)
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        raise FormatError(f"scale must be finite and > 0, got {scale}")
    if zp.size and (zp.min() < fmt.qmin or zp.max() > fmt.qmax):
        raise FormatError(f"zero_point must lie in [{fmt.qmin}, {fmt.qmax}], got {zp}")
    if channel_axis is not None and scale.ndim == 1:
        shape = [1] * x.ndim
        shape[channel_axis] = -1
        scale = scale.reshape(shape)
        zp = zp.reshape(shape) if zp.ndim == 1 else zp
    q = np.rint(x / scale) + zp
    return np.clip(q, fmt.qmin, fmt.qmax).astype(fmt.storage_dtype)


def dequantize(q, scale, zero_point, channel_axis: int | None = None) -> np.ndarray:
    """``scale * (q - zero_point)`` in float64 (``q - zero_point`` exact in int64). Codes must be integers
    (a float 1.5 is refused, never truncated; the C++ ``kernels.dequantize`` refuses it too)."""
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise FormatError(f"codes must hold integers, got dtype {q.dtype}")
    scale = np.asarray(scale, dtype=np.float64)
    zp = _zero_points(zero_point)
    if channel_axis is not None and scale.ndim == 1:
        shape = [1] * np.ndim(q)
        shape[channel_axis] = -1
        scale = scale.reshape(shape)
        zp = zp.reshape(shape) if zp.ndim == 1 else zp
    return scale * (q.astype(np.int64) - zp)


def choose_activation_qparams(x_min: float, x_max: float, fmt: IntFormat) -> tuple[float, int]:
    """Affine (scale, zero_point) covering [min(x_min, 0), max(x_max, 0)] so that real 0 is exact."""
    lo, hi = min(float(x_min), 0.0), max(float(x_max), 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise FormatError("activation range must be finite")
    if hi == lo:
        return 1.0, (fmt.qmin if not fmt.signed else 0)
    scale = (hi - lo) / (fmt.qmax - fmt.qmin)
    zp = int(np.clip(np.rint(fmt.qmin - lo / scale), fmt.qmin, fmt.qmax))
    return scale, zp


# How a weight scale is chosen (issue 15 item 2). The codes are always clamp(rint(w / s), -qmax, qmax):
# only s differs, so every kernel and its golden model are unchanged.
#   minmax: s = max|w| / qmax (no clipping; the default)
#   mse:    s = r * max|w| / qmax for the r in MSE_GRID (1.0 down to 0.2 in steps of 0.01) with the
#           least squared error sum (w - s q)^2: MSE-optimal clipping on a grid (ties: the larger r)
#   em:     QGAN's EM-style alternation (Wang et al., "QGAN: Quantized Generative Adversarial
#           Networks", 2019) for a uniform grid: codes for the current s (nearest level, clamped),
#           then the least-squares s = <w, q> / <q, q> for those codes, from s = max|w| / qmax until
#           s stops changing (at most EM_ITERATIONS); each step lowers the squared error or keeps it.
WEIGHT_QUANTIZERS = ("minmax", "mse", "em")
MSE_GRID = np.round(np.linspace(1.0, 0.2, 81), 10)
EM_ITERATIONS = 100


def check_weight_quantizer(method) -> str:
    if method not in WEIGHT_QUANTIZERS:
        raise FormatError(f"weight quantizer must be one of {', '.join(WEIGHT_QUANTIZERS)}, got {method!r}")
    return method


def _channel_rows(w: np.ndarray, per_channel: bool, channel_axis: int) -> np.ndarray:
    if not per_channel:
        return w.reshape(1, -1)
    return np.moveaxis(w, channel_axis, 0).reshape(w.shape[channel_axis], -1)


def _fit_scales(rows: np.ndarray, qmax: int, method: str) -> np.ndarray:
    amax = np.abs(rows).max(axis=1) if rows.size else np.zeros(rows.shape[0])
    s = np.where(amax > 0, amax / qmax, 1.0)
    if method == "minmax" or not rows.size:
        return s

    def sq_error(sc):
        q = np.clip(np.rint(rows / sc[:, None]), -qmax, qmax)
        return ((rows - sc[:, None] * q) ** 2).sum(axis=1)

    if method == "mse":
        best, best_err = s, sq_error(s)
        for r in MSE_GRID[1:]:
            cand = np.where(amax > 0, r * amax / qmax, 1.0)
            e = sq_error(cand)
            better = e < best_err
            best, best_err = np.where(better, cand, best), np.where(better, e, best_err)
        return best
    for _ in range(EM_ITERATIONS):      # "em"
        q = np.clip(np.rint(rows / s[:, None]), -qmax, qmax)
        qq = (q * q).sum(axis=1)
        new = np.where(qq > 0, (rows * q).sum(axis=1) / np.where(qq > 0, qq, 1.0), s)
        new = np.where(new > 0, new, s)
        if np.array_equal(new, s):
            break
        s = new
    return s


def weight_scales(w: np.ndarray, bits: int, per_channel: bool, channel_axis: int,
                  method: str = "minmax") -> np.ndarray:
    """Symmetric scales, one or one per output channel, chosen by ``method`` (``WEIGHT_QUANTIZERS``;
    default ``max|w| / qmax``). An all-zero channel gets scale 1.0 (its codes are all 0)."""
    w = _check_finite(w, "weights")
    check_weight_quantizer(method)
    return _fit_scales(_channel_rows(w, per_channel, channel_axis), weight_format(bits).qmax, method)


def out_channel_axis(spec: ConvSpec) -> int:
    """Axis of the output channel in the weight tensor: 1 for conv_transpose2d, 0 for conv2d."""
    return 1 if spec.transposed else 0


def quantize_weights(w, bits: int, spec: ConvSpec, per_channel: bool = True, method: str = "minmax"):
    """Symmetric weight codes and their scales (per output channel, torch layouts; the scale chosen by
    ``method``, see ``WEIGHT_QUANTIZERS``). For grouped conv_transpose2d the output channel of
    ``w[ci, j]`` is ``group(ci) * Cout/g + j``."""
    w = np.asarray(w, dtype=np.float64)
    if not spec.transposed or spec.groups == 1 or not per_channel:
        axis = out_channel_axis(spec)
        scales = weight_scales(w, bits, per_channel, axis, method)
        return quantize(w, scales if per_channel else scales[0], 0, weight_format(bits),
                        axis if per_channel else None), scales
    g = spec.groups
    cin_g = w.shape[0] // g
    scales = np.concatenate([weight_scales(w[i * cin_g:(i + 1) * cin_g], bits, True, 1, method) for i in range(g)])
    q = np.concatenate([quantize(w[i * cin_g:(i + 1) * cin_g], scales[i * w.shape[1]:(i + 1) * w.shape[1]],
                                 0, weight_format(bits), 1) for i in range(g)])
    return q, scales


def accumulator_bits(x_fmt: IntFormat, w_max_abs: int, w_shape, spec: ConvSpec, bias_max_abs: int = 0) -> int:
    """32 if every accumulator provably fits int32, else 64. Decided from the code ranges and the
    shapes: ``(qmax_x - qmin_x) * w_max_abs * taps + bias_max_abs < 2^31``."""
    bound = (x_fmt.qmax - x_fmt.qmin) * int(w_max_abs) * taps_per_output(w_shape, spec) + int(bias_max_abs)
    return 32 if bound < (1 << 31) else 64


BIAS_LIMIT = 1 << 62   # |bias| of an integer convolution (C++ qconv_plan: the same)
ACC_LIMIT = 1 << 63    # |acc| of any int64 accumulator must stay below this


def int_extremes(a, name: str) -> tuple[int, int]:
    """(min, max) of an integer array as exact Python ints ((0, 0) when empty): FormatError for a
    non-integer dtype."""
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise FormatError(f"{name} must hold integers, got dtype {a.dtype}")
    return (int(a.min()), int(a.max())) if a.size else (0, 0)


def bias_max_abs(bias, limit: int, limit_text: str, name: str = "bias") -> int:
    """max |bias| as an exact Python int (0 for None); FormatError when it exceeds ``limit``."""
    if bias is None:
        return 0
    lo, hi = int_extremes(bias, name)
    m = max(abs(lo), abs(hi))
    if m > limit:
        raise FormatError(f"{name} must satisfy |b| <= {limit_text}, got {m}")
    return m


def conv_accumulate(xq, x_zero_point: int, wq, bias, spec: ConvSpec) -> np.ndarray:
    """Exact int64 accumulators ``bias[co] + sum (x_q - z_x) * w_q`` (golden). Every intermediate stays
    in int64: ``|bias| <= 2^62`` and ``max|x - z_x| * max|w| * taps + max|bias| < 2^63`` (exact integer
    bound from the values) are checked first; beyond them it raises ``FormatError``, never wraps."""
    bmax = bias_max_abs(bias, BIAS_LIMIT, "2^62")
    xlo, xhi = int_extremes(xq, "x")
    wlo, whi = int_extremes(wq, "w")
    dmax = max(abs(xlo - int(x_zero_point)), abs(xhi - int(x_zero_point)))
    bound = dmax * max(abs(wlo), abs(whi)) * taps_per_output(np.shape(wq), spec) + bmax
    if bound >= ACC_LIMIT:
        raise FormatError(f"accumulators could exceed int64: max|x - z_x| * max|w| * taps + max|bias| = "
                          f"{bound} >= 2^63; reduce the reduction length or bit widths")
    x = np.asarray(xq, dtype=np.int64) - int(x_zero_point)
    acc = convolve(x, np.asarray(wq, dtype=np.int64), spec)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64).reshape(1, -1, 1, 1)
    return acc


def quantize_bias(bias, s_x: float, s_w) -> np.ndarray:
    """Integer bias at scale ``s_x * s_w`` (per channel), round half to even: int32 when every value
    fits (the usual case up to 8-bit formats), else int64 (16-bit formats: s_x*s_w ~ 1e-9). An
    accumulator-scale bias beyond 2^62 is an error, never a saturation."""
    b = _check_finite(bias, "bias")
    q = np.rint(b / (s_x * np.asarray(s_w, dtype=np.float64)))
    if q.size and np.abs(q).max() > 2.0 ** 62:
        raise FormatError("bias too large for the accumulator scale s_x*s_w (|b / (s_x*s_w)| > 2^62)")
    if q.size == 0 or np.abs(q).max() < 2.0 ** 31:
        return q.astype(np.int32)
    return q.astype(np.int64)


def fold_batchnorm(w, bias, gamma, beta, mean, var, eps: float, transposed: bool):
    """Fold an inference BatchNorm into the preceding conv: ``w' = w * g/sqrt(var+eps)`` along the
    output-channel axis, ``b' = (b - mean) * g/sqrt(var+eps) + beta``. Float64 in, float64 out.
    (Grouped conv_transpose2d is not supported here: the output-channel axis mixes groups.)"""
    w = np.asarray(w, dtype=np.float64)
    inv = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    if transposed:
        if w.shape[1] != inv.size:
            raise ModelError("fold_batchnorm: grouped conv_transpose2d is not supported")
        w2 = w * inv.reshape(1, -1, 1, 1)
    else:
        w2 = w * inv.reshape(-1, 1, 1, 1)
    b = np.zeros_like(inv) if bias is None else np.asarray(bias, np.float64)
    return w2, (b - np.asarray(mean, np.float64)) * inv + np.asarray(beta, np.float64)
