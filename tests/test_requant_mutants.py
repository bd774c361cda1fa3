"""Tests written to kill mutmut's mutants of the golden requantization model (accelsim/formats/requant.py,
tools/mutmut_golden.sh): every refusal with the field it names, every branch of the parameter helpers, and
the arithmetic helpers at their edges. Mutants that cannot change any result are listed, with a reason,
in tools/mutmut_equivalent.txt."""
import math
from fractions import Fraction

import numpy as np
import pytest

from accelsim.errors import FormatError
from accelsim.formats import requant


# ---- quantize_multiplier -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-1.0, -1e-300, float("nan"), float("inf"), float("-inf")])
def test_quantize_multiplier_refuses_negative_and_non_finite(bad):
    with pytest.raises(FormatError, match=r"^requantization multiplier must be finite and >= 0, got "):
        requant.quantize_multiplier(bad)


@pytest.mark.parametrize("real,shift", [(2.0 ** 32, -33), (2.0 ** -64, 63)])
def test_quantize_multiplier_refuses_shift_out_of_range_with_the_bounds(real, shift):
    with pytest.raises(FormatError, match=rf"^requantization multiplier .* is out of range: shift {shift} "
                                          r"not in \[-31, 62\]$"):
        requant.quantize_multiplier(real)


def test_quantize_multiplier_exact_values():
    assert requant.quantize_multiplier(0.0) == (0, 0)
    assert requant.quantize_multiplier(0.5) == (1 << 30, 0)
    assert requant.quantize_multiplier(1.0) == (1 << 30, -1)
    assert requant.quantize_multiplier(0.75) == (3 << 29, 0)
    assert requant.quantize_multiplier(2.0 ** 30) == (1 << 30, -31)     # the last shift in range
    assert requant.quantize_multiplier(2.0 ** -62) == (1 << 30, 61)
    assert requant.quantize_multiplier(2.0 ** -63 * 1.5) == (3 << 29, 62)
    m0, shift = requant.quantize_multiplier(1 - 2.0 ** -40)   # frac * 2^31 rounds to 2^31: carry
    assert (m0, shift) == (1 << 30, -1)
    for m0, shift in (requant.quantize_multiplier(r) for r in (0.3, 1e-9, 7.0)):
        assert isinstance(m0, int) and isinstance(shift, int)


# ---- integer parameters ---------------------------------------------------------------------------
def test_int_params_refusals_name_the_field():
    with pytest.raises(FormatError, match=r"^m0 must hold integers, got float64$"):
        requant._int_params([1.5], "m0")
    with pytest.raises(FormatError, match=r"^shift must hold integers, got object$"):
        requant._int_params(np.array([1, "a"], dtype=object), "shift")
    with pytest.raises(FormatError, match=r"^m0 is out of range: "):
        requant._int_params([1 << 63], "m0")
    with pytest.raises(FormatError, match=r"^m0 is out of range: "):
        requant._int_params([-(1 << 63) - 1], "m0")
    a = requant._int_params([-(1 << 63), (1 << 63) - 1], "m0")
    assert a.dtype == np.int64 and a.tolist() == [-(1 << 63), (1 << 63) - 1]
    assert requant._int_params(np.array([3, 4], dtype=object), "m0").tolist() == [3, 4]
    assert requant._int_params(np.array([], dtype=np.int64), "m0").size == 0
    assert requant._int_params(5, "m0").tolist() == [5]
    assert requant._int_params(np.uint8(200), "m0").tolist() == [200]


def test_check_integer_params_bounds():
    for ok in (0, 1 << 30, (1 << 31) - 1):
        requant._check_integer_params(ok, 0)
    for bad in (1, (1 << 30) - 1, 1 << 31, -1):
        with pytest.raises(FormatError, match=rf"^multiplier m0 must be 0 or in \[2\^30, 2\^31\), got {bad}$"):
            requant._check_integer_params([1 << 30, bad], [0, 0])
    for sh in (-31, 62):
        requant._check_integer_params(1 << 30, sh)
    for sh in (-32, 63):
        with pytest.raises(FormatError, match=rf"^shift must be in \[-31, 62\], got {min(0, sh)}\.\.{max(0, sh)}$"):
            requant._check_integer_params([1 << 30, 1 << 30], [0, sh])


