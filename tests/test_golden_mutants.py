"""Focused tests that kill mutants of the golden model (fixed.py, binary.py, ternary.py, flexpoint.py)
found by tools/mutmut_golden.sh (issue 13 item 6): exact values, boundaries, the field named in each
refusal. The requantization mutants have their own file, tests/test_requant_mutants.py."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from accelsim.errors import FormatError, ModelError
from accelsim.formats import binary, fixed
from accelsim.formats.conv import ConvSpec

CONV = ConvSpec.make()


def _raises(exc, message, fn, *args, **kwargs):
    """fn(*args) raises exc with exactly this message (no prefix, no suffix, no case change)."""
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        fn(*args, **kwargs)


# ---------------------------------------------------------------- fixed.py: formats and codes

def test_int_format_bits_range_and_refusals():
    assert (fixed.IntFormat(1).qmin, fixed.IntFormat(1).qmax) == (-1, 0)          # 1 bit is allowed
    assert (fixed.IntFormat(1, signed=False).qmin, fixed.IntFormat(1, signed=False).qmax) == (0, 1)
    assert (fixed.IntFormat(16).qmin, fixed.IntFormat(16).qmax) == (-32768, 32767)
    assert (fixed.IntFormat(2, symmetric=True).qmin, fixed.IntFormat(2, symmetric=True).qmax) == (-1, 1)
    for bits in (0, 17, 8.0):
        _raises(FormatError, f"bits must be an integer in [1, 16], got {bits!r}", fixed.IntFormat, bits)
    _raises(FormatError, "a symmetric format must be signed", fixed.IntFormat, 4, signed=False, symmetric=True)
    _raises(FormatError, "a symmetric signed format needs bits >= 2", fixed.IntFormat, 1, symmetric=True)
    assert [fixed.IntFormat(b, s).storage_dtype for b in (8, 9) for s in (True, False)] == \
        [np.int8, np.uint8, np.int16, np.uint16]


def test_check_codes_bounds_and_message():
    fmt = fixed.IntFormat(4)
    fmt.check_codes(np.array([-8, 7]), "x")                       # both ends are codes
    fmt.check_codes(np.array([], dtype=np.int8), "x")
    _raises(FormatError, f"x codes must lie in [-8, 7] for {fmt}, got [0, 8]", fmt.check_codes, np.array([0, 8]), "x")
    _raises(FormatError, f"w codes must lie in [-8, 7] for {fmt}, got [-9, 0]", fmt.check_codes, np.array([-9, 0]), "w")


# ---------------------------------------------------------------- fixed.py: quantize / dequantize

def test_quantize_refusals_name_the_field():
    fmt = fixed.IntFormat(8)
    _raises(FormatError, "x contains NaN or inf: cannot quantize", fixed.quantize, [np.nan], 1.0, 0, fmt)
    for bad in (0.0, -1.0, np.inf):                      # finite AND > 0: each half alone is not enough
        _raises(FormatError, f"scale must be finite and > 0, got {np.float64(bad)}", fixed.quantize, [1.0], bad, 0, fmt)
    _raises(FormatError, "zero_point must lie in [-128, 127], got 128", fixed.quantize, [1.0], 1.0, 128, fmt)
    _raises(FormatError, "zero_point must lie in [-128, 127], got -129", fixed.quantize, [1.0], 1.0, -129, fmt)


def test_quantize_zero_point_range_ends_and_rounding():
    fmt = fixed.IntFormat(8)
    assert fixed.quantize([0.0], 1.0, -128, fmt).tolist() == [-128]     # qmin and qmax are valid zero points
    assert fixed.quantize([0.0], 1.0, 127, fmt).tolist() == [127]
    # round half to even, then + zero point, then clamp
    assert fixed.quantize([0.5, 1.5, 2.5, -0.5, -2.5, 300.0, -300.0], 1.0, 0, fmt).tolist() == [0, 2, 2, 0, -2, 127, -128]


def test_quantize_per_channel_scale_and_zero_point_follow_the_channel_axis():
    fmt = fixed.IntFormat(8)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    # channel axis 0 of a square tensor: broadcasting without the reshape would use the wrong axis
    q = fixed.quantize(x, np.array([0.5, 0.25]), np.array([1, -1]), fmt, channel_axis=0)
    assert q.tolist() == [[3, 5], [11, 15]]
    q = fixed.quantize(x, np.array([0.5, 0.25]), np.array([1, -1]), fmt, channel_axis=1)
    assert q.tolist() == [[3, 7], [7, 15]]
    # a one-element scale without a channel axis broadcasts as a scalar
    assert fixed.quantize(x, np.array([0.5]), 0, fmt).tolist() == [[2, 4], [6, 8]]


def test_dequantize_exact_values_dtypes_and_channel_axis():
    q = np.array([[1, 2], [3, 4]], dtype=np.int8)
    assert fixed.dequantize(q, np.array([0.5, 2.0]), np.array([1, -1]), channel_axis=0).tolist() == [[0.0, 0.5], [8.0, 10.0]]
    assert fixed.dequantize(q, np.array([0.5, 2.0]), np.array([1, -1]), channel_axis=1).tolist() == [[0.0, 6.0], [1.0, 10.0]]
    assert fixed.dequantize(q, np.array([0.5, 2.0]), 1, channel_axis=0).tolist() == [[0.0, 0.5], [4.0, 6.0]]
    assert fixed.dequantize(q, 0.5, 1).tolist() == [[0.0, 0.5], [1.0, 1.5]]
    # a per-channel scale without a channel axis broadcasts along the last axis
    assert fixed.dequantize(q, np.array([0.5, 2.0]), 0).tolist() == [[0.5, 4.0], [1.5, 8.0]]
    # q - z in int64 even when both are int8 (no wrap), and a float result for integer scales
    r = fixed.dequantize(np.array([-128], dtype=np.int8), 2, np.int8(127))
    assert r.dtype == np.float64 and r.tolist() == [-510.0]
    # q - z is exact in int64 before the one rounding to float64 (2^53 + 1 - 1, not float(2^53 + 1) - 1)
    assert fixed.dequantize(np.array([(1 << 53) + 1]), 1.0, 1).tolist() == [2.0 ** 53]


def test_choose_activation_qparams_exact():
    u8, s8 = fixed.IntFormat(8, signed=False), fixed.IntFormat(8)
    assert fixed.choose_activation_qparams(-1.0, 3.0, u8) == (4.0 / 255, 64)       # rint(0 + 1 / (4/255)) = rint(63.75)
    assert fixed.choose_activation_qparams(-1.0, 3.0, s8) == (4.0 / 255, -64)
    assert fixed.choose_activation_qparams(0.5, 2.0, u8) == (2.0 / 255, 0)         # the range always holds 0
    assert fixed.choose_activation_qparams(-2.0, -0.5, u8) == (2.0 / 255, 255)
    assert fixed.choose_activation_qparams(0.0, 0.0, s8) == (1.0, 0)
    assert fixed.choose_activation_qparams(0.0, 0.0, u8) == (1.0, 0)
    for lo, hi in ((-np.inf, 1.0), (-1.0, np.inf), (np.nan, 1.0)):
        _raises(FormatError, "activation range must be finite", fixed.choose_activation_qparams, lo, hi, u8)


# ---------------------------------------------------------------- fixed.py: weight scales

def _mse_reference(row, qmax):
    """The mse rule of docs/quantization.md section 2, one channel, written out: the r of MSE_GRID with the
    least squared error, ties keeping the larger r (the earlier one in the grid)."""
    amax = np.abs(row).max()
    best_s, best_e = None, None
    for r in fixed.MSE_GRID:
        s = r * amax / qmax
        q = np.clip(np.rint(row / s), -qmax, qmax)
        e = ((row - s * q) ** 2).sum()
        if best_e is None or e < best_e:
            best_s, best_e = s, e
    return best_s


def test_weight_scales_mse_exact_including_grid_second_value_and_ties():
    rows = np.array([
        [-0.376, -0.153, 0.655, -0.182],    # 4 bits: r = 0.99 (MSE_GRID[1]) is the optimum
        [0.733, 0.535, -0.202, -0.936],     # 3 bits: the 13th and 14th r tie exactly; the larger r wins
        [0.3, 0.1, 0.05, 0.02],             # max|w| < 1
        [0.0, 0.0, 0.0, 0.0],               # all-zero channel: scale 1
    ])
    for bits in (3, 4):
        qmax = (1 << (bits - 1)) - 1
        got = fixed.weight_scales(rows, bits, True, 0, "mse")
        want = [_mse_reference(r, qmax) if np.abs(r).max() > 0 else 1.0 for r in rows]
        assert got.tolist() == want
        assert not np.array_equal(got, fixed.weight_scales(rows, bits, True, 0, "em"))
    assert fixed.weight_scales(rows[:1], 4, True, 0, "mse")[0] == 0.99 * 0.655 / 7
    a = np.abs(rows[1]).max()
    assert fixed.weight_scales(rows[1:2], 3, True, 0, "mse")[0] == fixed.MSE_GRID[12] * a / 3


def test_weight_scales_per_tensor_empty_and_float32():
    w = np.array([[0.5, -1.0], [2.0, 0.25]])
    assert fixed.weight_scales(w, 8, False, 0).tolist() == [2.0 / 127]             # one scale, max over all
    assert fixed.weight_scales(w, 8, True, 1).tolist() == [2.0 / 127, 1.0 / 127]
    assert fixed.weight_scales(np.zeros((2, 0, 3, 3)), 8, True, 0).tolist() == [1.0, 1.0]
    # float32 weights: the scale is computed in float64 (max|w| / qmax), not float32
    s = fixed.weight_scales(np.float32([[0.3]]), 8, True, 0)
    assert s.dtype == np.float64 and s.tolist() == [float(np.float32(0.3)) / 127]
    _raises(FormatError, "weights contains NaN or inf: cannot quantize", fixed.weight_scales, [[np.inf]], 8, True, 0)


def test_quantize_weights_grouped_transposed_uses_the_method():
    w = np.array([0.9, -0.1, 0.35, 0.5, 0.3, -0.05, 1.0, 0.2]).reshape(4, 2, 1, 1)
    spec = ConvSpec.make(groups=2, transposed=True)
    for method in ("mse", "em"):
        _, s = fixed.quantize_weights(w, 3, spec, method=method)
        want = np.concatenate([fixed.weight_scales(w[i * 2:(i + 1) * 2], 3, True, 1, method) for i in range(2)])
        assert s.tolist() == want.tolist()
        assert s.tolist() != fixed.quantize_weights(w, 3, spec)[1].tolist()


def test_quantize_weights_per_tensor_and_grouped_transposed():
    w = np.array([[[[0.5]], [[-1.0]]], [[[2.0]], [[0.25]]]])       # conv2d (2, 2, 1, 1)
    q, s = fixed.quantize_weights(w, 8, CONV, per_channel=False)
    assert s.tolist() == [2.0 / 127] and q.ravel().tolist() == [32, -64, 127, 16]
    # conv_transpose2d, groups 2: w[ci, j] (Cin 4, Cout/g 2) feeds output channel group(ci) * 2 + j
    w = np.arange(1, 9, dtype=np.float64).reshape(4, 2, 1, 1) * np.array([1, -1, 1, -1]).reshape(4, 1, 1, 1)
    spec = ConvSpec.make(groups=2, transposed=True)
    q, s = fixed.quantize_weights(w, 4, spec)
    assert s.tolist() == [3 / 7, 4 / 7, 7 / 7, 8 / 7]
    assert q.dtype == np.int8 and q.reshape(4, 2).tolist() == [[2, 4], [-7, -7], [5, 5], [-7, -7]]
    q, s = fixed.quantize_weights(w, 4, spec, per_channel=False)                       # one scale
    assert s.tolist() == [8 / 7] and q.reshape(4, 2).tolist() == [[1, 2], [-3, -4], [4, 5], [-6, -7]]
    # grouped conv2d (w[co, ci/g]): per output channel, axis 0
    wc = np.arange(1, 9, dtype=np.float64).reshape(4, 2, 1, 1)
    q, s = fixed.quantize_weights(wc, 4, ConvSpec.make(groups=2))
    assert s.tolist() == [2 / 7, 4 / 7, 6 / 7, 8 / 7] and q.reshape(4, 2).tolist() == [[4, 7], [5, 7], [6, 7], [6, 7]]


# ---------------------------------------------------------------- fixed.py: bias and accumulators

def test_accumulator_bits_boundary():
    one_bit = fixed.IntFormat(1, signed=False)               # qmax - qmin = 1
    w_shape = (1, 1, 1, 1)                                   # one tap
    assert fixed.accumulator_bits(one_bit, (1 << 31) - 1, w_shape, CONV) == 32     # bound 2^31 - 1, no bias
    assert fixed.accumulator_bits(one_bit, 1 << 31, w_shape, CONV) == 64           # bound 2^31
    u8 = fixed.IntFormat(8, signed=False)
    assert fixed.accumulator_bits(u8, 127, w_shape, CONV, (1 << 31) - 1 - 255 * 127) == 32
    assert fixed.accumulator_bits(u8, 127, w_shape, CONV, (1 << 31) - 255 * 127) == 64


def test_int_extremes_and_bias_max_abs():
    assert fixed.int_extremes(np.zeros(0, dtype=np.int64), "x") == (0, 0)
    assert fixed.int_extremes(np.array([-3, 5], dtype=np.int16), "x") == (-3, 5)
    _raises(FormatError, "x must hold integers, got dtype float64", fixed.int_extremes, np.zeros(2), "x")
    assert fixed.bias_max_abs(None, 10, "10") == 0
    assert fixed.bias_max_abs(np.array([-7, 3]), 7, "7") == 7
    _raises(FormatError, "bias must satisfy |b| <= 7, got 8", fixed.bias_max_abs, np.array([-8, 3]), 7, "7")


def _one_tap(xs, ws):
    return np.array(xs).reshape(1, 1, 1, 1), np.array(ws).reshape(1, 1, 1, 1)


def test_conv_accumulate_bound_uses_the_zero_point_and_bias_exactly():
    big = np.int64((1 << 63) // 10)                    # 15 * big >= 2^63 > 5 * big
    x = np.array([-10, 0], dtype=np.int64).reshape(1, 2, 1, 1)
    w = np.full((1, 2, 1, 1), big, dtype=np.int64)
    taps_bound = lambda d: d * int(big) * 2
    # x in [-10, 0], z_x = 5: max|x - z_x| = 15 (not |-10 + 5| = 5)
    _raises(FormatError, f"accumulators could exceed int64: max|x - z_x| * max|w| * taps + max|bias| = "
            f"{taps_bound(15)} >= 2^63; reduce the reduction length or bit widths",
            fixed.conv_accumulate, x, 5, w, None, CONV)
    # x in [0, 10], z_x = -5: max|x - z_x| = 15 (not |10 - 5| = 5)
    _raises(FormatError, f"accumulators could exceed int64: max|x - z_x| * max|w| * taps + max|bias| = "
            f"{taps_bound(15)} >= 2^63; reduce the reduction length or bit widths",
            fixed.conv_accumulate, x + 10, -5, w, None, CONV)
    # the bias adds to the bound: 2^62 + 2^62 = 2^63 is refused
    x1, w1 = _one_tap([1], np.int64(1 << 62))
    _raises(FormatError, f"accumulators could exceed int64: max|x - z_x| * max|w| * taps + max|bias| = "
            f"{1 << 63} >= 2^63; reduce the reduction length or bit widths",
            fixed.conv_accumulate, x1, 0, w1, np.array([1 << 62]), CONV)
    # no bias counts as 0: a bound of exactly 2^63 - 1 is accepted and exact
    x1, w1 = _one_tap([1], np.int64((1 << 63) - 1))
    assert fixed.conv_accumulate(x1, 0, w1, None, CONV).ravel().tolist() == [(1 << 63) - 1]
    _raises(FormatError, "bias must satisfy |b| <= 2^62, got 4611686018427387905",
            fixed.conv_accumulate, x1, 0, _one_tap([1], [1])[1], np.array([(1 << 62) + 1]), CONV)
    _raises(FormatError, "x must hold integers, got dtype float64", fixed.conv_accumulate, np.zeros((1, 1, 1, 1)), 0, w1, None, CONV)
    _raises(FormatError, "w must hold integers, got dtype float64", fixed.conv_accumulate, x1, 0, np.zeros((1, 1, 1, 1)), None, CONV)


def test_conv_accumulate_is_int64_for_unsigned_inputs():
    # uint64 weights and bias: the arithmetic is int64 and exact (not float64, not a casting error)
    x, w = _one_tap([1], np.uint64((1 << 53) + 1))
    acc = fixed.conv_accumulate(x, 0, w, np.array([1], dtype=np.uint64), CONV)
    assert acc.dtype == np.int64 and acc.ravel().tolist() == [(1 << 53) + 2]


def test_quantize_bias_exact_limits_and_dtypes():
    assert fixed.quantize_bias([1.0], 0.5, [0.25]).tolist() == [8]            # b / (s_x * s_w)
    assert fixed.quantize_bias([2.5, 3.5], 1.0, 1.0).tolist() == [2, 4]       # half to even
    # s_w given as float32: the product s_x * s_w is float64
    b, s_x, s_w = 12345.678, 0.1, np.float32(1e-6)
    want = np.rint(b / (s_x * np.float64(s_w)))
    assert want != np.rint(b / (np.float32(s_x) * s_w))                      # the test can tell them apart
    assert fixed.quantize_bias([b], s_x, np.array([s_w])).tolist() == [want]
    small = fixed.quantize_bias([(1 << 31) - 1.0], 1.0, 1.0)
    assert small.dtype == np.int32 and small.tolist() == [(1 << 31) - 1]
    for v in (1 << 31, -(1 << 31), 1 << 62):
        big = fixed.quantize_bias([float(v)], 1.0, 1.0)
        assert big.dtype == np.int64 and big.tolist() == [v]
    assert fixed.quantize_bias([5.0, float(1 << 31)], 1.0, 1.0).dtype == np.int64
    empty = fixed.quantize_bias([], 1.0, 1.0)
    assert empty.dtype == np.int32 and empty.size == 0
    _raises(FormatError, "bias too large for the accumulator scale s_x*s_w (|b / (s_x*s_w)| > 2^62)",
            fixed.quantize_bias, [float((1 << 62) + (1 << 10))], 1.0, 1.0)
    _raises(FormatError, "bias contains NaN or inf: cannot quantize", fixed.quantize_bias, [np.nan], 1.0, 1.0)


def test_fold_batchnorm_exact():
    gamma, var, eps = np.array([4.0, 3.0]), np.array([3.0, 8.0]), 1.0   # g / sqrt(var + eps) = [2, 1]
    mean, beta = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)     # square: the channel axis matters
    w2, b2 = fixed.fold_batchnorm(w, np.array([3.0, 5.0]), gamma, beta, mean, var, eps, transposed=False)
    assert w2.reshape(2, 2).tolist() == [[2.0, 4.0], [3.0, 4.0]] and b2.tolist() == [4.5, 2.0]
    w2, b2 = fixed.fold_batchnorm(w, None, gamma, beta, mean, var, eps, transposed=True)
    assert w2.reshape(2, 2).tolist() == [[2.0, 2.0], [6.0, 4.0]] and b2.tolist() == [-1.5, -3.0]
    _raises(ModelError, "fold_batchnorm: grouped conv_transpose2d is not supported",
            fixed.fold_batchnorm, np.ones((2, 1, 1, 1)), None, gamma, beta, mean, var, eps, True)
    # float32 statistics: var + eps in float64 (float32 would round 1 + 1e-5)
    _, b32 = fixed.fold_batchnorm(np.ones((1, 1, 1, 1)), None, np.ones(1), np.zeros(1), -np.ones(1),
                                  np.float32([1.0]), 1e-5, False)
    assert b32.tolist() == [1.0 / np.sqrt(1.0 + 1e-5)]


# ---------------------------------------------------------------- binary.py

def test_binarize_codes_alpha_and_refusal():
    w = np.array([-1.0, -0.0, 0.0, 0.5, 2.0, -3.0]).reshape(2, 3, 1, 1)       # sign(0) = +1, also -0.0
    codes, alpha = binary.binarize(w, CONV)
    assert codes.dtype == np.int8 and codes.ravel().tolist() == [-1, 1, 1, 1, 1, -1]
    assert alpha.tolist() == [1.0 / 3, 5.5 / 3]
    wt = w.reshape(1, 2, 3, 1)                                          # transposed: output channel axis 1
    codes, alpha = binary.binarize(wt, ConvSpec.make(transposed=True))
    assert codes.shape == wt.shape and alpha.tolist() == [1.0 / 3, 5.5 / 3]
    codes, alpha = binary.binarize(np.ones((2, 1, 1, 1)), ConvSpec.make(groups=2))      # grouped conv2d is fine
    assert alpha.tolist() == [1.0, 1.0]
    _raises(FormatError, "binarize: grouped conv_transpose2d weights are not supported",
            binary.binarize, np.ones((2, 1, 1, 1)), ConvSpec.make(groups=2, transposed=True))
    _raises(FormatError, "weights contains NaN or inf: cannot quantize", binary.binarize, np.full((1, 1, 1, 1), np.nan), CONV)


def test_sign_activations_exact():
    a = binary.sign_activations([-1.5, -0.0, 0.0, 0.5, 2.0, -1e-300])
    assert a.dtype == np.int8 and a.tolist() == [-1, 1, 1, 1, 1, -1]
    _raises(FormatError, "x contains NaN or inf: cannot quantize", binary.sign_activations, [np.inf])


def test_pack_signs_scalar_shape_and_message():
    assert binary.pack_signs(np.int8(1)).tolist() == [[1]]           # a 0-d code is one row of one channel
    assert binary.pack_signs(np.int8(-1)).tolist() == [[0]]
    full = binary.pack_signs(np.ones((1, 64), dtype=np.int8))
    assert full.dtype == np.uint64 and full.tolist() == [[(1 << 64) - 1]]
    _raises(FormatError, "pack_signs: codes must be -1 or +1", binary.pack_signs, np.array([1, 0]))


def test_conv_xnor_refusals_and_int64_result():
    ones = np.ones((1, 2, 1, 1), dtype=np.int8)
    _raises(FormatError, "x binary codes must be -1 or +1", binary.conv_xnor, ones * 0, ones, None, CONV)
    _raises(FormatError, "w binary codes must be -1 or +1", binary.conv_xnor, ones, ones * 2, None, CONV)
    _raises(FormatError, f"bias must satisfy |b| <= 2^31, got {(1 << 31) + 1}",
            binary.conv_xnor, ones, ones, np.array([(1 << 31) + 1]), CONV)
    w = np.ones((1, 2, 1, 1), dtype=np.int8)
    # float +-1 codes are accepted; the sums are int64 all the same
    acc = binary.conv_xnor(np.array([1.0, -1.0]).reshape(1, 2, 1, 1), w.astype(np.float64), None, CONV)
    assert acc.dtype == np.int64 and acc.ravel().tolist() == [0]
    acc = binary.conv_xnor(ones, w, np.array([5], dtype=np.uint64), CONV)          # unsigned bias: exact
    assert acc.dtype == np.int64 and acc.ravel().tolist() == [7]


def test_zero_point_must_be_an_integer_like_the_kernel():
    # found by the mutants of fixed.quantize: a float zero point was truncated toward zero (2.5 -> 2)
    # while kernels.quantize refuses it; now both refuse it with the same words
    from accelsim import kernels
    fmt = fixed.IntFormat(8)
    for zp in (2.5, np.float64(2.0), True, np.array([1.0, 2.0])):
        _raises(FormatError, f"zero_point must be an integer, got {zp!r}", fixed.quantize, [1.0], 1.0, zp, fmt)
        _raises(FormatError, f"zero_point must be an integer, got {zp!r}", fixed.dequantize, [1], 1.0, zp)
    _raises(FormatError, "zero_point must be an integer, got 2.5", kernels.quantize, [1.0], 1.0, 2.5, bits=8)
    # the same for codes: dequantize truncated 1.5 to 1, kernels.dequantize refuses float codes
    _raises(FormatError, "codes must hold integers, got dtype float64", fixed.dequantize, np.array([1.5]), 1.0, 0)
    with pytest.raises(ValueError, match="^codes: unsupported dtype float64$"):
        kernels.dequantize(np.array([1.5]), 1.0, 0)
    assert fixed.quantize([-3.0], 1.0, np.uint8(2), fmt).tolist() == [-1]


# ---------------------------------------------------------------- flexpoint.py

from accelsim.formats import flexpoint  # noqa: E402


def test_shift_rhe_left_shift_ties_and_exact_python_ints():
    assert flexpoint.shift_rhe(np.array([3, -3]), 0).tolist() == [3, -3]
    assert flexpoint.shift_rhe(np.array([3, -3]), -2).tolist() == [12, -12]          # exact left shift
    assert flexpoint.shift_rhe(np.array([5, 7, -5, -7, 6]), 1).tolist() == [2, 4, -2, -4, 3]   # ties to even
    y = flexpoint.shift_rhe(np.array([(1 << 62) + 3]), 1)        # 2^61 + 1.5 -> 2^61 + 2 (not via float64)
    assert y.tolist() == [(1 << 61) + 2] and type(y[0]) is int


def test_to_flex_exponent_choice_boundaries():
    assert [v.tolist() if hasattr(v, "tolist") else v for v in flexpoint.to_flex([32767.0])] == [[32767], 0]
    m, e = flexpoint.to_flex([32767.75])                 # rounds to 32768 at e = 0: one exponent up
    assert (m.tolist(), e) == ([16384], 1)
    m, e = flexpoint.to_flex([32767.75 * 2.0 ** 5])      # the search starts at 5 and must step to 6
    assert (m.tolist(), e) == ([16384], 6)
    m, e = flexpoint.to_flex([1e6])                       # a single value: 1e6 / 2^5 = 31250
    assert (m.tolist(), e, m.dtype) == ([31250], 5, np.int16)
    m, e = flexpoint.to_flex([32767.0 * 2.0 ** 15])      # exactly the largest exponent
    assert (m.tolist(), e) == ([32767], 15)
    m, e = flexpoint.to_flex([32767.75 * 2.0 ** 14])     # steps from 14 to the largest exponent
    assert (m.tolist(), e) == ([16384], 15)
    m, e = flexpoint.to_flex([2.0 ** -30, 0.0])          # small tensors keep e = -16
    assert (m.tolist(), e) == ([0, 0], -16)
    m, e = flexpoint.to_flex(np.zeros((0, 3)))
    assert (m.shape, m.dtype, e) == ((0, 3), np.int16, -16)
    _raises(FormatError, f"flexpoint overflow: max |x| = {32767.75 * 2.0 ** 15} needs an exponent > 15",
            flexpoint.to_flex, [32767.75 * 2.0 ** 15])
    _raises(FormatError, f"flexpoint overflow: max |x| = {float(1 << 70)} needs an exponent > 15",
            flexpoint.to_flex, [1 << 70])                 # a Python int beyond int64: FormatError, not TypeError
    _raises(FormatError, "x contains NaN or inf: cannot convert to flexpoint", flexpoint.to_flex, [np.nan])


def test_to_flex_given_exponent_saturates_both_ends():
    m, e = flexpoint.to_flex([1.0, 40000.0, -40000.0, -32768.0, 2.5], exponent=0)
    assert (m.tolist(), e, m.dtype) == ([1, 32767, -32768, -32768, 2], 0, np.int16)
    _raises(FormatError, "exponent must be a 5-bit signed exponent in [-16, 15], got 16", flexpoint.to_flex, [1.0], 16)
    _raises(FormatError, "exponent must be a 5-bit signed exponent in [-16, 15], got -17", flexpoint.to_flex, [1.0], -17)
    _raises(FormatError, "exponent must be a 5-bit signed exponent in [-16, 15], got 1.0", flexpoint.to_flex, [1.0], 1.0)
    assert flexpoint.to_flex([1.0], np.int64(-16))[1] == -16


def test_from_flex_is_float64():
    v = flexpoint.from_flex(np.int16([3, -32768]), -16)
    assert v.dtype == np.float64 and v.tolist() == [3 * 2.0 ** -16, -0.5]
    _raises(FormatError, "exponent must be a 5-bit signed exponent in [-16, 15], got 16", flexpoint.from_flex, [1], 16)


def test_flex_output_refuses_acc_at_2_to_63():
    for acc in (np.array([1 << 63], dtype=np.uint64), np.array([-(1 << 63)], dtype=np.int64)):
        lo = hi = int(acc[0])
        _raises(FormatError, f"acc must satisfy |acc| < 2^63, got [{lo}, {hi}]", flexpoint.flex_output, acc, 0)
    _raises(FormatError, "acc must hold integers, got dtype float64", flexpoint.flex_output, np.zeros(1), 0)


def test_autoflex_defaults_history_and_prediction_boundaries():
    assert flexpoint.Autoflex().exponent() == 0
    _raises(FormatError, "initial_exponent must be a 5-bit signed exponent in [-16, 15], got 16", flexpoint.Autoflex, 16)
    a = flexpoint.Autoflex(0)
    assert a.update(2.0 ** 14 - 50) == 0                 # predicted 2^14 + 50 (+100 LSB, not -100)
    a = flexpoint.Autoflex(2)
    assert a.update(2.0 ** 14 - 401) == -1               # predicted 2^14 - 1: 100 * 2^2 LSB, floor(log2) 13
    a = flexpoint.Autoflex(-16)
    a.update(0.0)                                        # max_abs 0 is allowed
    assert a.exponent() == -16
    assert a.update(3.19) == -12                         # max 3.19 + 3 std 1.595 + 100 * 2^-16 < 8
    # the history holds the last 16 values: a large first value is forgotten after 16 more
    a = flexpoint.Autoflex(0)
    a.update(2.0 ** 20)
    for _ in range(15):
        a.update(1.0)
    prev = a.exponent()
    assert prev > 0                                      # 2^20 still in the history
    assert a.update(1.0) == math.floor(math.log2(1.0 + 100.0 * 2.0 ** prev)) - 14   # now gone: std 0
    assert flexpoint.Autoflex(0).update(2.0 ** 29) == 15                  # lands exactly on the largest exponent
    _raises(FormatError, f"Autoflex: predicted max {2.0 ** 30 + 100.0} needs an exponent > 15",
            flexpoint.Autoflex(0).update, 2.0 ** 30)
    for bad in (float("nan"), float("inf"), -1.0):
        _raises(FormatError, f"max_abs must be finite and >= 0, got {bad!r}", flexpoint.Autoflex(0).update, bad)


def test_conv_flex_refusals_name_the_field_and_reduction_limit(monkeypatch):
    xm, wm = np.zeros((1, 1, 1, 1), np.int16), np.zeros((1, 1, 1, 1), np.int16)
    _raises(FormatError, "x_exp must be a 5-bit signed exponent in [-16, 15], got 16", flexpoint.conv_flex, xm, 16, wm, 0, None, CONV)
    _raises(FormatError, "w_exp must be a 5-bit signed exponent in [-16, 15], got -17", flexpoint.conv_flex, xm, 0, wm, -17, None, CONV)
    _raises(FormatError, "x mantissas must be int16", flexpoint.conv_flex, xm.astype(np.int32), 0, wm, 0, None, CONV)
    _raises(FormatError, "w mantissas must be int16", flexpoint.conv_flex, xm, 0, wm.astype(np.int64), 0, None, CONV)
    _raises(FormatError, "out_exp must be a 5-bit signed exponent in [-16, 15], got 16",
            flexpoint.conv_flex, xm, 0, wm, 0, None, CONV, 16)

    # the reduction limit taps < 2^31, checked before any work: taps_per_output is stubbed (a real
    # 2^31-tap tensor would not fit in memory) and convolve must not be reached when refused
    class Reached(Exception):
        pass

    def reached(*args):
        raise Reached

    monkeypatch.setattr(flexpoint, "convolve", reached)
    monkeypatch.setattr(flexpoint, "taps_per_output", lambda *a: (1 << 31) - 1)
    with pytest.raises(Reached):
        flexpoint.conv_flex(xm, 0, wm, 0, None, CONV)
    monkeypatch.setattr(flexpoint, "taps_per_output", lambda *a: 1 << 31)
    _raises(FormatError, "flexpoint reduction too long: Cin/groups*KH*KW must be < 2^31",
            flexpoint.conv_flex, xm, 0, wm, 0, None, CONV)


def test_conv_flex_unsigned_bias_is_exact():
    xm, wm = np.full((1, 1, 1, 1), 3, np.int16), np.full((1, 1, 1, 1), 2, np.int16)
    y, e, over, acc_max = flexpoint.conv_flex(xm, 0, wm, 0, np.array([5], dtype=np.uint64), CONV)
    assert (y.ravel().tolist(), e, over, acc_max) == ([11 << 11], -11, 0, 11)   # 11 * 2^11 <= 32767 < 11 * 2^12


def test_flex_output_dynamic_and_static_boundaries():
    y, e, over, amax = flexpoint.flex_output(np.array([32767, -5]), 0)       # 32767 fits: stays at e_acc
    assert (y.tolist(), e, over, amax) == ([32767, -5], 0, 0, 32767)
    y, e, over, amax = flexpoint.flex_output(np.array([32767 << 15]), 0)     # exactly the largest exponent
    assert (y.tolist(), e) == ([32767], 15)
    _raises(FormatError, f"flexpoint output overflow: max |acc| = {32768 << 15} at exponent 0 needs an output "
            f"exponent > 15", flexpoint.flex_output, np.array([32768 << 15]), 0)
    # static: saturate to [-32768, 32767] and count what was outside it
    y, e, over, amax = flexpoint.flex_output(np.array([-32770, -32769, -32768, 32767, 32768]), 0, 0)
    assert (y.tolist(), e, over, amax) == ([-32768, -32768, -32768, 32767, 32767], 0, 3, 32770)


# ---------------------------------------------------------------- ternary.py

from accelsim.formats import ternary  # noqa: E402


def _ternary_reference(row, method):
    """docs/quantization.md section 4 for one channel, written out (rows of <= 8 values: the sums are
    sequential, as in the golden model)."""
    a = np.abs(np.asarray(row, np.float64))
    mean = a.mean()

    def alpha(m):
        return (a * m).sum() / m.sum() if m.sum() > 0 else 1.0

    def err(m):
        return (np.where(m, a - alpha(m), a) ** 2).sum()

    mask = a > 0.7 * mean
    if method == "mse":
        best = err(mask)
        for r in ternary.TERNARY_GRID:
            m = a > r * mean
            if err(m) < best:                            # strictly: ties keep the earlier mask
                mask, best = m, err(m)
    elif method == "em":
        for _ in range(fixed.EM_ITERATIONS):
            m = a > alpha(mask) / 2
            if np.array_equal(m, mask):
                break
            mask = m
    return np.where(mask, np.sign(row), 0).astype(np.int8).tolist(), alpha(mask)


TERNARY_ROWS = [
    [1.625, 0.625, 0.375, 0.5, 0.5],          # mse: two thresholds with exactly equal error (the first kept)
    [0.0, 0.5, 0.0, 1.25, 0.25, 0.0],         # mse: a weight exactly on r * mean for a grid r (not kept)
    [2.0, 2.0, -1.0],                         # em: |w| = alpha / 2 exactly (not kept)
    [2.0, 0.0, 0.0, 0.0],                     # one weight kept: alpha = 2
    [0.0, 0.0, 0.0, 0.0],                     # nothing kept: alpha = 1, codes 0
    [1.0, -0.5, 0.25, -0.125, 0.8, -0.3],
]


@pytest.mark.parametrize("method", ["minmax", "mse", "em"])
def test_ternarize_exact_against_the_written_rule(method):
    for row in TERNARY_ROWS:
        w = np.array(row).reshape(1, len(row), 1, 1)
        codes, alpha = ternary.ternarize(w, CONV, method=method)
        want_codes, want_alpha = _ternary_reference(row, method)
        assert codes.dtype == np.int8 and codes.ravel().tolist() == want_codes, (row, method)
        assert alpha.tolist() == [want_alpha], (row, method)


def test_ternarize_methods_differ_and_thresholds_are_strict():
    w = np.array(TERNARY_ROWS[0]).reshape(1, 5, 1, 1)
    assert ternary.ternarize(w, CONV, method="mse")[0].ravel().tolist() != ternary.ternarize(w, CONV)[0].ravel().tolist()
    w = np.array([2.0, 2.0, -1.0]).reshape(1, 3, 1, 1)
    assert ternary.ternarize(w, CONV, method="em")[0].ravel().tolist() == [1, 1, 0]
    # default ratio 0.7: mean|w| = 0.375, delta = 0.2625 keeps 0.5
    codes, alpha = ternary.ternarize(np.array([1.0, -0.5, 0.0, 0.0]).reshape(1, 4, 1, 1), CONV)
    assert codes.ravel().tolist() == [1, -1, 0, 0] and alpha.tolist() == [0.75]
    # |w| = ratio * mean exactly is not kept (strict >)
    codes, alpha = ternary.ternarize(np.array([0.5, 1.5, -1.0, 1.0]).reshape(1, 4, 1, 1), CONV, threshold_ratio=0.5)
    assert codes.ravel().tolist() == [0, 1, -1, 1] and alpha.tolist() == [3.5 / 3]
    # per output channel: each channel its own mean (conv2d axis 0, conv_transpose2d axis 1)
    w = np.array([[1.0, 0.1], [10.0, 6.0]]).reshape(2, 2, 1, 1)
    codes, alpha = ternary.ternarize(w, CONV)
    assert codes.reshape(2, 2).tolist() == [[1, 0], [1, 1]] and alpha.tolist() == [1.0, 8.0]
    codes, alpha = ternary.ternarize(w.reshape(2, 2, 1, 1).transpose(1, 0, 2, 3), ConvSpec.make(transposed=True))
    assert codes.reshape(2, 2).T.tolist() == [[1, 0], [1, 1]] and alpha.tolist() == [1.0, 8.0]
    _raises(FormatError, "ternarize: grouped conv_transpose2d weights are not supported",
            ternary.ternarize, np.ones((2, 1, 1, 1)), ConvSpec.make(groups=2, transposed=True))
    _raises(FormatError, "weights contains NaN or inf: cannot quantize", ternary.ternarize, np.full((1, 1, 1, 1), np.nan), CONV)
    _raises(FormatError, "weight quantizer must be one of minmax, mse, em, got 'MSE'",
            ternary.ternarize, np.ones((1, 1, 1, 1)), CONV, method="MSE")


def test_ternarize_mse_starts_from_the_given_threshold():
    # mean|w| = 1.55: every ratio of TERNARY_GRID (<= 1.5) keeps 2.4 (error 28.88); the given ratio 1.6
    # keeps only 10 (error 2.4^2 = 5.76), the best, so mse must keep it (it is the first candidate)
    w = np.array([10.0, 2.4, 0, 0, 0, 0, 0, 0]).reshape(1, 8, 1, 1)
    codes, alpha = ternary.ternarize(w, CONV, threshold_ratio=1.6, method="mse")
    assert codes.ravel().tolist() == [1, 0, 0, 0, 0, 0, 0, 0] and alpha.tolist() == [10.0]
    codes, alpha = ternary.ternarize(w, CONV, method="mse")
    assert codes.ravel().tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
