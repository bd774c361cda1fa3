"""Focused tests that kill mutants of the golden kernels' signature (accelsim/formats/reference.py) and
the vector unit's golden ops (accelsim/formats/vector.py), found by tools/mutmut_golden.sh (issue 13
item 6): each refusal with its exact message on both sides of its bound, the accumulator dtype rule,
activations and lookup tables."""
from __future__ import annotations

import re

import numpy as np
import pytest

from accelsim.errors import FormatError
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec

CONV = ConvSpec.make()


def _raises(message, fn, *args, **kwargs):
    with pytest.raises(FormatError, match="^" + re.escape(message) + "$"):
        fn(*args, **kwargs)


# ---------------------------------------------------------------- reference.py

def test_weight_code_range_bounds_and_refusals():
    assert reference.weight_code_range("fixed", 2) == (-2, 1)
    assert reference.weight_code_range("fixed", 8) == (-128, 127)
    assert reference.weight_code_range("fixed", 16) == (-32768, 32767)
    for kind in ("ternary", "binary"):
        assert reference.weight_code_range(kind, 99) == (-1, 1)          # bits do not matter there
    for bits in (1, 17):
        _raises(f"w_bits must be in [2, 16], got {bits}", reference.weight_code_range, "fixed", bits)
    _raises("w_kind must be one of ('fixed', 'ternary', 'binary'), got 'int'", reference.weight_code_range, "int", 8)


def _x(values, dtype=np.uint8):
    return np.asarray(values, dtype=dtype).reshape(1, 1, 1, -1)


def test_conv_int_defaults_are_int8_fixed_weights():
    x = _x([3])
    w = np.array([127], dtype=np.int64).reshape(1, 1, 1, 1)
    assert reference.conv_int(x, w, x_bits=8, x_signed=False, x_zero_point=1, spec=CONV).ravel().tolist() == [254]
    _raises("w codes must lie in [-128, 127]", reference.conv_int, x, w + 1, x_bits=8, x_signed=False,
            x_zero_point=0, spec=CONV)


def test_conv_int_refusals_with_their_messages():
    x = _x([0, 255])
    w = np.ones((1, 1, 1, 1), dtype=np.int64)
    kw = dict(x_bits=8, x_signed=False, spec=CONV)
    _raises("x codes must lie in [0, 255] for IntFormat(bits=8, signed=False, symmetric=False), got [0, 256]", reference.conv_int,
            np.array([0, 256]).reshape(1, 1, 1, 2), w, x_zero_point=0, **kw)
    for zp in (0, 255):
        reference.conv_int(x, w, x_zero_point=zp, **kw)
    for zp in (-1, 256):
        _raises(f"x_zero_point must lie in [0, 255], got {zp}", reference.conv_int, x, w, x_zero_point=zp, **kw)
    # either end of the weight range alone is refused
    for bad in ([-9, 0], [0, 8], [-9, 8]):
        _raises("w codes must lie in [-8, 7]", reference.conv_int, x, np.array(bad).reshape(2, 1, 1, 1),
                x_zero_point=0, w_bits=4, **kw)
    reference.conv_int(x, np.array([-8, 7]).reshape(2, 1, 1, 1), x_zero_point=0, w_bits=4, **kw)
    _raises("w (binary weights must be -1 or +1) contains 0", reference.conv_int, x,
            np.array([1, 0]).reshape(2, 1, 1, 1), x_zero_point=0, w_kind="binary", **kw)
    # ternary takes 0
    assert reference.conv_int(x, np.array([1, 0, -1]).reshape(3, 1, 1, 1), x_zero_point=0, w_kind="ternary",
                              **kw).reshape(3, 2).tolist() == [[0, 255], [0, 0], [0, -255]]