# ---- the two rounding primitives ------------------------------------------------------------------
def test_srdhm_rndnu_ties_and_signs():
    h = 1 << 30   # a * m / 2^31 = a/2 for m = 2^30
    assert [requant.srdhm_rndnu(a, h) for a in (1, -1, 3, -3, 2, -2, 0)] == [1, 0, 2, -1, 1, -1, 0]
    assert requant.srdhm_rndnu(5, (1 << 31) - 1) == 5
    assert requant.srdhm_rndnu(-(1 << 40), 1 << 30) == -(1 << 39)


def test_rdpot_rndna_ties_away_from_zero():
    assert [requant.rdpot_rndna(x, 1) for x in (1, -1, 3, -3, 2, -2, 0)] == [1, -1, 2, -2, 1, -1, 0]
    assert [requant.rdpot_rndna(x, 2) for x in (5, 6, -5, -6, 7, -7)] == [1, 2, -1, -2, 2, -2]
    assert requant.rdpot_rndna(-7, 0) == -7 and requant.rdpot_rndna(7, 0) == 7


# ---- requantize_integer -------------------------------------------------------------------------
def test_requantize_integer_per_channel_axis_and_shapes():
    acc = np.arange(-12, 12).reshape(2, 3, 4) * 1000
    m0 = [1 << 30, 3 << 29, (1 << 31) - 1]
    sh = [8, 9, -2]
    y = requant.requantize_integer(acc, m0, sh, 3, -128, 127, channel_axis=1)
    for c in range(3):
        for idx in np.ndindex(2, 4):
            v = int(acc[idx[0], c, idx[1]])
            left, right = max(-sh[c], 0), max(sh[c], 0)
            want = requant.rdpot_rndna(requant.srdhm_rndnu(v << left, m0[c]), right) + 3
            assert y[idx[0], c, idx[1]] == min(max(want, -128), 127)
    y0 = requant.requantize_integer(acc.transpose(1, 0, 2), m0, sh, 3, -128, 127, channel_axis=0)
    np.testing.assert_array_equal(y0, y.transpose(1, 0, 2))
    # 1-D: the channel axis is 0 whatever channel_axis says; a 0-d acc is one element
    assert requant.requantize_integer(np.array([1000, 2000, 3000]), m0, sh, 0, -128, 127, channel_axis=1).tolist() \
        == [requant.requantize_integer(np.array([v]), m0[i], sh[i], 0, -128, 127).item()
            for i, v in enumerate([1000, 2000, 3000])]
    assert requant.requantize_integer(np.int64(512), 1 << 30, 0, 0, -128, 127).shape == (1,)
    assert requant.requantize_integer(np.zeros((0, 3)), 1 << 30, 0, 0, 0, 255).shape == (0, 3)
    assert requant.requantize_integer(np.zeros((2, 3), np.int64), 1 << 30, 0, 0, 0, 255).dtype == np.int64
    # clamp at both ends, with qmin/qmax exactly reached
    y = requant.requantize_integer(np.array([-10 ** 9, 10 ** 9, 254, 256]), 1 << 30, 0, 0, 0, 127)
    assert y.tolist() == [0, 127, 127, 127]
    assert requant.requantize_integer(np.array([-3, 3]), 1 << 30, 0, 0, -1, 1).tolist() == [-1, 1]


def test_requantize_integer_parameter_counts_named():
    with pytest.raises(FormatError, match=r"^m0/shift must have 1 or 3 entries, got 2/2$"):
        requant.requantize_integer(np.zeros((1, 3)), [1 << 30] * 2, [0, 0], 0, 0, 255)
    with pytest.raises(FormatError, match=r"^m0/shift must have 1 or 3 entries, got 3/1$"):
        requant.requantize_integer(np.zeros((1, 3)), [1 << 30] * 3, [0], 0, 0, 255)


