"""Flexpoint flex16+5 (Koster et al., NeurIPS 2017). Golden model.

A tensor is int16 mantissas ``m`` and one shared signed 5-bit exponent ``e`` in [-16, 15]:
``value = m * 2^e``.

* Conversion (``to_flex``): ``e`` is the smallest exponent >= -16 whose mantissas
  ``round_half_even(x / 2^e)`` all fit [-32767, 32767]; a tensor that needs ``e > 15`` is an error
  (never a wrap). Small tensors keep ``e = -16`` and fewer significant bits.
* Convolution (``conv_flex``): products are exact (int32), accumulation exact (int64) at exponent
  ``e_acc = e_x + e_w``; a bias is given as int64 at ``e_acc``. The output exponent is chosen by
  ``dynamic`` mode (the smallest ``e >= -16`` whose mantissas fit [-32767, 32767]; error above 15), or
  given (``static`` mode, from calibration or Autoflex): mantissas that do not fit saturate to
  [-32768, 32767] and are counted as overflows. The output shift ``s = e_out - e_acc`` rounds half to
  even when ``s > 0`` and is an exact left shift when ``s <= 0``.
* Autoflex (``Autoflex``): per tensor, a history of the last 16 max-abs values; the predicted max is
  ``max + 3*std + 100 LSB`` (LSB of the current exponent); the exponent is chosen so the prediction
  lands in ``[2^14, 2^15)`` mantissa units, clamped at -16, error above 15.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats.conv import ConvSpec, convolve, taps_per_output
from accelsim.formats.fixed import bias_max_abs, int_extremes

EXP_MIN, EXP_MAX = -16, 15
BIAS_LIMIT = 1 << 61   # |bias| of a flex convolution, at exponent e_x + e_w
MANT_MAX = 32767


def check_exponent(e: int, name: str = "exponent") -> int:
    if not isinstance(e, (int, np.integer)) or not EXP_MIN <= int(e) <= EXP_MAX:
        raise FormatError(f"{name} must be a 5-bit signed exponent in [{EXP_MIN}, {EXP_MAX}], got {e!r}")
    return int(e)


def shift_rhe(acc: np.ndarray, s: int) -> np.ndarray:
    """``round_half_even(acc / 2^s)`` for s > 0, ``acc * 2^-s`` for s <= 0; exact (Python ints)."""
    a = np.asarray(acc, dtype=np.int64).astype(object)
    if s <= 0:
        return a * (1 << -s)
    q = a >> s  # floor
    r = a - (q << s)
    half = 1 << (s - 1)
    up = (r > half) | ((r == half) & (q % 2 == 1))
    return q + up.astype(object)


def _fits(x: np.ndarray, e: int) -> bool:
    return x.size == 0 or float(np.max(np.abs(np.rint(np.ldexp(x, -e))))) <= MANT_MAX


def to_flex(x, exponent: int | None = None) -> tuple[np.ndarray, int]:
    """Float tensor -> (int16 mantissas, exponent). With ``exponent`` given, saturate to it."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise FormatError("x contains NaN or inf: cannot convert to flexpoint")
    if exponent is None:
        amax = float(np.max(np.abs(x))) if x.size else 0.0
        # start at a lower bound: amax = f 2^E with f in [0.5, 1) needs |m| = f 2^(E - e) >= 2^15 > 32767
        # below e = E - 15, so the first exponent that fits from here up is the smallest one
        e = EXP_MIN if amax == 0 else max(EXP_MIN, math.frexp(amax)[1] - 15)
        while e <= EXP_MAX and not _fits(x, e):
            e += 1
        if e > EXP_MAX:
            raise FormatError(f"flexpoint overflow: max |x| = {amax} needs an exponent > {EXP_MAX}")
    else:
        e = check_exponent(exponent)
    m = np.clip(np.rint(np.ldexp(x, -e)), -MANT_MAX - 1, MANT_MAX)
    return m.astype(np.int16), e


def from_flex(m, e: int) -> np.ndarray:
    return np.ldexp(np.asarray(m, dtype=np.float64), check_exponent(e))


