"""The integer requantization row kernel (hot.hpp requant_row_*: hot_generic.inc requant_row_generic,
the explicit AVX-512 and AVX2 forms in hot_avx512.cpp / hot_avx2.cpp; the AMX table takes AVX-512's)
equals the golden model bit for bit on every SIMD path: every output container (int8/uint8/int16/
uint16, and narrower formats in them), zero points and ReLU lower bounds at both ends, m0 at 0, 2^30
and 2^31 - 1, every shift 0..62 (above 31 the vector kernels hand the row to the generic loop), int32
extremes and accumulators on both sides of each rounding tie, and row lengths 0..100 (every vector
tail). kernels.requantize_integer of an int32 (outer, C, L) array runs the row kernel once per
(outer, channel) row of L elements. Tolerance zero."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.formats import reference

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
M0_EDGES = (0, 1 << 30, (1 << 30) + 1, 3 << 29, (1 << 31) - 2, (1 << 31) - 1)
OUTS = [(8, True), (8, False), (16, True), (16, False), (4, True), (4, False), (12, False), (2, True)]


def _ties(rng, m0: int, shift: int, n: int) -> np.ndarray:
    """int32 accumulators whose products land on and next to the ties of both roundings: the
    doubling high multiply's (acc * m0 = (2k + 1) * 2^30) and the divide by 2^shift's
    (h = q * 2^shift + 2^(shift - 1)), of both signs."""
    if m0 == 0 or shift > 31:         # shift > 31: |h| < 2^31 has no tie to be near
        return rng.integers(I32_MIN, I32_MAX, n, endpoint=True).astype(np.int32)
    q = rng.integers(-(1 << 12), 1 << 12, n) >> min(shift, 12)   # |q * 2^shift| <= 2^31 + 2^12
    h = q * (1 << shift) + (1 << shift >> 1) + rng.integers(-2, 3, n)           # near a rdpot tie
    t = (h.astype(object) * (1 << 31) + rng.integers(-1, 2, n) * (1 << 30))     # near a srdhm tie
    acc = np.array([v // m0 for v in t], dtype=object) + rng.integers(-2, 3, n)
    return np.clip(acc, I32_MIN, I32_MAX).astype(np.int64).astype(np.int32)


def _check_all_isas(acc, m0, shift, zp, bits, signed, act):
    want = reference.requantize_integer(acc, m0, shift, zero_point=zp, out_bits=bits, out_signed=signed, act=act)
    for isa in kernels.available_isas():
        with kernels.use_isa(isa):
            got = kernels.requantize_integer(acc, m0, shift, zero_point=zp, out_bits=bits, out_signed=signed,
                                             act=act)
        assert got.dtype == want.dtype, isa
        np.testing.assert_array_equal(got, want, err_msg=f"{isa}: m0={m0} shift={shift} zp={zp} "
                                                         f"out={bits}{'s' if signed else 'u'} act={act}")


@given(seed=st.integers(0, 2**63 - 1), length=st.integers(0, 100), channels=st.integers(1, 3),
       out=st.sampled_from(OUTS), act=st.sampled_from(["none", "relu"]))
def test_row_kernel_equals_golden(seed, length, channels, out, act):
    rng = np.random.default_rng(seed)
    bits, signed = out
    qmin, qmax = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    zp = int(rng.choice([qmin, qmax, 0 if signed else qmin, int(rng.integers(qmin, qmax, endpoint=True))]))
    m0 = np.array([rng.choice(M0_EDGES) if rng.random() < 0.5 else rng.integers(1 << 30, 1 << 31)
                   for _ in range(channels)], dtype=np.int32)
    shift = np.array([rng.integers(0, 63) if rng.random() < 0.2 else rng.integers(0, 32)
                      for _ in range(channels)], dtype=np.int32)
    acc = np.empty((2, channels, length), dtype=np.int32)
    for o in range(2):
        for c in range(channels):
            kind = rng.integers(0, 3)
            if kind == 0:
                row = rng.integers(I32_MIN, I32_MAX, length, endpoint=True).astype(np.int32)
            elif kind == 1:
                row = _ties(rng, int(m0[c]), int(shift[c]), length)
            else:                       # small accumulators, typical of a conv layer
                row = rng.integers(-(1 << 20), 1 << 20, length).astype(np.int32)
            pos = rng.random(length) < 0.1
            row[pos] = rng.choice([I32_MIN, I32_MAX, I32_MIN + 1, I32_MAX - 1, -1, 0, 1], int(pos.sum()))
            acc[o, c] = row
    _check_all_isas(acc, m0, shift, zp, bits, signed, act)


@pytest.mark.parametrize("m0", M0_EDGES)
def test_every_shift_at_the_ties_and_extremes(m0):
    """Every shift 0..62, one row of 97 accumulators (6 vector blocks and a tail) per shift and output
    type: the int32 extremes, then values on and next to both roundings' ties."""
    rng = np.random.default_rng(m0 + 18)
    for shift in range(63):
        acc = np.concatenate([np.array([I32_MIN, I32_MAX, I32_MIN + 1, I32_MAX - 1, -1, 0, 1], np.int64),
                              _ties(rng, m0, shift, 90)]).astype(np.int32).reshape(1, 1, -1)
        for bits, signed in OUTS[:4]:
            qmin, qmax = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            for zp, act in ((qmin, "none"), (qmax, "relu"), ((qmin + qmax) // 2, "relu")):
                _check_all_isas(acc, np.int32(m0), np.int32(shift), zp, bits, signed, act)


def test_ties_are_exercised():
    """The tie generator does produce exact ties of the divide by 2^shift (h mod 2^shift = 2^(shift-1))
    of both signs: the cases above are not all far from a rounding boundary."""
    rng = np.random.default_rng(0)
    m0, shift = (1 << 30) + 12345, 5
    acc = _ties(rng, m0, shift, 2000).astype(object)
    h = [(int(a) * m0 + (1 << 30)) >> 31 for a in acc]           # srdhm for these (ties toward +inf)
    ties = [v for v in h if v % (1 << shift) == 1 << (shift - 1)]
    assert any(v > 0 for v in ties) and any(v < 0 for v in ties)