# ---- torch / qnnpack parameters -------------------------------------------------------------------
def test_f32_channels_refusals_and_values():
    with pytest.raises(FormatError, match=r"^bias must be a scalar or 1-D, got shape \(1, 2\)$"):
        requant._f32_channels([[1.0, 2.0]], "bias")
    for bad in ([1.0, np.nan], [np.inf], [1e300], [-1e39]):   # 1e300: finite in float64, not in float32
        with pytest.raises(FormatError, match=r"^s_w must be finite in float32$"):
            requant._f32_channels(bad, "s_w")
    v = requant._f32_channels(0.1, "s_w")
    assert v.dtype == np.float32 and v.shape == (1,) and v[0] == np.float32(0.1)
    assert requant._f32_channels([3e38], "x")[0] == np.float32(3e38)


def test_fbgemm_params_both_schemes():
    sx, sy = 0.02, 0.07
    sw = [0.01, 0.03]
    aw = (np.float32(sx) * np.float32(sw)).astype(np.float32)
    b, k, m = requant.fbgemm_params(sx, sw, sy, [0.5, -0.25])
    assert b.dtype == k.dtype == m.dtype == np.float32 and b.shape == k.shape == m.shape == (2,)
    np.testing.assert_array_equal(b, (np.float32([0.5, -0.25]) / aw).astype(np.float32))
    np.testing.assert_array_equal(k, [1.0, 1.0])
    np.testing.assert_array_equal(m, (aw / np.float32(sy)).astype(np.float32))
    b, k, m = requant.fbgemm_params(sx, sw[:1], sy, [0.5, -0.25])   # per tensor (one scale): bias as given
    np.testing.assert_array_equal(b, np.float32([0.5, -0.25]))
    np.testing.assert_array_equal(k, np.float32([1.0 / np.float64(aw[0])] * 2))
    np.testing.assert_array_equal(m, np.float32([aw[0] / np.float32(sy)] * 2))
    b, k, m = requant.fbgemm_params(sx, sw[:1], sy, [0.5], per_channel=True)   # one channel, per channel
    assert b[0] == np.float32(np.float32(0.5) / aw[0]) and k[0] == 1
    b, k, m = requant.fbgemm_params(sx, sw, sy)   # no bias
    assert b.tolist() == [0.0, 0.0] and k.tolist() == [1.0, 1.0]
    b, k, m = requant.fbgemm_params(sx, sw[0], sy)
    assert b.tolist() == [0.0] and k[0] == np.float32(1.0 / np.float64(aw[0]))
    with pytest.raises(FormatError, match=r"^per-tensor weights have one scale, got 2$"):
        requant.fbgemm_params(sx, sw, sy, per_channel=False)


def test_qnnpack_params_uses_the_reciprocal_of_s_y():
    rng = np.random.default_rng(2)
    found = False
    for _ in range(5000):
        sx, sw, sy = (float(np.float32(v)) for v in rng.uniform(0.001, 0.1, 3))
        m = requant.qnnpack_params(sx, [sw], sy)
        want = np.float32(np.float32(np.float32(sw) * np.float32(sx)) * np.float32(np.float32(1) / np.float32(sy)))
        assert m[0] == want and m.dtype == np.float32 and m.flags.c_contiguous
        found |= want != np.float32(np.float32(np.float32(sw) * np.float32(sx)) / np.float32(sy))
    assert found   # the reciprocal form differs from fbgemm's division somewhere in the sample
    assert requant.qnnpack_params(0.5, [0.5, 0.25], 2.0).tolist() == [0.125, 0.0625]


