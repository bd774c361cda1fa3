"""Ternary weights (TWN, Li et al. 2016): ``t`` in {-1, 0, +1} with a per-output-channel scale alpha.

* Threshold ``delta = 0.7 * mean|w|`` per output channel; ``t = sign(w)`` where ``|w| > delta``, else 0.
* ``alpha = mean(|w| where |w| > delta)`` (1.0 for a channel with no weight above the threshold).
* ``method`` (``fixed.WEIGHT_QUANTIZERS``): ``minmax`` is TWN's rule above; ``mse`` tries the
  threshold ratios ``TERNARY_GRID`` (0.05 to 1.5 x mean|w|) and keeps the one with the least squared
  error sum (w - alpha t)^2 (alpha always the mean |w| over the kept weights, the least-squares
  alpha for a mask); ``em`` alternates from TWN's mask: alpha for the mask, then the mask of the
  nearest level (|w| > alpha / 2), until the mask stops changing (QGAN's EM-style alternation).
* The convolution uses adds and subtracts only: ``acc = bias + sum_{t=+1} (x - z_x) - sum_{t=-1} (x - z_x)``
  (golden: ``fixed.conv_accumulate`` with codes in {-1, 0, 1}); requantization reuses the fixed-point
  path with the multiplier ``alpha * s_x / s_y``.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import FormatError
from accelsim.formats.conv import ConvSpec
from accelsim.formats.fixed import (
    EM_ITERATIONS,
    _check_finite,
    check_weight_quantizer,
    out_channel_axis,
)

TERNARY_GRID = np.round(np.linspace(0.05, 1.5, 30), 10)


def _per_channel_view(w: np.ndarray, axis: int) -> np.ndarray:
    """w with the output-channel axis first, flattened per channel: (C, -1)."""
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def _alpha(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    counts = mask.sum(axis=1)
    return np.where(counts > 0, (a * mask).sum(axis=1) / np.maximum(counts, 1), 1.0)


def _error(a: np.ndarray, mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return (np.where(mask, a - alpha[:, None], a) ** 2).sum(axis=1)


def ternarize(w, spec: ConvSpec, threshold_ratio: float = 0.7,
              method: str = "minmax") -> tuple[np.ndarray, np.ndarray]:
    """Return (codes int8 in {-1,0,1} in w's layout, alpha float64 per output channel)."""
    if spec.transposed and spec.groups != 1:
        raise FormatError("ternarize: grouped conv_transpose2d weights are not supported")
    check_weight_quantizer(method)
    w = _check_finite(w, "weights")
    axis = out_channel_axis(spec)
    flat = _per_channel_view(w, axis)
    a = np.abs(flat)
    mean = a.mean(axis=1, keepdims=True)
    mask = a > threshold_ratio * mean
    if method == "mse":
        best = _error(a, mask, _alpha(a, mask))
        for r in TERNARY_GRID:
            m = a > r * mean
            e = _error(a, m, _alpha(a, m))
            better = (e < best)[:, None]
            mask, best = np.where(better, m, mask), np.minimum(e, best)
    elif method == "em":
        for _ in range(EM_ITERATIONS):
            m = a > _alpha(a, mask)[:, None] / 2
            if np.array_equal(m, mask):
                break
            mask = m
    codes = np.where(mask, np.sign(flat), 0).astype(np.int8)
    alpha = _alpha(a, mask)
    shape = list(np.moveaxis(w, axis, 0).shape)
    return np.moveaxis(codes.reshape(shape), 0, axis).copy(), alpha
