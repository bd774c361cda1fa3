"""Binary weights ``b`` in {-1, +1} (sign, 0 maps to +1) with per-output-channel ``alpha = mean|w|``.

Two activation modes:

* fixed-point activations (ApGAN style): ``acc = bias + sum b * (x - z_x)`` (sign manipulation and
  add; golden: ``fixed.conv_accumulate`` with codes in {-1, +1});
* binary activations (XNOR-Net): activations are signs too; for each output and each valid tap the
  dot over the ``n`` input channels is ``n - 2*popcount((a xor w) and mask)`` with bits packed along
  channels (bit 1 = +1). Taps that fall outside the input (padding, transposed-conv gaps) contribute
  nothing: they are absent from the sum (the mask). ``conv_xnor`` computes exactly
  ``bias + sum_{valid taps} a * w``, which is what the popcount form evaluates.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats.conv import ConvSpec, convolve, taps_per_output
from accelsim.formats.fixed import _check_finite, bias_max_abs, out_channel_axis

INT32_MAX = (1 << 31) - 1
from accelsim.formats.ternary import _per_channel_view


def binarize(w, spec: ConvSpec) -> tuple[np.ndarray, np.ndarray]:
    """Return (codes int8 in {-1,+1} in w's layout, alpha = mean|w| per output channel)."""
    if spec.transposed and spec.groups != 1:
        raise FormatError("binarize: grouped conv_transpose2d weights are not supported")
    w = _check_finite(w, "weights")
    codes = np.where(w >= 0, 1, -1).astype(np.int8)
    alpha = np.abs(_per_channel_view(w, out_channel_axis(spec))).mean(axis=1)
    return codes, alpha


def sign_activations(x) -> np.ndarray:
    """Binary activation codes: +1 where x >= 0, else -1 (int8)."""
    x = _check_finite(x, "x")
    return np.where(x >= 0, 1, -1).astype(np.int8)


def pack_signs(codes: np.ndarray) -> np.ndarray:
    """Pack {-1,+1} along the last axis into uint64 words, bit i of word j = code[64*j + i] == +1."""
    codes = np.asarray(codes)
    if codes.size and not np.isin(codes, (-1, 1)).all():
        raise FormatError("pack_signs: codes must be -1 or +1")
    if codes.ndim == 0:
        codes = codes.reshape(1, 1)
    n = codes.shape[-1]
    rows = codes.reshape(int(np.prod(codes.shape[:-1], dtype=np.int64)), n)
    words = (n + 63) // 64
    bits = np.zeros((rows.shape[0], words * 64), dtype=np.uint64)
    bits[:, :n] = rows > 0
    weights = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
    return (bits.reshape(rows.shape[0], words, 64) * weights).sum(axis=2, dtype=np.uint64)


def xnor_dot(a_words: np.ndarray, w_words: np.ndarray, n_valid: int) -> int:
    """The popcount form for one tap: ``n_valid - 2*popcount(a xor w)`` (pad bits are 0 in both)."""
    x = np.bitwise_xor(a_words, w_words)
    pop = sum(bin(int(v)).count("1") for v in np.ravel(x))
    return int(n_valid - 2 * pop)


def conv_xnor(x_codes, w_codes, bias, spec: ConvSpec) -> np.ndarray:
    """Golden binary x binary convolution: ``bias + sum over valid taps of a*w`` (int64). Taps outside
    the input contribute nothing (equivalently, the input is padded with zeros, not with -1)."""
    for name, c in (("x", x_codes), ("w", w_codes)):
        c = np.asarray(c)
        if c.size and not np.isin(c, (-1, 1)).all():
            raise FormatError(f"{name} binary codes must be -1 or +1")
    spec.check_shapes(np.shape(x_codes), np.shape(w_codes))
    bmax = bias_max_abs(bias, 1 << 31, "2^31")   # an int32 bias; the bound below decides
    taps = taps_per_output(np.shape(w_codes), spec)
    if bmax + taps > INT32_MAX:   # the accumulators are int32 (C++ bconv): refused, never wrapped
        raise FormatError(f"bias: max|bias| + reduction length Cin/groups*KH*KW = {bmax} + {taps} exceeds "
                          f"the int32 accumulator (2^31 - 1)")
    acc = convolve(np.asarray(x_codes, np.int64), np.asarray(w_codes, np.int64), spec)
    if bias is not None:
        acc += np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
    return acc