# ---- wrap32 / fma32 / cvt_i32 ----------------------------------------------------------------------
def test_wrap32_refuses_floats_and_wraps_every_integer_dtype():
    with pytest.raises(FormatError, match=r"^acc must hold integers, got dtype float32$"):
        requant.wrap32(np.float32([1.0]))
    assert requant.wrap32(np.uint64([2 ** 32 - 1, 2 ** 31])).tolist() == [-1, -2 ** 31]
    assert requant.wrap32(np.int32([-5, 7])).tolist() == [-5, 7]
    assert requant.wrap32(np.int64([2 ** 31 - 1, -2 ** 31])).dtype == np.int64


def test_fma32_rounds_once_in_both_directions():
    c = np.float32(2 ** 22)          # grid step 0.5 at 2^22
    k = np.float32(1.0 + 2 ** -23)   # b * k = 0.25 * (1 + 2^-23): just above the tie
    b = np.float32(0.25)
    assert requant.fma32(b, k, c) == np.float32(2 ** 22 + 0.5)
    assert requant.fma32(-b, k, -c) == np.float32(-(2 ** 22 + 0.5))
    assert requant.fma32(b, np.float32(1.0), c) == np.float32(2 ** 22)   # exact tie: to even
    k2 = np.float32(1.0 - 2 ** -24)  # just below the tie: down
    assert requant.fma32(b, k2, c) == np.float32(2 ** 22)
    assert requant.fma32(np.float32(3), np.float32(5), np.float32(7)) == 22
    assert requant.fma32(np.float32([1, 2]), np.float32(3), np.float32([0, 1])).tolist() == [3, 7]
    # against exact rationals where the float64 sum itself is inexact (a sticky bit decides)
    a, bb, cc = np.float32(1 + 2 ** -23), np.float32(1 + 2 ** -22), np.float32(-2 ** 30)
    exact = Fraction(float(a)) * Fraction(float(bb)) + Fraction(float(cc))
    assert Fraction(float(requant.fma32(a, bb, cc))) == Fraction(float(np.float32(float(exact))))


def test_cvt_i32_edges():
    u = np.float32([2.5, 3.5, -2.5, -3.5, 2 ** 31 - 128, -2.0 ** 31, 2.0 ** 31, -2.0 ** 31 - 256, np.inf, np.nan])
    assert requant.cvt_i32(u).tolist() == [2, 4, -2, -4, 2 ** 31 - 128, -2 ** 31, -2 ** 31, -2 ** 31, -2 ** 31,
                                          -2 ** 31]
    assert requant.cvt_i32(np.float32([1.0])).dtype == np.int64


# ---- requantize_torch / requantize_qnnpack ---------------------------------------------------------
def test_requantize_torch_parameter_refusals():
    acc = np.zeros((1, 3, 2), np.int32)
    with pytest.raises(FormatError, match=r"^bias_f32 must have 1 or 3 entries, got shape \(2,\)$"):
        requant.requantize_torch(acc, [0, 0], 1.0, 0, 0, 255)
    with pytest.raises(FormatError, match=r"^bias_mul_f32 must have 1 or 3 entries, got shape \(1, 1\)$"):
        requant.requantize_torch(acc, 0.0, 1.0, 0, 0, 255, bias_mul_f32=[[1.0]])
    with pytest.raises(FormatError, match=r"^mult_f32 must have 1 or 3 entries, got shape \(4,\)$"):
        requant.requantize_torch(acc, 0.0, [1.0] * 4, 0, 0, 255)
    for name, kw in (("bias_f32", dict(bias_f32=np.nan)), ("mult_f32", dict(mult_f32=np.inf)),
                     ("bias_mul_f32", dict(bias_mul_f32=2e30)), ("bias_f32", dict(bias_f32=-2e30))):
        args = dict(bias_f32=0.0, mult_f32=1.0) | kw
        with pytest.raises(FormatError, match=rf"^torch-mode {name} must be finite, \|v\| <= 1e30$"):
            requant.requantize_torch(acc, args.pop("bias_f32"), args.pop("mult_f32"), 0, 0, 255, **args)
    with pytest.raises(FormatError, match=r"^torch-mode mult_f32 must be >= 0$"):
        requant.requantize_torch(acc, 0.0, -1.0, 0, 0, 255)
    requant.requantize_torch(acc, 1e30, 1e30, 0, 0, 255, bias_mul_f32=-1e30)   # the bounds themselves pass
    requant.requantize_torch(acc, 0.0, 0.0, 0, 0, 255)