def conv_flex(xm, x_exp: int, wm, w_exp: int, bias, spec: ConvSpec, out_exp: int | None = None):
    """Golden flex16+5 convolution. Returns ``(mantissas int16, out_exp, overflows, acc_max_abs)``;
    ``out_exp=None`` is dynamic mode."""
    check_exponent(x_exp, "x_exp")
    check_exponent(w_exp, "w_exp")
    for name, t in (("x", xm), ("w", wm)):
        if np.asarray(t).dtype != np.int16:
            raise FormatError(f"{name} mantissas must be int16")
    spec.check_shapes(np.shape(xm), np.shape(wm))
    # |acc| <= taps * 2^30 + |bias| < 2^63 (C++ flexconv_geom: the same two checks, the same words)
    bias_max_abs(bias, BIAS_LIMIT, "2^61", "flex bias")
    if taps_per_output(np.shape(wm), spec) >= 1 << 31:
        raise FormatError("flexpoint reduction too long: Cin/groups*KH*KW must be < 2^31")
    acc = convolve(np.asarray(xm, np.int64), np.asarray(wm, np.int64), spec)
    if bias is not None:
        acc += np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
    return flex_output(acc, x_exp + w_exp, out_exp)


def flex_output(acc, e_acc: int, out_exp: int | None = None):
    """The output stage of ``conv_flex``: exact accumulators ``acc`` at exponent ``e_acc`` ->
    ``(mantissas int16, out_exp, overflows, acc_max_abs)`` (dynamic mode when ``out_exp`` is None)."""
    lo, hi = int_extremes(acc, "acc")
    if lo <= -(1 << 63) or hi >= 1 << 63:   # |acc| < 2^63: -2^63 has no int64 magnitude
        raise FormatError(f"acc must satisfy |acc| < 2^63, got [{lo}, {hi}]")
    acc = np.asarray(acc, np.int64)
    acc_max = max(abs(lo), abs(hi))
    if out_exp is None:
        e = EXP_MIN
        while int(shift_rhe(np.array([acc_max]), e - e_acc)[0]) > MANT_MAX:
            e += 1
            if e > EXP_MAX:
                raise FormatError(f"flexpoint output overflow: max |acc| = {acc_max} at exponent {e_acc} "
                                  f"needs an output exponent > {EXP_MAX}")
    else:
        e = check_exponent(out_exp, "out_exp")
    y = shift_rhe(acc, e - e_acc)
    over = int(((y > MANT_MAX) | (y < -MANT_MAX - 1)).sum())
    y = np.clip(y, -MANT_MAX - 1, MANT_MAX).astype(np.int16)
    return y, e, over, acc_max


class Autoflex:
    """Autoflex exponent management for one tensor (Koster et al. 2017, section 3).

    ``update(max_abs)`` records the tensor's max-abs value (real units) after an iteration;
    ``exponent()`` predicts the exponent for the next iteration from the last ``history`` values:
    predicted max = max + 3*std + 100 LSB, exponent such that predicted / 2^e lies in [2^14, 2^15).
    """

    def __init__(self, initial_exponent: int = 0, history: int = 16):
        self._exp = check_exponent(initial_exponent, "initial_exponent")
        self._hist: deque[float] = deque(maxlen=history)

    def update(self, max_abs: float) -> int:
        if not math.isfinite(max_abs) or max_abs < 0:
            raise FormatError(f"max_abs must be finite and >= 0, got {max_abs!r}")
        self._hist.append(float(max_abs))
        self._exp = self._predict()
        return self._exp

    def _predict(self) -> int:
        h = np.array(self._hist)
        pred = h.max() + 3.0 * h.std() + 100.0 * 2.0 ** self._exp
        e = math.floor(math.log2(pred)) - 14  # pred / 2^e in [2^14, 2^15)
        e = max(EXP_MIN, e)
        if e > EXP_MAX:
            raise FormatError(f"Autoflex: predicted max {pred} needs an exponent > {EXP_MAX}")
        return e

    def exponent(self) -> int:
        return self._exp