def test_conv_int_accumulator_dtype():
    x, w = _x([255]), np.full((1, 1, 1, 1), 127)
    kw = dict(x_bits=8, x_signed=False, x_zero_point=0, spec=CONV)
    assert reference.conv_int(x, w, **kw).dtype == np.int32
    got = reference.conv_int(x, w, bias=np.array([1 << 40]), **kw)
    assert got.dtype == np.int64 and got.item() == (1 << 40) + 255 * 127


def test_conv_int_int64_bound_is_the_plan_s_double_bound(monkeypatch):
    # The C++ plan refuses when (qmax - qmin) * max|w| * taps + max|bias| >= 9.2e18 in doubles; the golden
    # model does the same. Taps are faked (a real reduction that long would not fit in memory):
    # 255 * 128 * 1.5e14 = 4.896e18 and 4.896e18 + 4.304e18 = 9.2e18, all exact in doubles.
    monkeypatch.setattr(reference, "conv_taps", lambda *a: 150_000_000_000_000)
    x, w = _x([255]), np.full((1, 1, 1, 1), -128)
    kw = dict(x_bits=8, x_signed=False, x_zero_point=0, spec=CONV)
    message = "accumulators could exceed int64: reduce the reduction length or bit widths"
    _raises(message, reference.conv_int, x, w, bias=np.array([4_304_000_000_000_000_000]), **kw)
    got = reference.conv_int(x, w, bias=np.array([4_304_000_000_000_000_000 - 1024]), **kw)   # one ulp below
    assert got.item() == 4_304_000_000_000_000_000 - 1024 - 255 * 128
    # signed x: qmax - qmin = 255 too (not qmax + qmin = -1)
    _raises(message, reference.conv_int, _x([-128], np.int8), w, x_bits=8, x_signed=True, x_zero_point=0, spec=CONV,
            bias=np.array([4_304_000_000_000_000_000]))


def _requant_kw(**over):
    kw = dict(x_bits=8, x_signed=False, x_zero_point=0, spec=CONV, m0=1 << 30, shift=0, zero_point=0,
              out_bits=8, out_signed=True)
    kw.update(over)
    return kw


def test_conv_requant_defaults_and_passes_its_weight_kind_and_bits():
    x = _x([100])
    w = np.full((1, 1, 1, 1), 1)
    # defaults: fixed int8 weights, no activation ((100 * 1) * 2^30 / 2^31 = 50)
    assert reference.conv_requant(x, w, **_requant_kw()).item() == 50
    _raises("w codes must lie in [-128, 127]", reference.conv_requant, x, w * 128, **_requant_kw())
    # w_kind and w_bits reach conv_int
    _raises("w (binary weights must be -1 or +1) contains 0", reference.conv_requant, x, w * 0,
            **_requant_kw(w_kind="binary"))
    assert reference.conv_requant(x, -w, **_requant_kw(w_kind="ternary", w_bits=99)).item() == -50
    _raises("w codes must lie in [-8, 7]", reference.conv_requant, x, w * 8, **_requant_kw(w_bits=4))


def test_finish_activations_and_lut():
    acc = np.array([-300, -4, 0, 6, 300], dtype=np.int32)   # no ties: every mode rounds alike
    kw = dict(zero_point=2, out_bits=8, out_signed=True)
    plain = reference.requantize_integer(acc, 1 << 30, 0, **kw)
    assert plain.dtype == np.int8 and plain.tolist() == [-128, 0, 2, 5, 127]
    assert reference.requantize_integer(acc, 1 << 30, 0, act="relu", **kw).tolist() == [2, 2, 2, 5, 127]
    _raises("act must be 'none', 'relu' or a lookup table, got 'gelu'", reference.requantize_integer, acc,
            1 << 30, 0, act="gelu", **kw)
    lut = np.arange(-128, 128)[::-1].astype(np.int8)           # y -> -1 - y
    assert reference.requantize_integer(acc, 1 << 30, 0, act=lut, **kw).tolist() == [127, -1, -3, -6, -128]
    for n in (255, 257):
        _raises("lut must have 256 entries", reference.requantize_integer, acc, 1 << 30, 0,
                act=np.zeros(n, dtype=np.int8), **kw)
    _raises("lut codes must lie in [-128, 127] for IntFormat(bits=8, signed=True, symmetric=False), got [-129, 0]", reference.requantize_integer, acc, 1 << 30,
            0, act=np.r_[np.zeros(255), -129].astype(np.int64), **kw)
    u4 = reference.requantize_integer(acc, 1 << 30, 0, zero_point=0, out_bits=4, out_signed=False)
    assert u4.dtype == np.uint8 and u4.tolist() == [0, 0, 0, 3, 15]