def test_requantize_torch_channels_and_formula():
    rng = np.random.default_rng(4)
    acc = rng.integers(-2 ** 20, 2 ** 20, (2, 3, 5)).astype(np.int64)
    b, k, m = np.float32([0.5, -7.25, 3.0]), np.float32([1.5, 0.75, 2.0]), np.float32([2 ** -12, 0.001, 3e-4])
    y = requant.requantize_torch(acc, b, m, 7, -128, 127, channel_axis=1, bias_mul_f32=k)
    for c in range(3):
        t = requant.fma32(b[c], k[c], acc[:, c].astype(np.float32))
        u = (t * m[c]).astype(np.float32)
        np.testing.assert_array_equal(y[:, c], np.clip(np.rint(u.astype(np.float64)) + 7, -128, 127))
    y0 = requant.requantize_torch(acc.transpose(1, 0, 2), b, m, 7, -128, 127, channel_axis=0, bias_mul_f32=k)
    np.testing.assert_array_equal(y0, y.transpose(1, 0, 2))
    assert y.dtype == np.int64
    one = requant.requantize_torch(np.array([10, 20, 30]), b, m, 0, -128, 127, channel_axis=1, bias_mul_f32=k)
    assert one.shape == (3,)   # 1-D: the channel axis is 0
    # clamps reach both bounds exactly
    assert requant.requantize_torch(np.array([-1000, 1000, 5, -5]), 0.0, 1.0, 0, -3, 3).tolist() == [-3, 3, 3, -3]


def test_requantize_qnnpack_is_torch_without_bias():
    acc = np.array([[100, -100, 2 ** 31 + 5]], np.int64).reshape(1, 1, 3)
    y = requant.requantize_qnnpack(acc, [0.5], 3, 0, 255)
    assert y.tolist() == [[[53, 0, 0]]]   # 2^31 + 5 wraps to -2^31 + 5
    y = requant.requantize_qnnpack(acc.reshape(3, 1, 1), [0.5, 0.25, 1.0], 3, 0, 255, channel_axis=0)
    assert y.ravel().tolist() == [53, 0, 0]


# ---- activations ----------------------------------------------------------------------------------
def test_relu_codes():
    assert requant.relu_codes(np.array([-5, 3, 4, 10]), 4).tolist() == [4, 4, 4, 10]


