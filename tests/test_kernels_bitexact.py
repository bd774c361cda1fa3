"""C++ kernels == golden model, bit for bit (assert_array_equal, tolerance zero), on every SIMD path
this machine supports: hypothesis over shapes, geometry and quantization parameters, pinned
extremes, and a check that outputs are not degenerate."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec
from accelsim.formats.requant import quantize_multiplier
from accelsim.validate import FORMATS, random_spec, run_case

SEEDS = st.integers(0, 2**63 - 1)


@pytest.mark.parametrize("fmt", FORMATS)
@given(seed=SEEDS)
def test_random_cases_bit_exact(fmt, seed):
    """Random geometry, codes (20% extreme: all qmin / all qmax / alternating), zero points at the
    range ends, all-zero channels, both requantization modes and all activations, every ISA."""
    diff, desc = run_case(fmt, np.random.default_rng(seed), kernels.available_isas())
    assert diff == 0, desc


DCGAN = [((1, 64, 4, 4), (64, 32, 4, 4)), ((2, 16, 8, 8), (16, 3, 4, 4))]


@pytest.mark.parametrize("xs,ws", DCGAN)
def test_int8_dcgan_layer_saturation_both_ends(isa, xs, ws):
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    for xv, wv in [(127, 127), (-128, -128), (-128, 127), (127, -128)]:
        x = np.full(xs, xv, np.int8)
        w = np.full(ws, wv, np.int8)
        with kernels.use_isa(isa):
            got = kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, w_bits=8, spec=spec)
        ref = reference.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, w_bits=8, spec=spec)
        np.testing.assert_array_equal(got, ref)
        assert got.dtype == np.int32
        # requantize to both saturation ends
        for zp in (-128, 127):
            m0, sh = quantize_multiplier(1.0)
            q = kernels.requantize_integer(got, m0, sh, zero_point=zp, out_bits=8, out_signed=True)
            np.testing.assert_array_equal(q, reference.requantize_integer(got, m0, sh, zero_point=zp, out_bits=8, out_signed=True))


def test_int16_needs_int64_accumulators(isa):
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    x = np.full((1, 256, 2, 2), 32767, np.int16)
    w = np.full((256, 2, 4, 4), -32768, np.int16)
    with kernels.use_isa(isa):
        got = kernels.conv_int(x, w, x_bits=16, x_signed=True, x_zero_point=-32768, w_bits=16, spec=spec)
    assert got.dtype == np.int64
    ref = reference.conv_int(x, w, x_bits=16, x_signed=True, x_zero_point=-32768, w_bits=16, spec=spec)
    np.testing.assert_array_equal(got, ref)
    assert abs(int(got.min())) > 2**31  # would have wrapped in int32


def test_one_by_one_input_and_zero_point_extremes(isa):
    spec = ConvSpec.make(stride=1, padding=0, transposed=True)
    for signed, zp in [(True, -128), (True, 127), (False, 0), (False, 255)]:
        x = np.full((1, 64, 1, 1), 200 if not signed else 100, np.uint8 if not signed else np.int8)
        w = np.arange(64 * 8 * 16, dtype=np.int64).reshape(64, 8, 4, 4) % 255 - 127
        w = w.astype(np.int8)
        with kernels.use_isa(isa):
            got = kernels.conv_int(x, w, x_bits=8, x_signed=signed, x_zero_point=zp, w_bits=8, spec=spec)
        np.testing.assert_array_equal(got, reference.conv_int(x, w, x_bits=8, x_signed=signed, x_zero_point=zp,
                                                              w_bits=8, spec=spec))
        assert got.shape == (1, 8, 4, 4)


@pytest.mark.parametrize("fmt", ["int8", "ternary", "binary"])
def test_outputs_not_degenerate(fmt, isa):
    """Random inputs give many distinct accumulator values (a kernel returning zeros or a constant
    would agree with a broken golden model only by accident; this catches both)."""
    rng = np.random.default_rng(7)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    with kernels.use_isa(isa):
        if fmt == "binary":
            x = np.where(rng.random((2, 64, 8, 8)) < 0.5, 1, -1).astype(np.int8)
            w = np.where(rng.random((64, 16, 4, 4)) < 0.5, 1, -1).astype(np.int8)
            out = kernels.conv_xnor(x, w, spec=spec)
        else:
            x = rng.integers(-128, 128, (2, 64, 8, 8)).astype(np.int8)
            lo = -127 if fmt == "int8" else -1
            w = rng.integers(lo, -lo + 1, (64, 16, 4, 4)).astype(np.int8)
            out = kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, w_kind="fixed" if fmt == "int8" else fmt,
                                   w_bits=8 if fmt == "int8" else 2, spec=spec)
    assert len(np.unique(out)) > 50
    assert out.std() > 0


def test_flex_dynamic_static_and_overflow_count(isa):
    rng = np.random.default_rng(3)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    xm = rng.integers(-32768, 32768, (1, 32, 4, 4)).astype(np.int16)
    wm = rng.integers(-32768, 32768, (32, 8, 4, 4)).astype(np.int16)
    with kernels.use_isa(isa):
        dyn = kernels.conv_flex(xm, -15, wm, -16, spec=spec)
        stat = kernels.conv_flex(xm, -15, wm, -16, spec=spec, out_exp=dyn[1] - 2)
    assert dyn[2] == 0 and np.abs(dyn[0].astype(np.int64)).max() > 16383  # dynamic uses the top bit
    assert stat[2] > 0  # two exponents too small: saturations are counted
    ref = reference.conv_flex(xm, -15, wm, -16, spec=spec, out_exp=dyn[1] - 2)
    np.testing.assert_array_equal(stat[0], ref[0])
    assert stat[1:] == tuple(ref[1:])


def test_flex_dynamic_overflow_is_an_error():
    spec = ConvSpec.make(stride=1, transposed=True)
    xm = np.full((1, 64, 2, 2), 32767, np.int16)
    wm = np.full((64, 1, 3, 3), 32767, np.int16)
    with pytest.raises(ValueError, match="exponent > 15"):
        kernels.conv_flex(xm, 15, wm, 15, spec=spec)
    with pytest.raises(ValueError, match="exponent > 15"):
        reference.conv_flex(xm, 15, wm, 15, spec=spec)


def test_pack_signs_matches_golden():
    rng = np.random.default_rng(0)
    for n in [1, 63, 64, 65, 200]:
        c = np.where(rng.random((3, n)) < 0.5, 1, -1).astype(np.int8)
        from accelsim.formats.binary import pack_signs
        np.testing.assert_array_equal(kernels.pack_signs(c), pack_signs(c))


def test_pack_signs_bit_order():
    """docs/quantization.md section 5: least significant bit first, bit i of word j is channel 64 j + i (+1 -> 1),
    the unused high bits of the last word 0; the C++ packing the same."""
    from accelsim.formats.binary import pack_signs
    c = np.full((1, 66), -1, np.int8)
    c[0, [0, 3, 63, 65]] = 1
    want = [[(1 << 0) | (1 << 3) | (1 << 63), 1 << 1]]
    assert pack_signs(c).tolist() == want and kernels.pack_signs(c).tolist() == want


def test_xnor_popcount_form_equals_dot():
    from accelsim.formats.binary import pack_signs, xnor_dot
    rng = np.random.default_rng(1)
    for n in [1, 5, 64, 100, 130]:
        a = np.where(rng.random(n) < 0.5, 1, -1)
        w = np.where(rng.random(n) < 0.5, 1, -1)
        assert xnor_dot(pack_signs(a)[0], pack_signs(w)[0], n) == int(a @ w)


def test_threads_do_not_change_results():
    rng = np.random.default_rng(5)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    x = rng.integers(-128, 128, (4, 32, 8, 8)).astype(np.int8)
    w = rng.integers(-127, 128, (32, 16, 4, 4)).astype(np.int8)
    prev = kernels.num_threads()
    try:
        kernels.set_num_threads(1)
        a = kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, w_bits=8, spec=spec)
        kernels.set_num_threads(2)
        b = kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, w_bits=8, spec=spec)
    finally:
        kernels.set_num_threads(prev)
    np.testing.assert_array_equal(a, b)


def test_golden_random_specs_cover_conv2d_and_transposed():
    kinds = {random_spec(np.random.default_rng(s))[0].transposed for s in range(50)}
    assert kinds == {True, False}
