"""A residual add of codes into a float64 sum in one pass (kernels.dequantize_add, csrc/src/vector_ops.cpp;
golden: accelsim.formats.vector.dequantize_add) == the golden model and the unfused ops (dequantize,
numpy's add, quantize), bit for bit, on every ISA: every code container, sums on and next to the
quantizer's ties, float64 and codes out, into the residual; refusals (NaN or inf to codes, shapes,
dtypes, a read-only residual); the runtime takes it on a residual generator, its outputs unchanged."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim import kernels as K
from accelsim.errors import FormatError
from accelsim.formats import fixed, reference as R

CODES = [(8, True), (8, False), (4, True), (12, False), (16, True), (16, False)]


def _codes(rng, bits, signed, shape):
    f = fixed.IntFormat(bits, signed)
    return rng.integers(f.qmin, f.qmax + 1, shape).astype(f.storage_dtype), f


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), codes=st.sampled_from(CODES), want_float=st.booleans(),
       out=st.sampled_from([None, (8, True), (8, False), (16, True), (5, False)]),
       ties=st.sampled_from(["none", "exact", "near"]))
def test_equals_golden_and_unfused_every_isa(seed, codes, want_float, out, ties):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 30)), int(rng.integers(1, 70)))
    q, f = _codes(rng, *codes, shape)
    scale, zp = float(10.0 ** rng.uniform(-4, 1)), int(rng.integers(f.qmin, f.qmax + 1))
    res = rng.normal(size=shape) * 3
    o = None
    if out is not None:
        fo = fixed.IntFormat(*out)
        o = (float(10.0 ** rng.uniform(-3, 0)), int(rng.integers(fo.qmin, fo.qmax + 1)), *out)
        if ties != "none":   # sums on half-integer multiples of the output scale (or one ulp off)
            res = (np.round(rng.normal(size=shape) * 20) + 0.5) * o[0] - R.dequantize(q, scale, zp)
            if ties == "near":
                res = np.nextafter(res, rng.choice([-np.inf, np.inf], shape))
    y_unfused = np.add(res, K.dequantize(q, scale, zp))
    want = R.dequantize_add(q, scale, zp, res, out=o, want_float=want_float)
    for isa in K.available_isas():
        with K.use_isa(isa):
            got = K.dequantize_add(q, scale, zp, res, out=o, want_float=want_float)
            q_unfused = None if o is None else K.quantize(y_unfused, o[0], o[1], bits=o[2], signed=o[3])
        if o is None:
            assert got.tobytes() == want.tobytes() == y_unfused.tobytes(), isa
            continue
        (gy, gq), (wy, wq) = got, want
        assert gq.dtype == wq.dtype and gq.tobytes() == wq.tobytes() == q_unfused.tobytes(), isa
        assert (gy is None) == (wy is None) == (not want_float), isa
        if want_float:
            assert gy.tobytes() == wy.tobytes() == y_unfused.tobytes(), isa


@pytest.mark.parametrize("want_float", [False, True])
@pytest.mark.parametrize("with_out", [False, True])
def test_into_residual(want_float, with_out):
    """into_residual: the float64 sum lands in the residual array itself (returned as it), the same bits
    as a new array; with codes only the residual is untouched; on every ISA and in the golden model."""
    rng = np.random.default_rng(5)
    q, _ = _codes(rng, 8, True, (2, 3, 9, 13))
    res = rng.normal(size=q.shape)
    out = (0.05, -2, 8, True) if with_out else None
    want = R.dequantize_add(q, 0.02, 3, res)
    for impl, isa in [(R, None)] + [(K, i) for i in K.available_isas()]:
        r = res.copy()
        with K.use_isa(isa or K.active_isa()):
            got = impl.dequantize_add(q, 0.02, 3, r, out=out, want_float=want_float, into_residual=True)
        y = got[0] if with_out else got
        if with_out and not want_float:
            assert y is None and r.tobytes() == res.tobytes(), isa
        else:
            assert y is r and r.tobytes() == want.tobytes(), isa
    for impl in (K, R):
        ro = res.copy()
        ro.flags.writeable = False
        with pytest.raises(FormatError, match="into_residual"):
            impl.dequantize_add(q, 0.02, 3, ro, into_residual=True)
        with pytest.raises(FormatError, match="into_residual"):
            impl.dequantize_add(q, 0.02, 3, np.asfortranarray(res), into_residual=True)


def test_refusals():
    """NaN or inf in the sum: passed on in float64, refused to codes (both implementations); a residual
    of another shape or dtype, and codes that are not integers, are refused naming what is wrong."""
    rng = np.random.default_rng(6)
    q, _ = _codes(rng, 8, True, (1, 2, 3, 4))
    res = rng.normal(size=q.shape)
    res[0, 1, 2, 3] = np.nan
    for impl in (K, R):
        assert np.isnan(impl.dequantize_add(q, 0.1, 0, res)[0, 1, 2, 3])
        with pytest.raises(ValueError, match="NaN or inf"):
            impl.dequantize_add(q, 0.1, 0, res, out=(0.1, 0, 8, True))
        with pytest.raises(FormatError, match=r"residual must be float64 of shape \(1, 2, 3, 4\)"):
            impl.dequantize_add(q, 0.1, 0, res[..., :3])
        with pytest.raises(FormatError, match="residual must be float64"):
            impl.dequantize_add(q, 0.1, 0, res.astype(np.float32))
    with pytest.raises(ValueError, match="codes: unsupported dtype float64"):
        K.dequantize_add(q.astype(np.float64), 0.1, 0, res)
    with pytest.raises(ValueError, match="codes must hold int8, uint8, int16 or uint16"):
        K.dequantize_add(q.astype(np.int32), 0.1, 0, res)
    with pytest.raises(ValueError, match="out_scale"):
        K.dequantize_add(q, 0.1, 0, np.zeros(q.shape), out=(0.0, 0, 8, True))
