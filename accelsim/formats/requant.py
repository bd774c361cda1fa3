"""Requantization: an exact integer accumulator to an output code. Derivation in docs/quantization.md.

Two named modes, both bit-exact between this golden model and the C++ kernels:

``integer`` (default; Jacob et al. 2018, gemmlowp / TFLite ``MultiplyByQuantizedMultiplier``)
    The real multiplier ``M = s_x * s_w / s_y > 0`` is encoded as ``M = m0 * 2^-31 * 2^-shift`` with
    ``m0`` in ``[2^30, 2^31)`` (or ``m0 = 0`` for ``M = 0``) and ``shift`` in ``[-31, 62]``.
    ``y = clamp(z_y + rdpot_rndna(srdhm_rndnu(acc * 2^max(-shift, 0), m0), max(shift, 0)), qmin, qmax)``
    * ``srdhm_rndnu(a, m) = trunc((a*m + nudge) / 2^31)`` with ``nudge = 2^30`` if ``a*m >= 0`` else
      ``1 - 2^30``: round to nearest, ties toward +infinity ("rndnu"). gemmlowp's
      SaturatingRoundingDoublingHighMul; computed exactly (128-bit) so int64 accumulators and left
      shifts never wrap. For int32 ``acc`` and ``shift >= 0`` it equals gemmlowp bit for bit (its only
      saturating case, ``a = m = INT32_MIN``, cannot occur because ``m0 >= 0``).
    * ``rdpot_rndna(x, e) = (x >> e) + (remainder > threshold)``, ``remainder = x & (2^e - 1)``,
      ``threshold = (2^e - 1) >> 1`` plus one if ``x < 0``: round to nearest, ties away from zero
      ("rndna"). gemmlowp's RoundingDivideByPOT.

``torch`` (cross-check; PyTorch quantized ConvTranspose2d with the fbgemm engine)
    all float32, no fused multiply-add:
    ``y = clamp(rint_half_even(f32(f32(acc) + b_f32) * m_f32) + z_y, qmin, qmax)`` with
    ``b_f32 = f32(bias / f32(s_x * s_w))`` and ``m_f32 = f32(f32(s_x * s_w) / s_y)`` per channel
    (see ``fbgemm_params``). ``acc`` excludes the bias in this mode.

Activations after requantization: ReLU is a clamp at ``z_y``; tanh and sigmoid are lookup tables of
``qmax - qmin + 1`` entries built once per layer (``activation_lut``), exact by construction.
"""
from __future__ import annotations

import math

import numpy as np

from accelsim.errors import FormatError

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
SHIFT_MIN, SHIFT_MAX = -31, 62


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Encode ``real >= 0`` as ``(m0, shift)`` with ``real ~= m0 * 2^-31 * 2^-shift``,
    ``m0`` in ``[2^30, 2^31)`` (``(0, 0)`` for zero). Raises for negative, NaN, or out-of-range values."""
    if not math.isfinite(real) or real < 0:
        raise FormatError(f"requantization multiplier must be finite and >= 0, got {real!r}")
    if real == 0.0:
        return 0, 0
    frac, exp = math.frexp(real)  # real = frac * 2^exp, frac in [0.5, 1)
    m0 = round(frac * (1 << 31))
    if m0 == 1 << 31:
        m0 //= 2
        exp += 1
    shift = -exp
    if not SHIFT_MIN <= shift <= SHIFT_MAX:
        raise FormatError(f"requantization multiplier {real!r} is out of range: shift {shift} not in "
                          f"[{SHIFT_MIN}, {SHIFT_MAX}]")
    return int(m0), int(shift)


def _int_params(v, name: str) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(v))
        if a.dtype.kind not in "iu" and not (a.dtype == object and all(isinstance(t, int) for t in a.flat)):
            raise FormatError(f"{name} must hold integers, got {a.dtype}")
        if a.size and (int(a.max()) >= 1 << 63 or int(a.min()) < -(1 << 63)):
            raise OverflowError
        return a.astype(np.int64)
    except OverflowError:
        raise FormatError(f"{name} is out of range: {v!r}") from None


def _check_integer_params(m0, shift) -> tuple[np.ndarray, np.ndarray]:
    m0, shift = _int_params(m0, "m0"), _int_params(shift, "shift")
    bad = ~((m0 == 0) | ((m0 >= 1 << 30) & (m0 < 1 << 31)))
    if bad.any():
        raise FormatError(f"multiplier m0 must be 0 or in [2^30, 2^31), got {m0[bad][0]}")
    if ((shift < SHIFT_MIN) | (shift > SHIFT_MAX)).any():
        raise FormatError(f"shift must be in [{SHIFT_MIN}, {SHIFT_MAX}], got {shift.min()}..{shift.max()}")
    return m0, shift


def srdhm_rndnu(a: int, m: int) -> int:
    """trunc((a*m + nudge) / 2^31), nudge = 2^30 if a*m >= 0 else 1 - 2^30 (Python ints: exact)."""
    ab = a * m
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    q = abs(num) >> 31  # truncating division toward zero
    return q if num >= 0 else -q


def rdpot_rndna(x: int, exponent: int) -> int:
    """Rounding divide by 2^exponent, ties away from zero (gemmlowp RoundingDivideByPOT)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def _channels(acc: np.ndarray, channel_axis: int) -> tuple[np.ndarray, int, int]:
    """(acc at least 1-D, channel axis, channel count): the channel axis of a 1-D acc is 0."""
    acc = np.asarray(acc)
    if acc.ndim == 0:
        acc = acc.reshape(1)
    axis = channel_axis if acc.ndim > 1 else 0
    return acc, axis, acc.shape[axis]


