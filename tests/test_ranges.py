"""Issue 13 item 5: every intermediate stays in its documented range or is refused, never wrapped.

* Size arithmetic: the C ABI and the pybind layer refuse a negative dimension or a tensor past 2^48
  elements before any size product or allocation (the message names the tensor).
* Integer ranges: int64 bias and accumulator extremes, binary int32 accumulators, flex bias and
  accumulators, instance-norm zero points: the golden model (accelsim.formats) and the C++ kernels
  both raise FormatError for the same input (docs/quantization.md, "Ranges").
"""
import numpy as np
import pytest

from accelsim import kernels, native
from accelsim.errors import FormatError
from accelsim.formats import fixed, flexpoint, reference
from accelsim.formats.conv import ConvSpec

IMPLS = [reference, kernels]
I64_MAX, I64_MIN = (1 << 63) - 1, -(1 << 63)


def _both_raise(call, match):
    """call(impl) raises FormatError matching `match` for the golden model and the C++ kernels alike."""
    for impl in IMPLS:
        with pytest.raises(FormatError, match=match):
            call(impl)


# ---- integer convolution: bias at the int64 extremes ---------------------------------------------
@pytest.mark.parametrize("b", [I64_MAX, I64_MIN, (1 << 62) + 1, -(1 << 62) - 1])
def test_conv_int_bias_beyond_2_62_refused(b):
    x = np.zeros((1, 2, 3, 3), np.int8)
    w = np.ones((1, 2, 1, 1), np.int8)
    bias = np.array([b], np.int64)
    _both_raise(lambda K: K.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, bias=bias,
                                     spec=ConvSpec.make()), r"\|b\| <= 2\^62")


@pytest.mark.parametrize("b", [1 << 62, -(1 << 62)])
def test_conv_int_bias_at_2_62_exact(b):
    x = np.full((1, 2, 3, 3), -128, np.int8)
    w = np.full((1, 2, 1, 1), 127, np.int8)
    bias = np.array([b], np.int64)
    args = dict(x_bits=8, x_signed=True, x_zero_point=127, bias=bias, spec=ConvSpec.make())
    ref = reference.conv_int(x, w, **args)
    got = kernels.conv_int(x, w, **args)
    assert got.dtype == ref.dtype == np.int64
    np.testing.assert_array_equal(got, ref)
    assert int(ref[0, 0, 0, 0]) == b + 2 * (-255) * 127


def test_golden_accumulate_refuses_a_bound_past_int64():
    """Values far outside any code range (int64 x, w): the exact bound is checked before int64 math."""
    x = np.full((1, 1, 1, 1), 1 << 40, np.int64)
    w = np.full((1, 1, 1, 1), 1 << 30, np.int64)
    with pytest.raises(FormatError, match="could exceed int64"):
        fixed.conv_accumulate(x, 0, w, None, ConvSpec.make())
    with pytest.raises(FormatError, match="could exceed int64"):   # x - z_x itself beyond int64
        fixed.conv_accumulate(np.array([[[[I64_MAX]]]], np.int64), -1, np.ones((1, 1, 1, 1), np.int64), None,
                              ConvSpec.make())
    ok = fixed.conv_accumulate(np.full((1, 1, 1, 1), 1 << 31, np.int64), 0, np.full((1, 1, 1, 1), 1 << 31, np.int64),
                               np.array([(1 << 62) - 1], np.int64), ConvSpec.make())
    assert int(ok[0, 0, 0, 0]) == (1 << 62) + (1 << 62) - 1   # 2^63 - 1: the largest, exact


def test_golden_bias_must_be_integers():
    with pytest.raises(FormatError, match="bias must hold integers"):
        fixed.conv_accumulate(np.ones((1, 1, 1, 1), np.int8), 0, np.ones((1, 1, 1, 1), np.int8),
                              np.array([0.5]), ConvSpec.make())


# ---- binary x binary: int32 accumulators ------------------------------------------------------------
@pytest.mark.parametrize("b,taps", [((1 << 31) - 1, 2), (-(1 << 31), 1), ((1 << 31) - 4, 8)])
def test_conv_xnor_int32_accumulator_bound(b, taps):
    x = np.ones((1, taps, 2, 2), np.int8)
    w = np.ones((1, taps, 1, 1), np.int8)
    _both_raise(lambda K: K.conv_xnor(x, w, bias=np.array([b], np.int32), spec=ConvSpec.make()),
                r"exceeds the int32 accumulator")


