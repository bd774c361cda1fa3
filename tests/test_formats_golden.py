"""The golden model against its own oracles: torch (fp32), its two transposed-conv forms, and the
integer formulas of the requantizer."""
import itertools

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from accelsim.formats import fixed, flexpoint, requant
from accelsim.formats.conv import ConvSpec, conv2d, conv_transpose2d_gather, conv_transpose2d_scatter
from accelsim.validate import random_spec

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("seed", range(40))
def test_fp32_golden_matches_torch(seed):
    rng = np.random.default_rng(seed)
    spec, xs, ws = random_spec(rng)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    kw = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation, groups=spec.groups)
    if spec.transposed:
        ours = conv_transpose2d_scatter(x.astype(np.float32), w.astype(np.float32), spec)
        theirs = torch.nn.functional.conv_transpose2d(torch.tensor(x, dtype=torch.float32),
                                                      torch.tensor(w, dtype=torch.float32),
                                                      output_padding=spec.output_padding, **kw)
    else:
        ours = conv2d(x.astype(np.float32), w.astype(np.float32), spec)
        theirs = torch.nn.functional.conv2d(torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32), **kw)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-4)


@given(seed=st.integers(0, 2**32 - 1))
def test_scatter_and_gather_forms_agree_exactly(seed):
    rng = np.random.default_rng(seed)
    spec, xs, ws = random_spec(rng)
    if not spec.transposed:
        spec = ConvSpec.make(spec.stride, spec.padding, 0, spec.dilation, spec.groups, True)
        ws = (xs[1], ws[0] // spec.groups, ws[2], ws[3])
        try:
            spec.check_shapes(xs, ws)
        except ValueError:
            return
    x = rng.integers(-1000, 1000, xs)
    w = rng.integers(-1000, 1000, ws)
    np.testing.assert_array_equal(conv_transpose2d_scatter(x, w, spec), conv_transpose2d_gather(x, w, spec))


def test_bad_geometry_is_rejected():
    with pytest.raises(ValueError, match="output_padding"):
        ConvSpec.make(stride=2, output_padding=2, transposed=True)
    with pytest.raises(ValueError, match="stride"):
        ConvSpec.make(stride=0)
    with pytest.raises(ValueError, match="padding"):
        ConvSpec.make(padding=-1)
    with pytest.raises(ValueError, match="must equal x channels"):
        ConvSpec.make(transposed=True).check_shapes((1, 3, 4, 4), (4, 2, 3, 3))
    with pytest.raises(ValueError, match="4-D"):
        ConvSpec.make().check_shapes((3, 4, 4), (4, 3, 3, 3))


# ---- requantization -------------------------------------------------------------------------------
def gemmlowp_srdhm(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul, transcribed with int64 C semantics."""
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    return int(num / (1 << 31)) if abs(num) < (1 << 52) else (abs(num) >> 31) * (1 if num >= 0 else -1)


@given(a=st.integers(-(1 << 31), (1 << 31) - 1), m=st.integers(1 << 30, (1 << 31) - 1))
@example(a=-(1 << 31), m=(1 << 31) - 1)
@example(a=1 << 30, m=1 << 30)
@example(a=-(1 << 30), m=1 << 30)
def test_srdhm_matches_gemmlowp(a, m):
    assert requant.srdhm_rndnu(a, m) == gemmlowp_srdhm(a, m)


def test_srdhm_rounds_ties_up():
    # a*m / 2^31 = +-0.5 and +-1.5 exactly
    assert requant.srdhm_rndnu(1, 1 << 30) == 1      # +0.5 -> 1
    assert requant.srdhm_rndnu(-1, 1 << 30) == 0     # -0.5 -> 0 (toward +inf)
    assert requant.srdhm_rndnu(-3, 1 << 30) == -1    # -1.5 -> -1


def test_rdpot_rounds_ties_away_exhaustive():
    for e in range(0, 8):
        for x in range(-300, 300):
            exact = x / (1 << e)
            expected = int(np.floor(abs(exact) + 0.5)) * (1 if x >= 0 else -1)
            assert requant.rdpot_rndna(x, e) == expected, (x, e)


def test_every_zero_point_and_shift_int8():
    """Exhaustive over the int8 output zero points x shifts 0..31: the integer requantizer equals
    the exact-rational rounding rule it claims (rndnu then rndna)."""
    acc = np.arange(-4096, 4096, 37, dtype=np.int64)
    m0 = 1 << 30  # M = 0.5 * 2^-shift
    for shift, zp in itertools.product(range(0, 32), range(-128, 128, 5)):
        got = requant.requantize_integer(acc, m0, shift, zp, -128, 127, channel_axis=0)
        high = [requant.srdhm_rndnu(int(a), m0) for a in acc]
        exp = [min(max(requant.rdpot_rndna(h, shift) + zp, -128), 127) for h in high]
        np.testing.assert_array_equal(got, exp)


def test_quantize_multiplier_roundtrip():
    for real in [1e-9, 0.0001, 0.3, 0.5, 0.999999, 1.0, 3.7, 1000.0]:
        m0, shift = requant.quantize_multiplier(real)
        assert (1 << 30) <= m0 < (1 << 31)
        assert abs(m0 * 2.0 ** (-31 - shift) / real - 1) < 1e-9
    assert requant.quantize_multiplier(0.0) == (0, 0)
    for bad in [-1.0, float("nan"), float("inf"), 1e30]:
        with pytest.raises(ValueError):
            requant.quantize_multiplier(bad)


def test_requant_torch_mode_matches_float_formula():
    rng = np.random.default_rng(0)
    acc = rng.integers(-100000, 100000, (2, 3, 4, 4)).astype(np.int32)
    b, k, m = requant.fbgemm_params(0.02, [0.01, 0.02, 0.03], 0.05, bias=[0.1, -0.2, 0.3])
    assert (k == 1).all()   # per-channel weights: the bias is divided, not multiplied by a reciprocal
    y = requant.requantize_torch(acc, b, m, 3, -128, 127, bias_mul_f32=k)
    t = (acc.astype(np.float32) + b.reshape(1, 3, 1, 1)) * m.reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(y, np.clip(np.rint(t) + 3, -128, 127))
    b1, k1, m1 = requant.fbgemm_params(0.02, [0.01], 0.05, bias=[0.1, -0.2, 0.3])
    assert b1.tolist() == np.float32([0.1, -0.2, 0.3]).tolist()
    assert k1[0] == np.float32(1.0 / np.float64(np.float32(np.float32(0.02) * np.float32(0.01))))


def test_fma32_is_one_rounding():
    """fma32 against exact rational arithmetic rounded to float32 (nearest, ties to even)."""
    from fractions import Fraction
    rng = np.random.default_rng(1)

    def round_f32(q: Fraction) -> np.float32:
        lo = np.float32(float(q))   # float64 first, then adjust to the exact float32 neighbours
        for _ in range(3):
            if Fraction(float(lo)) > q:
                lo = np.nextafter(lo, np.float32(-np.inf))
            elif Fraction(float(np.nextafter(lo, np.float32(np.inf)))) <= q:
                lo = np.nextafter(lo, np.float32(np.inf))
        hi = np.nextafter(lo, np.float32(np.inf))
        dlo, dhi = q - Fraction(float(lo)), Fraction(float(hi)) - q
        if dlo != dhi:
            return lo if dlo < dhi else hi
        return lo if (np.float32(lo).view(np.int32) & 1) == 0 else hi

    a = rng.normal(0, 1, 3000).astype(np.float32) * np.float32(2.0) ** rng.integers(-30, 30, 3000).astype(np.float32)
    b = rng.normal(0, 1, 3000).astype(np.float32)
    c = rng.integers(-(1 << 31), 1 << 31, 3000).astype(np.float32)
    got = requant.fma32(a, b, c)
    for i in range(3000):
        exact = Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(float(c[i]))
        assert got[i] == round_f32(exact), (a[i], b[i], c[i])


def test_wrap32_and_cvt_i32():
    acc = np.array([0, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 32 + 5, -(2 ** 63), 2 ** 63 - 1])
    assert requant.wrap32(acc).tolist() == [0, 2 ** 31 - 1, -2 ** 31, -2 ** 31, 2 ** 31 - 1, 5, 0, -1]
    u = np.float32([0.5, 1.5, -0.5, -2.5, 2.0 ** 31, -2.0 ** 31, 2.0 ** 31 - 128, np.nan, -np.inf])
    assert requant.cvt_i32(u).tolist() == [0, 2, 0, -2, -2 ** 31, -2 ** 31, 2 ** 31 - 128, -2 ** 31, -2 ** 31]
    # the conversion overflow reaches the codes: 2^31 gives the lowest code, not the highest
    assert requant.requantize_torch(np.array([2 ** 24, 2 ** 23]), 0.0, 128.0, 0, 0, 255).tolist() == [0, 255]
    assert requant.requantize_torch(np.array([2 ** 32 + 7]), 0.0, 1.0, 0, -128, 127).tolist() == [7]
    from accelsim import kernels   # the C++ kernel: same wrap, same overflow
    acc = np.array([2 ** 24, 2 ** 23, 2 ** 32 + 7, -(2 ** 40) - 3, 2 ** 31 + 2 ** 30], np.int64)
    args = dict(zero_point=5, out_bits=8, out_signed=False)
    np.testing.assert_array_equal(kernels.requantize_torch(acc, 0.0, 128.0, **args),
                                  requant.requantize_torch(acc, 0.0, 128.0, 5, 0, 255))
    np.testing.assert_array_equal(kernels.requantize_torch(acc, 3.0, 2.0 ** -20, bias_mul_f32=0.1, **args),
                                  requant.requantize_torch(acc, 3.0, 2.0 ** -20, 5, 0, 255, bias_mul_f32=0.1))


def test_activation_lut_tanh_is_monotonic_and_exact():
    lut = requant.activation_lut("tanh", 4 / 256, 0, -128, 127, 1 / 127, 0, -128, 127)
    assert lut.shape == (256,) and (np.diff(lut) >= 0).all()
    assert lut[128] == 0 and lut[-1] == round(np.tanh(127 * 4 / 256) * 127) and lut[0] == round(np.tanh(-128 * 4 / 256) * 127)
    with pytest.raises(ValueError):
        requant.activation_lut("gelu", 1, 0, 0, 1, 1, 0, 0, 1)


# ---- fixed point --------------------------------------------------------------------------------------
def test_int_format_ranges():
    assert (fixed.IntFormat(8).qmin, fixed.IntFormat(8).qmax) == (-128, 127)
    assert (fixed.IntFormat(4, False).qmin, fixed.IntFormat(4, False).qmax) == (0, 15)
    assert (fixed.weight_format(2).qmin, fixed.weight_format(2).qmax) == (-1, 1)
    for bad in [0, 17, 3.5]:
        with pytest.raises(ValueError, match="bits"):
            fixed.IntFormat(bad)


def test_quantize_rejects_nan_and_saturates():
    f = fixed.IntFormat(8)
    np.testing.assert_array_equal(fixed.quantize([1e9, -1e9, 0.5, 1.5, 2.5], 1.0, 0, f), [127, -128, 0, 2, 2])
    with pytest.raises(ValueError, match="NaN"):
        fixed.quantize([np.nan], 1.0, 0, f)
    with pytest.raises(ValueError, match="zero_point"):
        fixed.quantize([0.0], 1.0, 200, f)


def test_accumulator_width_decided_from_shapes():
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    assert fixed.accumulator_bits(fixed.IntFormat(8), 128, (512, 256, 4, 4), spec) == 32
    assert fixed.accumulator_bits(fixed.IntFormat(16), 1 << 15, (512, 256, 4, 4), spec) == 64


def test_batchnorm_folding_matches_float():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3, 3))
    w = rng.standard_normal((4, 5, 3, 3))
    g, b, mu, var = rng.random(5) + 0.5, rng.standard_normal(5), rng.standard_normal(5), rng.random(5) + 0.1
    spec = ConvSpec.make(stride=2, transposed=True)
    y = conv_transpose2d_scatter(x, w, spec)
    ref = (y - mu.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + 1e-5) * g.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)
    w2, b2 = fixed.fold_batchnorm(w, None, g, b, mu, var, 1e-5, transposed=True)
    np.testing.assert_allclose(conv_transpose2d_scatter(x, w2, spec) + b2.reshape(1, -1, 1, 1), ref, atol=1e-10)


# ---- flexpoint --------------------------------------------------------------------------------------------
def test_flex_conversion_picks_smallest_exponent():
    m, e = flexpoint.to_flex([1.0, -0.5, 0.25])
    assert (e, m.tolist()) == (-14, [16384, -8192, 4096])
    m, e = flexpoint.to_flex([0.75, -0.5])
    assert (e, m.tolist()) == (-15, [24576, -16384])
    m, e = flexpoint.to_flex([1.0, -0.5])
    assert abs(flexpoint.from_flex(m, e) - [1.0, -0.5]).max() <= 2.0 ** e
    assert e == -14  # 1.0 / 2^-15 = 32768 does not fit
    m, e = flexpoint.to_flex([1e-9])
    assert e == -16 and m.tolist() == [0]
    with pytest.raises(ValueError, match="exponent > 15"):
        flexpoint.to_flex([1e12])
    with pytest.raises(ValueError, match="5-bit"):
        flexpoint.from_flex([1], 16)


def test_flex_shift_rounds_half_to_even():
    acc = np.array([5, 6, 7, -5, -6, -7, 4, 12, -12])
    np.testing.assert_array_equal(flexpoint.shift_rhe(acc, 1).astype(np.int64), [2, 3, 4, -2, -3, -4, 2, 6, -6])
    np.testing.assert_array_equal(flexpoint.shift_rhe(np.array([6, 10, 14, -6]), 2).astype(np.int64), [2, 2, 4, -2])


def test_autoflex_prediction():
    af = flexpoint.Autoflex(initial_exponent=-10)
    for v in [0.9, 1.0, 1.1]:
        e = af.update(v)
    h = np.array([0.9, 1.0, 1.1])
    pred = h.max() + 3 * h.std() + 100 * 2.0 ** -14
    assert 2 ** 14 <= pred / 2.0 ** e < 2 ** 15
    with pytest.raises(ValueError):
        af.update(float("nan"))
