"""Weight quantizers, as fake quantization (quantize then dequantize) in numpy and in torch with a
straight-through estimator, and quantization-aware fine-tuning.

The definitions are the golden formats' (``accelsim.formats``; DESIGN.md section 3), per output
channel of each weight tensor (axis 1 for conv_transpose2d, 0 for conv2d):

* ``intN`` symmetric: ``scale = max|w| / (2^(N-1) - 1)`` (1.0 for an all-zero channel),
  ``q = clamp(round_half_even(w / scale), -(2^(N-1) - 1), 2^(N-1) - 1)``, value ``q * scale``;
* ``ternary`` (TWN): ``delta = 0.7 * mean|w|``, ``t = sign(w)`` where ``|w| > delta`` else 0,
  ``alpha = mean(|w| where |w| > delta)`` (1.0 when none), value ``alpha * t``;
* ``binary``: ``b = +1`` where ``w >= 0`` else -1, ``alpha = mean|w|``, value ``alpha * b``.

The numpy side calls the golden functions themselves; the torch side re-implements the same
formulas (tests check the codes agree exactly). In the backward pass the fake quantizer is the
identity (straight-through estimator): ``w + (fq(w) - w).detach()``.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats import binary, fixed, ternary
from accelsim.formats.conv import ConvSpec

TWN_THRESHOLD_RATIO = 0.7


def parse_kind(kind: str) -> tuple[str, int]:
    """('int', N) for 'intN' (2 <= N <= 16), ('ternary', 2), ('binary', 1)."""
    if kind == "ternary":
        return "ternary", 2
    if kind == "binary":
        return "binary", 1
    if kind.startswith("int") and kind[3:].isdigit() and 2 <= int(kind[3:]) <= 16:
        return "int", int(kind[3:])
    raise FormatError(f"weight quantizer must be intN (N in 2..16), 'ternary' or 'binary', got {kind!r}")


def quantize_codes(weight: np.ndarray, kind: str, transposed: bool) -> tuple[np.ndarray, np.ndarray]:
    """(integer codes in the weight's layout, per-output-channel scale/alpha) by the golden formats."""
    spec = ConvSpec.make(transposed=transposed)
    family, bits = parse_kind(kind)
    if family == "int":
        codes, scales = fixed.quantize_weights(weight, bits, spec, per_channel=True)
    elif family == "ternary":
        codes, scales = ternary.ternarize(weight, spec, TWN_THRESHOLD_RATIO)
    else:
        codes, scales = binary.binarize(weight, spec)
    return np.asarray(codes, np.int64), np.asarray(scales, np.float64)


def dequantize_codes(codes: np.ndarray, scales: np.ndarray, transposed: bool) -> np.ndarray:
    shape = [1, 1, 1, 1]
    shape[1 if transposed else 0] = -1
    return np.asarray(codes, np.float64) * np.asarray(scales, np.float64).reshape(shape)


def fake_quant_numpy(weight: np.ndarray, kind: str, transposed: bool) -> np.ndarray:
    """Dequantized weights, float64."""
    codes, scales = quantize_codes(weight, kind, transposed)
    return dequantize_codes(codes, scales, transposed)


# ---- torch -------------------------------------------------------------------------------------
def _channel_view(w, out_axis: int):
    """(C, -1) view with the output channel first, and the function that undoes it."""
    moved = w.movedim(out_axis, 0)
    shape = moved.shape
    return moved.reshape(shape[0], -1), lambda flat: flat.reshape(shape).movedim(0, out_axis)


def fake_quant_torch_codes(w, kind: str, out_axis: int):
    """(codes, scales) in torch, same definitions as ``quantize_codes`` (no gradient)."""
    import torch
    family, bits = parse_kind(kind)
    flat, back = _channel_view(w.detach(), out_axis)
    absw = flat.abs()
    if family == "int":
        qmax = (1 << (bits - 1)) - 1
        amax = absw.amax(dim=1)
        scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
        codes = torch.clamp(torch.round(flat / scale[:, None]), -qmax, qmax)
    elif family == "ternary":
        delta = TWN_THRESHOLD_RATIO * absw.mean(dim=1, keepdim=True)
        mask = absw > delta
        codes = torch.where(mask, torch.sign(flat), torch.zeros_like(flat))
        count = mask.sum(dim=1)
        scale = torch.where(count > 0, (absw * mask).sum(dim=1) / count.clamp(min=1), torch.ones_like(delta[:, 0]))
    else:
        codes = torch.where(flat >= 0, torch.ones_like(flat), -torch.ones_like(flat))
        scale = absw.mean(dim=1)
    return back(codes), scale


def fake_quant_torch(w, kind: str, out_axis: int):
    """Fake-quantized ``w`` with a straight-through gradient."""
    codes, scale = fake_quant_torch_codes(w, kind, out_axis)
    shape = [1] * w.dim()
    shape[out_axis] = -1
    return w + (codes * scale.reshape(shape) - w).detach()


def activation_bits(kind: str) -> int:
    """Activation bits the kernels use with weight format ``kind`` (``accelsim.formats.registry``): N for intN,
    8 for ternary and binary weights."""
    family, bits = parse_kind(kind)
    return bits if family == "int" else 8