@pytest.mark.parametrize("fn, args", [(reference.requantize_integer, (1 << 30, 0)),
                                      (reference.requantize_torch, (0.0, 0.5)),
                                      (reference.requantize_qnnpack, (0.5,))])
def test_requantize_defaults_and_zero_point_bounds(fn, args):
    acc = np.array([-300, -4, 0, 6, 300], dtype=np.int32)   # no ties: every mode rounds alike
    # default act is none; out_bits and out_signed are used as given
    assert fn(acc, *args, zero_point=2, out_bits=8, out_signed=True).tolist() == [-128, 0, 2, 5, 127]
    assert fn(acc, *args, zero_point=0, out_bits=8, out_signed=False).tolist() == [0, 0, 0, 3, 150]
    assert fn(acc, *args, zero_point=0, out_bits=4, out_signed=True).tolist() == [-8, -2, 0, 3, 7]
    assert fn(acc, *args, zero_point=2, out_bits=8, out_signed=True, act="relu").tolist() == [2, 2, 2, 5, 127]
    assert fn(acc, *args, zero_point=-128, out_bits=8, out_signed=True)[0] == -128
    assert fn(acc, *args, zero_point=127, out_bits=8, out_signed=True)[-1] == 127
    for zp in (-129, 128):
        _raises(f"zero_point must lie in [-128, 127], got {zp}", fn, acc, *args, zero_point=zp, out_bits=8,
                out_signed=True)


# ---------------------------------------------------------------- vector.py

from accelsim import kernels  # noqa: E402
from accelsim.formats import vector  # noqa: E402

NORM = dict(x_bits=8, x_signed=True, scale=0.5, zero_point=3, eps=1e-5)


def _plane(seed=0, shape=(2, 3, 4, 5), dtype=np.int8):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, size=shape).astype(dtype)


def test_codes_dtype_message_names_signedness():
    _raises("x: dtype int16 does not match 8-bit signed codes", vector.instance_norm_codes,
            _plane(dtype=np.int16), **NORM)
    _raises("x: dtype int8 does not match 8-bit unsigned codes", vector.instance_norm_codes,
            _plane(), **{**NORM, "x_signed": False, "zero_point": 0})


def test_instance_norm_parameter_refusals():
    x = _plane()
    for over in (dict(eps=0.0), dict(eps=-1.0), dict(eps=np.inf), dict(scale=0.0), dict(scale=np.nan)):
        _raises("instance norm: scale and eps must be finite and > 0", vector.instance_norm_codes, x,
                **{**NORM, **over})
    for zp in (True, 2.0, 128, -129):
        _raises(f"instance norm: zero_point must lie in the x format's range [-128, 127], got {zp!r}",
                vector.instance_norm_codes, x, **{**NORM, "zero_point": zp})
    for zp in (-128, 127):                                   # both ends of the range are accepted
        np.testing.assert_array_equal(vector.instance_norm_codes(x, **{**NORM, "zero_point": zp}),
                                      kernels.instance_norm_codes(x, **{**NORM, "zero_point": zp}))
    _raises("instance norm: relu is fused only into codes (out=...)", vector.instance_norm_codes, x, **NORM, relu=True)