def requantize_integer(acc: np.ndarray, m0, shift, zero_point: int, qmin: int, qmax: int,
                       channel_axis: int = 1) -> np.ndarray:
    """Golden ``integer`` mode (see module docstring). ``m0``/``shift`` are scalars or one value per
    channel along ``channel_axis`` (axis 0 when ``acc`` is 1-D). Returns int64 codes in [qmin, qmax]."""
    m0, shift = _check_integer_params(m0, shift)
    acc, channel_axis, nch = _channels(acc, channel_axis)
    out = np.empty(acc.shape, dtype=np.int64)
    if m0.size not in (1, nch) or shift.size != m0.size:
        raise FormatError(f"m0/shift must have 1 or {nch} entries, got {m0.size}/{shift.size}")
    if acc.size == 0:
        return out
    it = np.nditer(acc, flags=["multi_index"])
    for v in it:
        c = it.multi_index[channel_axis] if (m0.size > 1) else 0
        mult, sh = int(m0[c]), int(shift[c])
        left, right = max(-sh, 0), max(sh, 0)
        y = rdpot_rndna(srdhm_rndnu(int(v) << left, mult), right) + zero_point
        out[it.multi_index] = min(max(y, qmin), qmax)
    return out


def fbgemm_params(s_x: float, s_w, s_y: float, bias=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel float32 ``(b_f32, m_f32)`` of the ``torch`` mode from the scales and the float bias."""
    s_w = np.atleast_1d(np.asarray(s_w, dtype=np.float32))
    act_w = (np.float32(s_x) * s_w).astype(np.float32)
    mult = (act_w / np.float32(s_y)).astype(np.float32)
    if bias is None:
        b = np.zeros_like(act_w)
    else:
        bias = np.atleast_1d(np.asarray(bias, dtype=np.float32))
        act_w, mult = np.broadcast_arrays(act_w, mult)
        if bias.size != act_w.size:
            act_w, mult = np.broadcast_to(act_w, bias.shape), np.broadcast_to(mult, bias.shape)
        b = (bias / act_w).astype(np.float32)
    return b, np.ascontiguousarray(mult)


def requantize_torch(acc: np.ndarray, bias_f32, mult_f32, zero_point: int, qmin: int, qmax: int,
                     channel_axis: int = 1) -> np.ndarray:
    """Golden ``torch`` (fbgemm) mode: float32 add, float32 multiply, round half to even, add zero
    point, clamp. ``bias_f32``/``mult_f32``: one value or one per channel along ``channel_axis``
    (axis 0 when ``acc`` is 1-D). Returns int64 codes."""
    acc, channel_axis, nch = _channels(acc, channel_axis)
    bias_f32 = np.atleast_1d(np.asarray(bias_f32, dtype=np.float32))
    mult_f32 = np.atleast_1d(np.asarray(mult_f32, dtype=np.float32))
    for name, v in (("bias_f32", bias_f32), ("mult_f32", mult_f32)):
        if v.ndim != 1 or v.size not in (1, nch):
            raise FormatError(f"{name} must have 1 or {nch} entries, got shape {v.shape}")
    if not (np.isfinite(bias_f32).all() and np.isfinite(mult_f32).all()):
        raise FormatError("torch-mode bias and multiplier must be finite")

    def along_channels(v: np.ndarray) -> np.ndarray:   # one value broadcasts; nch values lie on the axis
        shape = [1] * acc.ndim
        shape[channel_axis] = v.size
        return v.reshape(shape)

    t = (acc.astype(np.float32) + along_channels(bias_f32)).astype(np.float32)
    t = (t * along_channels(mult_f32)).astype(np.float32)
    r = np.rint(t).astype(np.float64)  # exact: float32 values are exact in float64
    y = np.clip(r + zero_point, qmin, qmax)
    return y.astype(np.int64)


def relu_codes(codes: np.ndarray, zero_point: int) -> np.ndarray:
    """ReLU on codes: clamp below at the zero point (real 0)."""
    return np.maximum(codes, zero_point)


def activation_lut(kind: str, in_scale: float, in_zero_point: int, in_qmin: int, in_qmax: int,
                   out_scale: float, out_zero_point: int, out_qmin: int, out_qmax: int) -> np.ndarray:
    """Lookup table for ``tanh`` or ``sigmoid``: entry ``i`` is the output code of input code
    ``in_qmin + i``: ``clamp(round_half_even(f(s_in*(q - z_in)) / s_out) + z_out)``, computed in
    float64 once per layer. Returns int64[in_qmax - in_qmin + 1]."""
    funcs = {"tanh": np.tanh, "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}
    if kind not in funcs:
        raise FormatError(f"activation must be one of {sorted(funcs)}, got {kind!r}")
    if not (in_scale > 0 and out_scale > 0):
        raise FormatError("activation_lut scales must be > 0")
    q = np.arange(in_qmin, in_qmax + 1, dtype=np.int64)
    real = funcs[kind](in_scale * (q - in_zero_point).astype(np.float64))
    return np.clip(np.rint(real / out_scale) + out_zero_point, out_qmin, out_qmax).astype(np.int64)


def apply_lut(codes: np.ndarray, lut: np.ndarray, qmin: int) -> np.ndarray:
    """out = lut[code - qmin] (codes must lie in [qmin, qmin + len(lut)))."""
    idx = np.asarray(codes, dtype=np.int64) - qmin
    if idx.size and (idx.min() < 0 or idx.max() >= len(lut)):
        raise FormatError(f"codes out of the lookup table's range [{qmin}, {qmin + len(lut) - 1}]")
    return np.asarray(lut, dtype=np.int64)[idx]