def test_conv_xnor_at_the_int32_edge_exact():
    x = np.ones((1, 3, 2, 2), np.int8)
    w = np.ones((1, 3, 1, 1), np.int8)
    bias = np.array([(1 << 31) - 4], np.int32)
    ref = reference.conv_xnor(x, w, bias=bias, spec=ConvSpec.make())
    np.testing.assert_array_equal(kernels.conv_xnor(x, w, bias=bias, spec=ConvSpec.make()), ref)
    assert int(ref.max()) == (1 << 31) - 1


# ---- flexpoint ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("b", [(1 << 61) + 1, -(1 << 61) - 1, I64_MAX, I64_MIN])
def test_conv_flex_bias_beyond_2_61_refused(b):
    xm = np.ones((1, 2, 2, 2), np.int16)
    wm = np.ones((1, 2, 1, 1), np.int16)
    _both_raise(lambda K: K.conv_flex(xm, 0, wm, 0, bias=np.array([b], np.int64), spec=ConvSpec.make()),
                r"flex bias must satisfy \|b\| <= 2\^61")


def test_conv_flex_bias_at_2_61_same_bits():
    xm = np.full((1, 2, 2, 2), -32768, np.int16)
    wm = np.full((1, 2, 1, 1), -32768, np.int16)
    for b in (1 << 61, -(1 << 61)):
        args = dict(bias=np.array([b], np.int64), spec=ConvSpec.make(), out_exp=15)
        ref = reference.conv_flex(xm, 15, wm, 15, **args)
        got = kernels.conv_flex(xm, 15, wm, 15, **args)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1:] == tuple(ref[1:])


def test_flex_output_refuses_int64_min():
    with pytest.raises(FormatError, match=r"\|acc\| < 2\^63"):
        flexpoint.flex_output(np.array([I64_MIN, 0], np.int64), 0)
    y, e, over, amax = flexpoint.flex_output(np.array([I64_MAX, -I64_MAX], np.int64), 0, 15)
    assert amax == I64_MAX and e == 15 and over == 2


# ---- instance norm: zero point in the x format ------------------------------------------------------
@pytest.mark.parametrize("bits,signed,zp", [(8, True, 128), (8, True, -129), (8, False, -1), (16, False, 65536),
                                            (16, True, -(1 << 31)), (4, True, 8)])
def test_instance_norm_zero_point_outside_format(bits, signed, zp):
    dt = {(8, True): np.int8, (8, False): np.uint8, (16, True): np.int16, (16, False): np.uint16,
          (4, True): np.int8}[(bits, signed)]
    x = np.zeros((1, 2, 3, 3), dt)
    _both_raise(lambda K: K.instance_norm_codes(x, x_bits=bits, x_signed=signed, scale=0.1, zero_point=zp,
                                                eps=1e-5), "zero_point must lie in the x format's range")


# ---- size arithmetic in the C ABI ---------------------------------------------------------------
cffi = pytest.importorskip("cffi")


@pytest.fixture(scope="module")
def capi():
    from tests.test_capi import _cdef_text
    ffi = cffi.FFI()
    ffi.cdef(_cdef_text(native.header_text()))
    return ffi, ffi.dlopen(native.library_path())


def _raw_tensor(ffi, data, dtype_code, shape):
    t = ffi.new("accelsim_tensor*")
    t.data = ffi.cast("void*", data)
    t.dtype = dtype_code
    t.ndim = len(shape)
    for i, s in enumerate(shape):
        t.shape[i] = s
    return t


