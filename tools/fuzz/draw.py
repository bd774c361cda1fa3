"""Drawing fuzz inputs for tools/fuzz/fuzz_kernels.py: values from the fuzzer's bytes (mostly small
and valid; in a quarter of the cases, edge values), and code arrays made awkward now and then."""
from __future__ import annotations

import numpy as np

EDGE = [0, -1, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 64, 1 << 20, (1 << 20) + 1, 1 << 24, (1 << 24) + 1,
        (1 << 31) - 1, 1 << 31, -(1 << 31), -(1 << 31) - 1, 1 << 40, 1 << 62, 1 << 63, -(1 << 63)]


class Skip(Exception):
    """The case is not interesting (or legitimately too large to run): not a finding."""


class Draw:
    """Values drawn from the fuzzer's bytes: mostly small and valid, sometimes at the edges."""

    def __init__(self, data: bytes):
        import atheris
        self.fdp = atheris.FuzzedDataProvider(data)
        self.rng = np.random.default_rng(self.fdp.ConsumeIntInRange(0, 2 ** 32 - 1))
        self.wild = self.fdp.ConsumeIntInRange(0, 3) == 0   # a quarter of the cases get edge values

    def int(self, lo: int, hi: int, edge: int = 12) -> int:
        """In [lo, hi]; in a wild case, with probability 1/(edge+1) an edge value instead (edge=0: never)."""
        if edge and self.wild and self.fdp.ConsumeIntInRange(0, edge // 2) == 0:
            return self.fdp.PickValueInList(EDGE)
        return self.fdp.ConsumeIntInRange(lo, hi)

    def bool(self) -> bool:
        return self.fdp.ConsumeBool()

    def pick(self, values):
        return self.fdp.PickValueInList(list(values))

    def chance(self, one_in: int) -> bool:
        """A rare event (bad dtype, wrong length, ...): only in wild cases."""
        return self.wild and self.fdp.ConsumeIntInRange(1, max(1, one_in // 3)) == 1


def codes(d: Draw, shape, lo: int, hi: int, dtype, bad_lo=None, bad_hi=None):
    """An array of codes in [lo, hi] (sometimes saturated, sometimes one element out of range), made
    awkward now and then: non-contiguous, Fortran order, read-only, a list, a huge broadcast view."""
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        shape = tuple(abs(s) for s in shape)
    if np.prod([max(s, 1) for s in shape], dtype=float) > (1 << 22):
        if np.prod([max(s, 1) for s in shape], dtype=float) > 2.0 ** 58:
            raise Skip()
        one = np.zeros((1,) * len(shape), dtype=dtype)   # huge logical shape, no memory: not contiguous
        return np.broadcast_to(one, shape)
    mode = d.int(0, 6, edge=0)
    if mode == 0:
        a = np.full(shape, hi)
    elif mode == 1:
        a = np.full(shape, lo)
    else:
        a = d.rng.integers(lo, hi + 1, size=shape)
    if a.size and d.chance(12):   # one code out of range
        bad = bad_hi if bad_hi is not None and d.bool() else (bad_lo if bad_lo is not None else hi + 1)
        if -(1 << 63) <= bad < (1 << 63):
            a.flat[int(d.rng.integers(a.size))] = bad
    a = a.astype(dtype)   # may wrap an out-of-range code into the dtype: still a valid input
    form = d.int(0, 30, edge=0)
    if form == 0 and a.ndim and a.shape[-1] > 0:
        b = np.repeat(a, 2, axis=-1)[..., ::2]           # non-contiguous, same values
        return b
    if form == 1:
        return np.asfortranarray(a)
    if form == 2:
        a.setflags(write=False)
    if form == 3:
        return a.tolist()
    return a