@pytest.mark.parametrize("shape", [(1, 1, 1 << 16, 1 << 15), (1, 1, 1 << 31), (1, 1, 2, 1 << 30)])
def test_instance_norm_plane_limit_is_2_to_the_31(shape):
    # exactly 2^31 values per plane is refused before anything is computed (a broadcast view: no memory);
    # weight has the wrong size, so code that got past the check would stop at its reshape, not allocate
    x = np.broadcast_to(np.int8(0), shape)
    _raises("instance norm: a plane must hold fewer than 2^31 values", vector.instance_norm_codes, x,
            **NORM, weight=np.ones(2))


def test_instance_norm_weight_and_bias_are_per_channel_float64():
    x = _plane(1)
    gamma = np.array([0.7, -1.3, 2.9], dtype=np.float32)      # float32 values, computed in float64
    beta = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    kw = {**NORM, "scale": 0.37}           # not a power of two: scale * gamma in float32 would round
    want = vector.instance_norm_codes(x, **kw, weight=gamma.astype(np.float64), bias=beta.astype(np.float64))
    for g, b in ((gamma, beta), (gamma.reshape(3, 1), beta.reshape(3, 1)), (gamma.reshape(1, 3), beta.reshape(1, 3)),
                 (list(gamma), list(beta))):
        got = vector.instance_norm_codes(x, **kw, weight=g, bias=b)
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, kernels.instance_norm_codes(x, **kw, weight=gamma, bias=beta))


def test_instance_norm_statistics_are_exact_integer_sums():
    # 2^23 int16 codes per plane, the zero point at the far end: sum d^2 ~ 2^54 > 2^53; the golden model's
    # int64 sums equal the C++ kernel's bit for bit (float64 sums happen to give the same bits here too:
    # see tools/mutmut_equivalent.txt, vector instance_norm_codes_91)
    x = _plane(2, (1, 1, 1 << 12, 1 << 11), np.int16)
    kw = dict(x_bits=16, x_signed=True, scale=2.0 ** -7, zero_point=-32768, eps=1e-5)
    np.testing.assert_array_equal(vector.instance_norm_codes(x, **kw), kernels.instance_norm_codes(x, **kw))


def test_instance_norm_codes_out_format_is_used_as_given():
    x = _plane(3)
    for out in ((0.003, 0, 8, False), (0.003, 0, 8, True), (0.05, 7, 4, False), (0.01, -3, 12, True)):
        got = vector.instance_norm_codes(x, **NORM, out=out)
        np.testing.assert_array_equal(got, kernels.instance_norm_codes(x, **NORM, out=out))
        fmt = vector.fixed.IntFormat(out[2], out[3])
        assert got.dtype == fmt.storage_dtype
        if out[2] <= 8:                                     # these scales saturate at both ends
            assert (got.min(), got.max()) == (fmt.qmin, fmt.qmax)


def test_instance_norm_add_defaults_and_refusals():
    x = _plane(4)
    r = np.random.default_rng(5).normal(size=x.shape)
    got = vector.instance_norm_add(x, r, **NORM, out=(0.01, 0, 8, False))
    assert got[0] is None and got[1].dtype == np.uint8 and got[1].max() == 255     # want_float defaults to False
    np.testing.assert_array_equal(got[1], kernels.instance_norm_add(x, r, **NORM, out=(0.01, 0, 8, False))[1])
    f, q = vector.instance_norm_add(x, r, **NORM, out=(0.01, 0, 8, False), want_float=True)
    np.testing.assert_array_equal(f, vector.instance_norm_add(x, r, **NORM))
    _raises("residual must be float64 of shape (2, 3, 4, 5), got float32 (2, 3, 4, 5)", vector.instance_norm_add,
            x, r.astype(np.float32), **NORM)
    _raises("residual must be float64 of shape (2, 3, 4, 5), got float64 (2, 3, 4)", vector.instance_norm_add,
            x, r[..., 0], **NORM)
    r[0, 0, 0, 0] = np.inf
    _raises("instance norm: the sum with the residual contains NaN or inf: cannot quantize",
            vector.instance_norm_add, x, r, **NORM, out=(0.01, 0, 8, False))