@pytest.mark.parametrize("shape,match", [
    ((1 << 40, 1 << 40), "more than 2\\^48 elements"),
    ((1 << 62, 4), "more than 2\\^48 elements"),
    ((3, (1 << 63) - 1, 1 << 20, 2), "more than 2\\^48 elements"),
    ((1 << 31, 1 << 31, 1 << 31, 1 << 31), "more than 2\\^48 elements"),
    ((4, -1), "negative dimension"),
    ((-(1 << 62), -(1 << 62)), "negative dimension"),
])
def test_capi_requantize_refuses_sizes_before_any_product(capi, shape, match):
    """A wrapped element count used to pass the capacity check (need < 0) and reach the kernel."""
    ffi, lib = capi
    acc = np.zeros(16, np.int32)
    m0, sh = np.array([1 << 30], np.int32), np.array([0], np.int32)
    keep = [acc, m0, sh]
    out = np.zeros(16, np.int8)
    rc = lib.accelsim_requantize(_raw_tensor(ffi, acc.ctypes.data, 4, shape), 0,
                                 _raw_tensor(ffi, m0.ctypes.data, 4, (1,)), _raw_tensor(ffi, sh.ctypes.data, 4, (1,)),
                                 ffi.NULL, ffi.NULL, 0, 8, 1, 0, ffi.NULL, ffi.cast("void*", out.ctypes.data), out.nbytes)
    msg = ffi.string(lib.accelsim_last_error()).decode()
    assert rc == 1 and msg.startswith("acc: shape (") and __import__("re").search(match, msg), msg
    assert not out.any() and keep


@pytest.mark.parametrize("which", ["x", "w", "bias"])
def test_capi_conv_refuses_huge_shapes_with_the_tensor_name(capi, which):
    ffi, lib = capi
    x, w, b = np.zeros((1, 2, 3, 3), np.int8), np.zeros((1, 2, 1, 1), np.int8), np.zeros(1, np.int32)
    shapes = {"x": x.shape, "w": w.shape, "bias": b.shape}
    shapes[which] = (1 << 30, 1 << 30) + tuple(shapes[which][2:]) if which != "bias" else (1 << 50,)
    c = ffi.new("accelsim_conv*")
    c.stride_h = c.stride_w = c.dil_h = c.dil_w = c.groups = 1
    out = np.zeros(64, np.int32)
    tx = _raw_tensor(ffi, x.ctypes.data, 0, shapes["x"])
    tw = _raw_tensor(ffi, w.ctypes.data, 0, shapes["w"])
    tb = _raw_tensor(ffi, b.ctypes.data, 4, shapes["bias"])
    rc = lib.accelsim_qconv(tx, 8, 1, 0, tw, 0, 8, tb, c, ffi.cast("void*", out.ctypes.data), out.nbytes)
    msg = ffi.string(lib.accelsim_last_error()).decode()
    assert rc == 1 and msg.startswith(f"{which}: shape (") and "2^48" in msg, msg
    rc = lib.accelsim_bconv(tx, tw, tb, c, ffi.NULL, ffi.cast("int32_t*", out.ctypes.data), out.nbytes)
    assert rc == 1 and ffi.string(lib.accelsim_last_error()).decode().startswith(f"{which}: shape (")
    assert not out.any()


def test_pybind_accepts_an_empty_tensor_with_a_long_dimension():
    """numel checks count an empty tensor as empty, however long its other dimensions."""
    acc = np.zeros((0, 1 << 50), np.int32)
    got = kernels.requantize_integer(acc, np.array([1 << 30]), np.array([0]), zero_point=0, out_bits=8,
                                     out_signed=True)
    assert got.shape == acc.shape and got.dtype == np.int8


# ---- quantize_multiplier edges (mutmut survivors of tools/mutmut_golden.sh) ----------------------
def test_quantize_multiplier_rounding_carry_and_shift_edges():
    import math

    from accelsim.formats.requant import quantize_multiplier
    # frac * 2^31 rounds up to 2^31: m0 carries into the exponent (M = 2^30 * 2^-31 * 2^1 = 1)
    assert quantize_multiplier(math.nextafter(1.0, 0.0)) == (1 << 30, -1)
    assert quantize_multiplier(1.0) == (1 << 30, -1)
    assert quantize_multiplier(0.75 * 2.0 ** 31) == (3 << 29, -31)      # shift -31: the smallest allowed
    assert quantize_multiplier(0.75 * 2.0 ** -62) == (3 << 29, 62)      # shift 62: the largest allowed
    for real in (2.0 ** 31, 0.75 * 2.0 ** -63):
        with pytest.raises(FormatError, match="out of range"):
            quantize_multiplier(real)