def test_activation_lut_values_and_refusals():
    lut = requant.activation_lut("sigmoid", 0.1, 0, -4, 3, 1 / 255, -128, -128, 127)
    q = np.arange(-4, 4)
    want = np.clip(np.rint((1 / (1 + np.exp(-0.1 * q))) * 255) - 128, -128, 127)
    assert lut.tolist() == want.tolist() and lut.dtype == np.int64
    lut = requant.activation_lut("tanh", 0.5, 2, 0, 7, 0.25, 1, 0, 5)
    assert lut.tolist() == np.clip(np.rint(np.tanh(0.5 * (np.arange(8) - 2)) / 0.25) + 1, 0, 5).tolist()
    with pytest.raises(FormatError, match=r"^activation must be one of \['sigmoid', 'tanh'\], got 'gelu'$"):
        requant.activation_lut("gelu", 1, 0, 0, 1, 1, 0, 0, 1)
    for s_in, s_out in ((0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (1.0, -1.0)):
        with pytest.raises(FormatError, match=r"^activation_lut scales must be > 0$"):
            requant.activation_lut("tanh", s_in, 0, 0, 1, s_out, 0, 0, 1)
    assert math.isclose(requant.activation_lut("sigmoid", 1e-9, 0, 0, 0, 1e-3, 0, 0, 1000)[0], 500)


def test_apply_lut_bounds():
    lut = np.array([10, 20, 30])
    assert requant.apply_lut(np.array([-1, 0, 1]), lut, -1).tolist() == [10, 20, 30]
    assert requant.apply_lut(np.array([], np.int64), lut, -1).size == 0
    for bad in ([-2], [2]):
        with pytest.raises(FormatError, match=r"^codes out of the lookup table's range \[-1, 1\]$"):
            requant.apply_lut(np.array(bad), lut, -1)


def test_apply_lut_widens_codes_and_table_to_int64():
    """Codes in a narrow unsigned container with a negative qmin, and an int32 table: the index and
    the result are int64 (kills the mutants that drop dtype=np.int64)."""
    lut = np.arange(-128, 128, dtype=np.int32)[::-1].copy()
    codes = np.array([0, 127, 5], np.uint8)   # uint8 - (-128) overflows uint8 without the widening
    y = requant.apply_lut(codes, lut, -128)
    assert y.dtype == np.int64 and y.tolist() == [-1, -128, -6]
    y = requant.apply_lut(np.array([[1, -1]], np.int8), lut, -128)
    assert y.dtype == np.int64 and y.tolist() == [[-2, 0]]


def test_requantize_qnnpack_default_axis_clamp_and_zero_bias():
    acc = np.array([[[10, 11], [-3, 4000], [7, 8]]], np.int64)   # (1, 3, 2): channels on axis 1 by default
    y = requant.requantize_qnnpack(acc, [1.0, 0.5, 2.0], 0, -128, 127)
    assert y.tolist() == [[[10, 11], [-2, 127], [14, 16]]]     # -1.5 -> -2 (half to even); 2000 clamps at 127
    assert requant.requantize_qnnpack(np.array([5, -5]), 1.0, 0, -128, 127).tolist() == [5, -5]   # no bias added


def test_scale_refusals_name_the_field():
    with pytest.raises(FormatError, match=r"^s_w must be finite in float32$"):
        requant.fbgemm_params(0.1, [0.1, np.nan], 0.2)
    with pytest.raises(FormatError, match=r"^bias must be finite in float32$"):
        requant.fbgemm_params(0.1, [0.1], 0.2, bias=[np.inf])
    with pytest.raises(FormatError, match=r"^s_w must be a scalar or 1-D, got shape \(1, 1\)$"):
        requant.qnnpack_params(0.1, [[0.1]], 0.2)


def test_activation_lut_clamps_at_both_ends():
    lut = requant.activation_lut("tanh", 1.0, 0, -3, 3, 0.1, 0, -4, 4)   # tanh(+-3)/0.1 ~ +-9.95
    assert lut.tolist() == [-4, -4, -4, 0, 4, 4, 4]


def test_requantize_torch_rounds_parameters_to_float32_first():
    """mult 0.3 as float64 and as float32 give different codes for acc = -873795 (the float32 one is fbgemm's);
    the default k is 1 (a bias is added as given)."""
    acc = np.array([-873795, -873775])
    want = np.rint((acc.astype(np.float32) * np.float32(0.3)).astype(np.float32)).astype(np.int64)
    assert requant.requantize_torch(acc, 0.0, 0.3, 0, -2 ** 31, 2 ** 31).tolist() == want.tolist()
    assert requant.requantize_torch(np.array([0]), 3.0, 1.0, 0, -128, 127).tolist() == [3]


def test_requantize_torch_overflow_and_nan_without_warnings():
    # t = 1e38 (finite), t * 100 overflows float32 -> inf -> INT32_MIN -> the lowest code
    assert requant.requantize_torch(np.array([0]), 1e30, 100.0, 5, 0, 255, bias_mul_f32=1e8).tolist() == [0]
    # t = inf, inf * 0 = NaN -> INT32_MIN
    assert requant.requantize_torch(np.array([0]), 1e30, 0.0, 5, 0, 255, bias_mul_f32=1e30).tolist() == [0]


def test_fma32_and_cvt_i32_round_float64_inputs_to_float32():
    e = 1 + 2.0 ** -30   # float64; float32(e) = 1: each input is rounded to float32 before the product
    assert requant.fma32(e, 1.0, -1.0) == 0 and requant.fma32(1.0, e, -1.0) == 0
    assert requant.fma32(1.0, 1.0, -e) == 0
    assert requant.cvt_i32(np.float64([2.50000001])).tolist() == [2]   # float32(2.50000001) = 2.5: a tie, to even


def test_quantize_multiplier_carry_at_a_nonzero_exponent():
    assert requant.quantize_multiplier(2 * (1 - 2.0 ** -40)) == (1 << 30, -2)
    assert requant.quantize_multiplier(4 * (1 - 2.0 ** -40)) == (1 << 30, -3)


def test_integer_params_refusals_name_m0_and_shift():
    """requantize_integer names the field whose values are not integers (m0, shift)."""
    with pytest.raises(FormatError, match=r"^m0 must hold integers, got float64$"):
        requant.requantize_integer(np.array([1]), 1.5, 0, 0, 0, 255)
    with pytest.raises(FormatError, match=r"^shift must hold integers, got float64$"):
        requant.requantize_integer(np.array([1]), 1 << 30, 0.5, 0, 0, 255)
    with pytest.raises(FormatError, match=r"^m0 is out of range: "):
        requant.requantize_integer(np.array([1]), [1 << 64], 0, 0, 0, 255)
    with pytest.raises(FormatError, match=r"^shift is out of range: "):
        requant.requantize_integer(np.array([1]), 1 << 30, [-(1 << 64)], 0, 0, 255)


def test_srdhm_rndnu_just_below_a_negative_tie():
    """a*m / 2^31 = -0.5 - 2^-31 rounds to -1 (the nudge is 1 - 2^30 for a negative product, not 2 - 2^30),
    in srdhm_rndnu and through requantize_integer."""
    m = (1 << 30) + 1
    assert requant.srdhm_rndnu(-1, m) == -1 and requant.srdhm_rndnu(-3, m) == -2   # -1.5 - 3*2^-31 -> -2
    assert requant.srdhm_rndnu(-1, 1 << 30) == 0                                    # the tie itself: toward +inf
    assert requant.requantize_integer(np.array([-1, 1]), m, 0, 0, -128, 127).tolist() == [-1, 1]


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="long double has no more bits than float64")
def test_scales_pass_through_float64_as_python_floats():
    """A long double scale reaches float32 through float64 (torch takes scales as Python floats): 1 + 2^-24 +
    2^-60 is the float64 tie 1 + 2^-24, which rounds to even: 1, where a direct rounding would give 1 + 2^-23."""
    x = np.longdouble(1) + np.longdouble(2) ** -24 + np.longdouble(2) ** -60
    assert requant._f32_channels(x, "s_w")[0] == 1.0
    assert requant._f32_channels(np.array([x, x]), "s_w").tolist() == [1.0, 1.0]


