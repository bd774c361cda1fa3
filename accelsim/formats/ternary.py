"""Ternary weights (TWN, Li et al. 2016): ``t`` in {-1, 0, +1} with a per-output-channel scale alpha.

* Threshold ``delta = 0.7 * mean|w|`` per output channel; ``t = sign(w)`` where ``|w| > delta``, else 0.
* ``alpha = mean(|w| where |w| > delta)`` (1.0 for a channel with no weight above the threshold).
* The convolution uses adds and subtracts only: ``acc = bias + sum_{t=+1} (x - z_x) - sum_{t=-1} (x - z_x)``
  (golden: ``fixed.conv_accumulate`` with codes in {-1, 0, 1}); requantization reuses the fixed-point
  path with the multiplier ``alpha * s_x / s_y``.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats.conv import ConvSpec
from accelsim.formats.fixed import _check_finite, out_channel_axis


def _per_channel_view(w: np.ndarray, axis: int) -> np.ndarray:
    """w with the output-channel axis first, flattened per channel: (C, -1)."""
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def ternarize(w, spec: ConvSpec, threshold_ratio: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Return (codes int8 in {-1,0,1} in w's layout, alpha float64 per output channel)."""
    if spec.transposed and spec.groups != 1:
        raise FormatError("ternarize: grouped conv_transpose2d weights are not supported")
    w = _check_finite(w, "weights")
    axis = out_channel_axis(spec)
    flat = _per_channel_view(w, axis)
    delta = threshold_ratio * np.abs(flat).mean(axis=1, keepdims=True)
    mask = np.abs(flat) > delta
    codes = np.where(mask, np.sign(flat), 0).astype(np.int8)
    counts = mask.sum(axis=1)
    alpha = np.where(counts > 0, (np.abs(flat) * mask).sum(axis=1) / np.maximum(counts, 1), 1.0)
    shape = list(np.moveaxis(w, axis, 0).shape)
    return np.moveaxis(codes.reshape(shape), 0, axis).copy(), alpha
