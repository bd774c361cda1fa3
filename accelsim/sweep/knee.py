"""Knee and threshold finding on "metric vs buffer size" curves (numpy only, no kneed dependency).

Knee definition (Kneedle, Satopaa, Albrecht, Irwin and Raghavan, "Finding a 'Kneedle' in a
Haystack", ICDCS workshops 2011, offline form without smoothing or the online threshold):
  1. x_i = log2(buffer size_i) (sizes ascending), y_i = min_{j <= i} metric_j: the best value reachable
     with a buffer of at most size_i (so a curve that turns up again, as energy does once SRAM
     leakage and access energy grow, has no effect past its minimum);
  2. normalise both to [0, 1]: xn = (x - x_0) / (x_last - x_0), yn = (y - min y) / (max y - min y);
  3. for a decreasing convex curve Kneedle flips y: the difference curve is d_i = (1 - yn_i) - xn_i,
     the height of the flipped curve above the diagonal;
  4. the knee is the first i maximising d_i, provided max d > 0. A flat curve (max y = min y), a
     straight or concave one (max d <= 0), or fewer than three points have no knee (None).
Because y is non-increasing and d falls along a plateau, the knee is always the first (smallest)
buffer of its plateau: the point where the curve actually reaches the knee value.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import ConfigError

KNEE_DEFINITION = ("Kneedle (Satopaa et al. 2011), offline, no smoothing: on x = log2(buffer size) and "
                   "y = running minimum of the metric, both normalised to [0, 1], the knee is the first point "
                   "maximising (1 - y) - x, if that maximum is > 0")


def _ascending(sizes, values) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(sizes, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if s.shape != v.shape or s.ndim != 1:
        raise ConfigError("sizes and values must be 1-D arrays of the same length")
    if s.size and (np.any(s <= 0) or np.any(np.diff(s) <= 0)):
        raise ConfigError("sizes must be positive and strictly ascending")
    return s, v


def kneedle_decreasing(x, y) -> int | None:
    """Index of the knee of a non-increasing curve y(x) (steps 2 to 4 above), or None."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 3 or x[-1] == x[0]:
        return None
    span = y.max() - y.min()
    if span <= 0:
        return None
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y.min()) / span
    d = (1.0 - yn) - xn
    i = int(np.argmax(d))
    return i if d[i] > 1e-12 else None


def knee_index(sizes, values) -> int | None:
    """Index (into ``sizes``) of the knee of ``values`` vs log2 size, per the module definition."""
    s, v = _ascending(sizes, values)
    if s.size < 3:
        return None
    return kneedle_decreasing(np.log2(s), np.minimum.accumulate(v))


def smallest_within(sizes, values, tolerance: float) -> int | None:
    """Index of the smallest size whose value is within ``tolerance`` (0.05 = 5 %) of the best."""
    if not 0 <= tolerance < 10:
        raise ConfigError(f"tolerance must be in [0, 10), got {tolerance!r}")
    s, v = _ascending(sizes, values)
    if s.size == 0:
        return None
    best = v.min()
    return int(np.flatnonzero(v <= best + (tolerance + 1e-12) * abs(best))[0])


def first_reaching(sizes, values, floor) -> int | None:
    """Index of the smallest size whose value is <= floor, or None if none is."""
    s, v = _ascending(sizes, values)
    hit = np.flatnonzero(v <= floor)
    return int(hit[0]) if hit.size else None