def _round_f32(x: Fraction) -> np.float32:
    """Correct rounding of an exact rational to float32, ties to even (no float64 step)."""
    f = np.float32(float(x))
    cands = [np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))]
    best = min(abs(Fraction(float(v)) - x) for v in cands)
    near = [v for v in cands if abs(Fraction(float(v)) - x) == best]
    return near[0] if len(near) == 1 else next(v for v in near if (int(np.float32(v).view(np.int32)) & 1) == 0)


def _double_rounding_cases():
    """(a, b, c) float32 with the float64 sum s = RN64(a*b + c) exactly at a float32 midpoint M or one float64
    ulp from it, and the exact sum off s by less than half a float64 ulp, either side (or exactly M): the
    cases where rounding the float64 sum to float32 would round twice, and fma32's round-to-odd step decides.
    First a*b is small next to c (built from integer mantissas A*B close to the wanted product), then c is
    small next to a*b."""
    cases = []
    for c in (1 + 2.0 ** -23 * 6, 1 + 2.0 ** -23 * 7, 1.5 + 2.0 ** -23 * 2, 1.5 + 2.0 ** -23 * 3):
        for sign in (1, -1):
            half = Fraction(2) ** -24 * sign                   # to the midpoint above |c|
            u64 = Fraction(2) ** -52                           # float64 ulp in [1, 2)
            for k in (-1, 0, 1):
                target = half + sign * k * u64                 # p = target + delta, |delta| < u64 / 2
                e = -70                                        # |target| ~ 2^-24 = 2^46 * 2^e
                P = target / Fraction(2) ** e
                assert P.denominator == 1
                for dsign in ((1, -1, 0) if k == 0 else (1, -1)):
                    for A in range(1 << 23, (1 << 23) + 4000):
                        B = round(abs(P) / A)
                        d = A * B - abs(P)
                        if (dsign == 0 and d == 0) or (dsign and 0 < dsign * d < 1 << 17):
                            break
                    else:
                        raise AssertionError("no case found")
                    a = np.float32(sign * A * 2.0 ** -47)
                    b = np.float32(B * 2.0 ** -23)
                    assert Fraction(float(a)) * Fraction(float(b)) == sign * (abs(P) + d) * Fraction(2) ** e
                    cases.append((a, b, np.float32(sign * c)))
    # the other way round: the product is the float32 midpoint M = 3 * B * 2^-24 itself (25 significant bits)
    # and c is tiny, one float64 ulp or none plus or minus 2^-60 (TwoSum's error term then comes from c)
    for j in (1, 3, 5, 7, 9, 11):
        if (2 ** 24 + j) % 3:
            continue
        for sign in (1, -1):
            a, b = np.float32(sign * 0.75), np.float32((2 ** 24 + j) // 3 * 2.0 ** -22)
            for k in (-1, 0, 1):
                for dsign in ((1, -1, 0) if k == 0 else (1, -1)):
                    cases.append((a, b, np.float32(sign * (k * 2.0 ** -52 + dsign * 2.0 ** -60))))
    return cases


def test_fma32_rounds_once_where_the_float64_sum_rounds_twice():
    """fma32 equals the exact rational a*b + c rounded once to float32 on the cases where RN32(RN64(.)) would
    not (kills the mutants of its TwoSum error term, its parity test and its direction of the nudge)."""
    cases = _double_rounding_cases()
    twice = 0
    for a, b, c in cases:
        exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
        want = _round_f32(exact)
        assert requant.fma32(a, b, c) == want, (a, b, c)
        twice += np.float32(float(a) * float(b) + float(c)) != want   # the float64 sum rounded to float32
    assert len(cases) == 84 and twice == 12   # ties met from the side away from their even neighbour
    a, b, c = (np.array(v, np.float32) for v in zip(*cases))
    want = np.array([_round_f32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
                     for x, y, z in cases], np.float32)
    np.testing.assert_array_equal(requant.fma32(a, b, c), want)   # the array form, all at once


@pytest.mark.parametrize("args, field", [((0.1, 10**400, 0.2), "s_w"), ((10**400, 0.1, 0.2), "s_x"),
                                         ((0.1, 0.1, 10**400), "s_y"), ((0.1, "abc", 0.2), "s_w"), ((0.1, 10**5000, 0.2), "s_w")])
def test_torch_params_beyond_float_range_name_the_field(args, field):
    """An integer scale beyond float64's range is a FormatError naming the parameter, not an OverflowError."""
    from accelsim.errors import FormatError
    for fn in (requant.fbgemm_params, requant.qnnpack_params):
        with pytest.raises(FormatError, match=field):
            fn(*args)
