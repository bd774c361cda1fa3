"""Requantization: an exact integer accumulator to an output code. Derivation in docs/quantization.md.

Three named modes, each bit-exact between this golden model and the C++ kernels:

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

``torch`` (cross-check; PyTorch quantized Conv2d / ConvTranspose2d with the fbgemm engine)
    float32 throughout, per channel ``c``:
    ``a = wrap32(acc)`` (the int32 accumulator of fbgemm: two's complement, modulo 2^32),
    ``t = fma32(b_c, k_c, f32(a))`` (one rounding), ``u = f32(t * m_c)``,
    ``r = cvt(u)`` (round half to even; ``INT32_MIN`` when ``u`` is NaN or outside ``[-2^31, 2^31)``,
    as x86 ``cvtps2dq``), ``y = clamp(r + z_y, qmin, qmax)``.
    ``fbgemm_params`` gives ``(b, k, m)``: per-tensor weights ``b = f32(bias)``,
    ``k = f32(1 / f64(f32(s_x * s_w)))`` (fbgemm's broadcast reciprocal; its mul and add are
    contracted into one FMA by the compiler); per-channel weights ``b = f32(bias / f32(s_x * s_w))``
    (a float32 division), ``k = 1``; ``m = f32(f32(s_x * s_w) / s_y)``. ``acc`` excludes the bias.

``qnnpack`` (cross-check; the same quantized modules with the qnnpack engine)
    the ``torch`` arithmetic with ``b = 0``: ``y = clamp(cvt(f32(f32(wrap32(acc)) * m_c)) + z_y, qmin, qmax)``,
    ``m = f32(f32(f32(s_w) * f32(s_x)) * f32(1 / f32(s_y)))`` (``qnnpack_params``). ``acc`` includes the
    int32 bias ``round_half_even(bias / (s_w * s_x))``, which torch quantizes before the convolution.

For 8-bit unsigned outputs (the only ones fbgemm and qnnpack produce) ``clamp(r + z_y)`` equals their
int16-saturating pack, add and unsigned pack.

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


def _shown(v) -> str:
    """``v`` for an error message: at most 60 characters (an int too long for str() by its type)."""
    try:
        text = str(v)
    except ValueError:
        return f"an {type(v).__name__} too long to print"
    return repr(text[:60])


def _f32_channels(v, name: str) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(v, dtype=np.float64))
    except (OverflowError, TypeError, ValueError):
        raise FormatError(f"{name} must be a number or a 1-D array of numbers finite in float32, "
                          f"got {_shown(v)}") from None
    if a.ndim != 1:
        raise FormatError(f"{name} must be a scalar or 1-D, got shape {a.shape}")
    with np.errstate(over="ignore"):
        a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise FormatError(f"{name} must be finite in float32")
    return a


def _f32(v, name: str) -> np.float32:
    """A scalar parameter as float32 (``np.float32(v)``, as before); FormatError naming it when it
    is not a number numpy can convert (e.g. an integer beyond float64's range)."""
    try:
        return np.float32(v)
    except (OverflowError, TypeError, ValueError):
        raise FormatError(f"{name} must be a number, got {_shown(v)}") from None


def fbgemm_params(s_x: float, s_w, s_y: float, bias=None,
                  per_channel: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel float32 ``(b, k, m)`` of the ``torch`` (fbgemm) mode from the scales and the float
    bias. ``per_channel``: the weights' quantization scheme (default: per channel iff ``s_w`` has more
    than one entry); it decides how fbgemm scales the bias (an FMA with the reciprocal, or a division)."""
    s_w = _f32_channels(s_w, "s_w")
    if per_channel is None:
        per_channel = s_w.size > 1
    if not per_channel and s_w.size != 1:
        raise FormatError(f"per-tensor weights have one scale, got {s_w.size}")
    act_w = (_f32(s_x, "s_x") * s_w).astype(np.float32)
    mult = (act_w / _f32(s_y, "s_y")).astype(np.float32)
    bias = np.zeros(1, np.float32) if bias is None else _f32_channels(bias, "bias")
    if not per_channel:
        k = np.full(1, 1.0 / np.float64(act_w[0]), dtype=np.float64).astype(np.float32)
        b = bias
    else:
        k = np.ones(1, np.float32)
        act_b, bias_b = np.broadcast_arrays(act_w, bias)
        b = (bias_b / act_b).astype(np.float32)
    n = max(b.size, mult.size)
    return tuple(np.ascontiguousarray(np.broadcast_to(v, (n,)), dtype=np.float32) for v in (b, k, mult))


def qnnpack_params(s_x: float, s_w, s_y: float) -> np.ndarray:
    """Per-channel float32 multiplier ``m`` of the ``qnnpack`` mode."""
    s_w = _f32_channels(s_w, "s_w")
    inv_y = np.float32(1.0) / _f32(s_y, "s_y")
    return np.ascontiguousarray(((s_w * _f32(s_x, "s_x")).astype(np.float32) * inv_y).astype(np.float32))


def wrap32(acc: np.ndarray) -> np.ndarray:
    """Two's complement wrap of integer accumulators to int32 (as int64)."""
    a = np.asarray(acc)
    if a.dtype.kind not in "iu":
        raise FormatError(f"acc must hold integers, got dtype {a.dtype}")
    u = np.ascontiguousarray(a, dtype=np.int64).view(np.uint64) & np.uint64(0xFFFFFFFF)
    w = u.astype(np.int64)
    return w - (w >= (1 << 31)) * (1 << 32)


def fma32(a, b, c) -> np.ndarray:
    """float32 fused multiply-add ``a*b + c`` with one rounding, for float32 inputs: the product is
    exact in float64, the float64 sum is rounded to odd (exact error term by TwoSum), and float64 has
    more than 2*24+2 bits, so the final rounding to float32 is the correctly rounded result."""
    p = np.asarray(a, np.float32).astype(np.float64) * np.asarray(b, np.float32).astype(np.float64)
    c = np.asarray(c, np.float32).astype(np.float64)
    p, c = np.broadcast_arrays(p, c)
    s = np.asarray(p + c)
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    even = (s.view(np.int64) & 1) == 0
    s = np.where((err != 0) & even, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    with np.errstate(over="ignore"):   # beyond float32: +-inf, as the hardware FMA
        return np.asarray(s).astype(np.float32)


def cvt_i32(u: np.ndarray) -> np.ndarray:
    """x86 ``cvtps2dq``: round half to even; ``INT32_MIN`` for NaN and for values outside
    ``[-2^31, 2^31)`` (as int64)."""
    u = np.asarray(u, np.float32).astype(np.float64)
    ok = (u >= -2.0 ** 31) & (u < 2.0 ** 31)
    return np.where(ok, np.rint(np.where(ok, u, 0.0)), INT32_MIN).astype(np.int64)


def requantize_torch(acc: np.ndarray, bias_f32, mult_f32, zero_point: int, qmin: int, qmax: int,
                     channel_axis: int = 1, bias_mul_f32=1.0) -> np.ndarray:
    """Golden ``torch`` (fbgemm) mode (formula in the module docstring): ``bias_f32`` is ``b``,
    ``bias_mul_f32`` is ``k``, ``mult_f32`` is ``m``; each one value or one per channel along
    ``channel_axis`` (axis 0 when ``acc`` is 1-D). Returns int64 codes."""
    acc, channel_axis, nch = _channels(acc, channel_axis)
    a = wrap32(acc)
    params = []
    for name, v in (("bias_f32", bias_f32), ("bias_mul_f32", bias_mul_f32), ("mult_f32", mult_f32)):
        v = np.atleast_1d(np.asarray(v, dtype=np.float32))
        if v.ndim != 1 or v.size not in (1, nch):
            raise FormatError(f"{name} must have 1 or {nch} entries, got shape {v.shape}")
        if not (np.isfinite(v).all() and (np.abs(v) <= 1e30).all()):
            raise FormatError(f"torch-mode {name} must be finite, |v| <= 1e30")
        if name == "mult_f32" and (v < 0).any():
            raise FormatError("torch-mode mult_f32 must be >= 0")
        shape = [1] * a.ndim   # one value broadcasts; nch values lie on the channel axis
        shape[channel_axis] = v.size
        params.append(v.reshape(shape))
    b, k, m = params
    t = fma32(b, k, a.astype(np.float32))
    with np.errstate(over="ignore", invalid="ignore"):   # inf and NaN convert to INT32_MIN below
        u = (t * m).astype(np.float32)
    y = np.clip(cvt_i32(u) + zero_point, qmin, qmax)
    return y.astype(np.int64)


def requantize_qnnpack(acc: np.ndarray, mult_f32, zero_point: int, qmin: int, qmax: int,
                       channel_axis: int = 1) -> np.ndarray:
    """Golden ``qnnpack`` mode: the ``torch`` arithmetic with ``b = 0`` (the bias is in ``acc``)."""
    return requantize_torch(acc, 0.0, mult_f32, zero_point, qmin, qmax, channel_axis)


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
