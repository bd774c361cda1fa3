"""Focused tests that kill mutants of the golden convolution (accelsim/formats/conv.py) found by
tools/mutmut_golden.sh (issue 13 item 6): every refusal of ConvSpec with its exact message and its
boundary on both sides, exact output sizes, and the three convolution forms against a brute-force
loop written straight from the definition, on geometries whose height and width parameters all differ
(a mutant that swaps or drops one of a pair, or a default argument, changes some output)."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from accelsim.errors import ModelError
from accelsim.formats import conv, fastconv
from accelsim.formats.conv import ConvSpec


def _raises(message, fn, *args, **kwargs):
    """fn(*args) raises ModelError with exactly this message."""
    with pytest.raises(ModelError, match="^" + re.escape(message) + "$"):
        fn(*args, **kwargs)


# ---------------------------------------------------------------- _pair and make

def test_pair_accepts_ints_and_pairs_as_python_ints():
    for v, want in ((3, (3, 3)), (np.int64(2), (2, 2)), ((1, 2), (1, 2)), ([4, 5], (4, 5)),
                    ((np.int32(6), 7), (6, 7)), (0, (0, 0))):
        got = conv._pair(v, "stride")
        assert got == want and all(type(t) is int for t in got), (v, got)


@pytest.mark.parametrize("v", [None, 1.0, (1,), (1, 2, 3), "ab", (1, 2.0), (True, 1), True, (1, None), {}])
def test_pair_refusals_name_the_field(v):
    _raises(f"padding must be an int or a pair of ints, got {v!r}", conv._pair, v, "padding")


def test_make_defaults_and_types():
    spec = ConvSpec.make()
    assert spec == ConvSpec((1, 1), (0, 0), (0, 0), (1, 1), 1, False)
    spec = ConvSpec.make(stride=(2, 3), padding=(1, 2), output_padding=(1, 0), dilation=(1, 2),
                         groups=np.int64(2), transposed=np.bool_(True))
    assert spec == ConvSpec((2, 3), (1, 2), (1, 0), (1, 2), 2, True)
    assert type(spec.groups) is int and type(spec.transposed) is bool
    assert all(type(t) is int for f in ("stride", "padding", "output_padding", "dilation")
               for t in getattr(spec, f))
    # each keyword lands in its own field
    assert ConvSpec.make(stride=2).stride == (2, 2) and ConvSpec.make(padding=3).padding == (3, 3)
    assert ConvSpec.make(dilation=4).dilation == (4, 4) and ConvSpec.make(groups=5).groups == 5
    assert ConvSpec.make(stride=2, output_padding=1, transposed=True).output_padding == (1, 1)


@pytest.mark.parametrize("g", [1.9, True, "2", None])
def test_make_refuses_non_integer_groups(g):
    _raises(f"groups must be an integer, got {g!r}", ConvSpec.make, groups=g)


@pytest.mark.parametrize("t", ["no", 1, 0, None])
def test_make_refuses_non_bool_transposed(t):
    _raises(f"transposed must be True or False, got {t!r}", ConvSpec.make, transposed=t)


def test_make_names_each_pair_field():
    for name in ("stride", "padding", "output_padding", "dilation"):
        _raises(f"{name} must be an int or a pair of ints, got 1.5", ConvSpec.make, **{name: 1.5})


def test_make_validates():
    _raises("stride must be in [1, 2^20], got (0, 0)", ConvSpec.make, stride=0)


# ---------------------------------------------------------------- validate: every bound, both sides

def test_validate_pair_fields_built_directly():
    for name in ("stride", "padding", "output_padding", "dilation"):
        for bad in ([1, 1], (1,), (1, 1, 1), (1.0, 1), (1, "1"), 1):
            kwargs = {name: bad}
            _raises(f"{name} must be a pair of ints, got {bad!r}", ConvSpec(**kwargs).validate)
    ConvSpec(stride=(np.int64(1), np.int32(2))).validate()                # numpy ints are ints


def test_validate_groups_bounds():
    ConvSpec(groups=1).validate()
    ConvSpec(groups=1 << 24).validate()
    ConvSpec(groups=np.int64(3)).validate()
    for g in (0, -1, (1 << 24) + 1, 2.0, "1"):
        _raises(f"groups must be an integer in [1, 2^24], got {g!r}", ConvSpec(groups=g).validate)


@pytest.mark.parametrize("name", ["stride", "dilation"])
def test_validate_stride_dilation_bounds(name):
    top = 1 << 20
    for ok in ((1, 1), (top, 1), (1, top), (top, top)):
        ConvSpec(**{name: ok}).validate()
    for bad in ((0, 1), (1, 0), (top + 1, 1), (1, top + 1), (-1, 1)):
        _raises(f"{name} must be in [1, 2^20], got {bad}", ConvSpec(**{name: bad}).validate)


def test_validate_padding_bounds():
    top = 1 << 20
    for ok in ((0, 0), (top, 0), (0, top)):
        ConvSpec(padding=ok).validate()
    for bad in ((-1, 0), (0, -1), (top + 1, 0), (0, top + 1)):
        _raises(f"padding must be in [0, 2^20], got {bad}", ConvSpec(padding=bad).validate)


def test_validate_output_padding():
    msg0 = "output_padding must be 0 for conv2d and >= 0, got {}"
    for op in ((1, 0), (0, 1)):
        _raises(msg0.format(op), ConvSpec(stride=(2, 2), output_padding=op).validate)   # conv2d
    for op in ((-1, 0), (0, -1)):
        _raises(msg0.format(op), ConvSpec(stride=(2, 2), output_padding=op, transposed=True).validate)
    # op < max(stride, dilation), per axis: the stride bounds height, the dilation width, and back
    spec = dict(stride=(3, 1), dilation=(1, 4), transposed=True)
    ConvSpec(output_padding=(2, 3), **spec).validate()
    ConvSpec(output_padding=(0, 0), **spec).validate()
    for op in ((3, 0), (0, 4), (3, 3)):
        _raises(f"output_padding must be < max(stride, dilation) (stride=(3, 1), dilation=(1, 4)), got {op}",
                ConvSpec(output_padding=op, **spec).validate)
    _raises("output_padding must be < max(stride, dilation) (stride=(1, 1), dilation=(1, 1)), got (1, 0)",
            ConvSpec(output_padding=(1, 0), transposed=True).validate)


# ---------------------------------------------------------------- output_hw and check_shapes

def test_output_hw_exact():
    spec = ConvSpec.make(stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    # conv2d: (H + 2p - d(K-1) - 1) // s + 1 per axis
    assert spec.output_hw(11, 13, 3, 4) == ((11 + 2 - 4 - 1) // 2 + 1, (13 + 4 - 3 - 1) // 3 + 1) == (5, 5)
    assert spec.output_hw(12, 7, 5, 2) == ((12 + 2 - 8 - 1) // 2 + 1, (7 + 4 - 1 - 1) // 3 + 1) == (3, 4)
    t = ConvSpec.make(stride=(2, 3), padding=(1, 2), output_padding=(1, 0), dilation=(2, 1), transposed=True)
    # transposed: (H-1)s - 2p + d(K-1) + op + 1
    assert t.output_hw(5, 4, 3, 4) == (4 * 2 - 2 + 4 + 1 + 1, 3 * 3 - 4 + 3 + 0 + 1) == (12, 9)
    spec1 = ConvSpec.make(padding=(0, 1))
    assert spec1.output_hw(3, 1, 3, 3) == (1, 1)                              # the smallest non-empty


def test_output_hw_refuses_empty_outputs():
    spec = ConvSpec.make()
    _raises(f"output size (0, 1) is empty for input 2x3, kernel 3x3, {spec}", spec.output_hw, 2, 3, 3, 3)
    _raises(f"output size (1, 0) is empty for input 3x2, kernel 3x3, {spec}", spec.output_hw, 3, 2, 3, 3)
    t = ConvSpec.make(padding=(0, 1), transposed=True)
    _raises(f"output size (1, 0) is empty for input 1x1, kernel 1x2, {t}", t.output_hw, 1, 1, 1, 2)


def test_check_shapes_results():
    spec = ConvSpec.make(stride=(2, 1), padding=(1, 0), groups=2)
    assert spec.check_shapes((3, 4, 7, 6), (6, 2, 3, 2)) == (3, 6, 4, 5)
    t = ConvSpec.make(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, transposed=True)
    assert t.check_shapes((2, 4, 3, 5), (4, 5, 3, 2)) == (2, 10, 6, 16)


def test_check_shapes_refusals():
    c, t = ConvSpec.make(groups=2), ConvSpec.make(groups=2, transposed=True)
    _raises("x must be 4-D NCHW, got shape (1, 4, 5)", c.check_shapes, (1, 4, 5), (2, 2, 1, 1))
    _raises("x must be 4-D NCHW, got shape (1, 1, 4, 5, 5)", c.check_shapes, (1, 1, 4, 5, 5), (2, 2, 1, 1))
    _raises("w must be 4-D, got shape (2, 2, 1)", c.check_shapes, (1, 4, 5, 5), (2, 2, 1))
    _raises("w must be 4-D, got shape (2, 2, 1, 1, 1)", c.check_shapes, (1, 4, 5, 5), (2, 2, 1, 1, 1))
    _raises("conv2d: w.shape[1]*groups=6 must equal x channels 4", c.check_shapes, (1, 4, 5, 5), (2, 3, 1, 1))
    _raises("conv_transpose2d: w.shape[0]=3 must equal x channels 4", t.check_shapes, (1, 4, 5, 5), (3, 1, 1, 1))
    _raises("channels in=4 out=3 must be divisible by groups=2", c.check_shapes, (1, 4, 5, 5), (3, 2, 1, 1))
    _raises("channels in=3 out=2 must be divisible by groups=2", t.check_shapes, (1, 3, 5, 5), (3, 1, 1, 1))
    for x, w in (((0, 4, 5, 5), (2, 2, 1, 1)), ((1, 4, 0, 5), (2, 2, 1, 1)), ((1, 4, 5, 0), (2, 2, 1, 1)),
                 ((1, 4, 5, 5), (2, 2, 0, 1)), ((1, 4, 5, 5), (2, 2, 1, 0)), ((1, 0, 5, 5), (0, 0, 1, 1))):
        _raises(f"empty dimension: x {x}, w {w}", c.check_shapes, x, w)
    _raises("empty dimension: x (1, 4, 5, 5), w (4, 0, 1, 1)", t.check_shapes, (1, 4, 5, 5), (4, 0, 1, 1))
    # no input channels, everything else non-empty (the channel and group checks all pass)
    _raises("empty dimension: x (1, 0, 5, 5), w (2, 0, 1, 1)", ConvSpec.make().check_shapes, (1, 0, 5, 5), (2, 0, 1, 1))
    _raises("empty dimension: x (1, 0, 5, 5), w (0, 2, 1, 1)", ConvSpec.make(transposed=True).check_shapes,
            (1, 0, 5, 5), (0, 2, 1, 1))
    # a spec built directly (not through make) is validated here
    _raises("stride must be in [1, 2^20], got (0, 1)", ConvSpec(stride=(0, 1)).check_shapes,
            (1, 1, 3, 3), (1, 1, 1, 1))


def test_taps_per_output():
    for w_shape, spec, want in (((6, 4, 3, 5), ConvSpec.make(groups=2), 4 * 3 * 5),
                                ((6, 4, 3, 5), ConvSpec.make(groups=3, transposed=True), 2 * 3 * 5),
                                ((6, 4, 3, 5), ConvSpec.make(transposed=True), 6 * 3 * 5)):
        got = conv.taps_per_output(w_shape, spec)
        assert got == want and type(got) is int       # an exact integer: it feeds the int64 bound checks


# ---------------------------------------------------------------- arithmetic against brute force

def _brute_conv2d(x, w, s, p, d, g):
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((n, cout, oh, ow), dtype=np.int64)
    cout_g = cout // g
    for b, co, oy, ox in itertools.product(range(n), range(cout), range(oh), range(ow)):
        grp = co // cout_g
        acc = 0
        for ci, ky, kx in itertools.product(range(cin_g), range(kh), range(kw)):
            iy, ix = oy * s[0] - p[0] + ky * d[0], ox * s[1] - p[1] + kx * d[1]
            if 0 <= iy < h and 0 <= ix < wd:
                acc += int(x[b, grp * cin_g + ci, iy, ix]) * int(w[co, ci, ky, kx])
        out[b, co, oy, ox] = acc
    return out


def _brute_convt(x, w, s, p, op, d, g):
    n, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1
    ow = (wd - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1
    out = np.zeros((n, cout_g * g, oh, ow), dtype=np.int64)
    cin_g = cin // g
    for b, ci, iy, ix, co, ky, kx in itertools.product(range(n), range(cin), range(h), range(wd), range(cout_g),
                                                       range(kh), range(kw)):
        oy, ox = iy * s[0] - p[0] + ky * d[0], ix * s[1] - p[1] + kx * d[1]
        if 0 <= oy < oh and 0 <= ox < ow:
            out[b, (ci // cin_g) * cout_g + co, oy, ox] += int(x[b, ci, iy, ix]) * int(w[ci, co, ky, kx])
    return out


CONV_CASES = [  # stride, padding, dilation, groups, x (N, C, H, W), kernel (KH, KW), cout
    ((2, 1), (1, 0), (1, 2), 2, (2, 4, 7, 6), (3, 2), 6),
    ((1, 3), (0, 2), (2, 1), 1, (1, 3, 6, 8), (2, 3), 2),
    ((3, 2), (2, 1), (1, 1), 3, (2, 3, 5, 5), (1, 4), 3),
]

CONVT_CASES = [  # stride, padding, output_padding, dilation, groups, x, kernel, cout per group
    ((2, 3), (1, 0), (1, 2), (1, 2), 2, (2, 4, 3, 4), (3, 2), 3),
    ((1, 2), (0, 1), (0, 1), (2, 1), 1, (1, 3, 4, 3), (2, 3), 2),
    ((3, 1), (2, 0), (2, 0), (1, 1), 3, (2, 3, 3, 2), (4, 1), 1),
    ((2, 2), (3, 0), (0, 1), (2, 1), 1, (1, 2, 4, 3), (4, 2), 2),   # padding larger than d(K-1): crops
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_equals_brute_force(case):
    s, p, d, g, xs, (kh, kw), cout = case
    rng = np.random.default_rng(7)
    x = rng.integers(-9, 10, size=xs, dtype=np.int64)
    w = rng.integers(-9, 10, size=(cout, xs[1] // g, kh, kw), dtype=np.int64)
    got = conv.conv2d(x, w, ConvSpec.make(stride=s, padding=p, dilation=d, groups=g))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _brute_conv2d(x, w, s, p, d, g))
    spec = ConvSpec.make(stride=s, padding=p, dilation=d, groups=g)
    np.testing.assert_array_equal(conv.convolve(x, w, spec), got)
    for fn in (fastconv.conv2d_gemm, fastconv.convolve_gemm):     # int64 products: BLAS-free and exact
        fast = fn(x, w, spec)
        assert fast.dtype == np.int64
        np.testing.assert_array_equal(fast, got)


@pytest.mark.parametrize("cols_bytes", [1, 700, 2000])
def test_conv2d_gemm_chunks_images(monkeypatch, cols_bytes):
    # im2col in chunks of fewer images than the batch (a buffer of 1 byte still takes one image)
    s, p, d, g, xs, (kh, kw), cout = CONV_CASES[0]
    xs = (5,) + xs[1:]
    rng = np.random.default_rng(3)
    x = rng.integers(-9, 10, size=xs, dtype=np.int64)
    w = rng.integers(-9, 10, size=(cout, xs[1] // g, kh, kw), dtype=np.int64)
    monkeypatch.setattr(fastconv, "COLS_BYTES", cols_bytes)
    got = fastconv.conv2d_gemm(x, w, ConvSpec.make(stride=s, padding=p, dilation=d, groups=g))
    np.testing.assert_array_equal(got, _brute_conv2d(x, w, s, p, d, g))


@pytest.mark.parametrize("case", CONVT_CASES)
@pytest.mark.parametrize("form", ["scatter", "gather", "reference", "convolve", "gemm", "convolve_gemm"])
def test_conv_transpose2d_forms_equal_brute_force(case, form):
    s, p, op, d, g, xs, (kh, kw), cout_g = case
    rng = np.random.default_rng(11)
    x = rng.integers(-9, 10, size=xs, dtype=np.int64)
    w = rng.integers(-9, 10, size=(xs[1], cout_g, kh, kw), dtype=np.int64)
    spec = ConvSpec.make(stride=s, padding=p, output_padding=op, dilation=d, groups=g, transposed=True)
    fn = {"scatter": conv.conv_transpose2d_scatter, "gather": conv.conv_transpose2d_gather,
          "reference": conv.conv_transpose2d, "convolve": conv.convolve,
          "gemm": fastconv.conv_transpose2d_gemm, "convolve_gemm": fastconv.convolve_gemm}[form]
    got = fn(x, w, spec)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _brute_convt(x, w, s, p, op, d, g))


@pytest.mark.parametrize("transposed", [False, True])
def test_result_dtype_follows_both_operands(transposed):
    # int codes with float weights (and the reverse) compute in float64: nothing truncates the weights
    x = np.arange(1 * 2 * 3 * 3, dtype=np.int64).reshape(1, 2, 3, 3)
    w = np.full((2, 2, 2, 2), 0.25)
    spec = ConvSpec.make(transposed=transposed)
    fns = ((conv.conv_transpose2d_scatter, conv.conv_transpose2d_gather, fastconv.conv_transpose2d_gemm)
           if transposed else (conv.conv2d, fastconv.conv2d_gemm))
    want = (_brute_convt(x, np.ones_like(w, dtype=np.int64), (1, 1), (0, 0), (0, 0), (1, 1), 1) if transposed
            else _brute_conv2d(x, np.ones_like(w, dtype=np.int64), (1, 1), (0, 0), (1, 1), 1)) * 0.25
    for fn in fns:
        for a, b in ((x, w), (x.astype(np.float64), w), (x.astype(np.float32), w)):
            got = fn(a, b, spec)
            assert got.dtype == np.float64
            np.testing.assert_array_equal(got, want)
    # int8 codes with int64 weights: int64 accumulators (no int8 wrap)
    x8 = np.full((1, 2, 3, 3), 127, dtype=np.int8)
    w64 = np.full((2, 2, 2, 2), 100, dtype=np.int64)
    for fn in fns:
        got = fn(x8, w64, spec)
        assert got.dtype == np.int64 and got.max() == 127 * 100 * 2 * 4


@pytest.mark.parametrize("transposed", [False, True])
def test_large_int64_values_stay_exact(transposed):
    # products near 2^52 summed past 2^53: exact only if every buffer stays int64 (float64 would round)
    rng = np.random.default_rng(9)
    x = rng.integers(1 << 40, 1 << 41, size=(2, 4, 3, 3), dtype=np.int64) | 1
    w = rng.integers(1 << 10, 1 << 11, size=(4, 4, 2, 2), dtype=np.int64) | 1
    if transposed:
        want = _brute_convt(x, w, (1, 1), (0, 0), (0, 0), (1, 1), 1)
        fns = (conv.conv_transpose2d_scatter, conv.conv_transpose2d_gather, fastconv.conv_transpose2d_gemm)
    else:
        want = _brute_conv2d(x, w, (1, 1), (1, 0), (1, 1), 1)
        fns = (conv.conv2d, fastconv.conv2d_gemm)
    assert want.max() > 1 << 54
    for fn in fns:
        got = fn(x, w, ConvSpec.make(transposed=transposed, padding=(0, 0) if transposed else (1, 0)))
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)


def test_gemm_transposed_conv_with_taps_that_never_land():
    # one input row, stride 2, padding 2: kernel rows 0 and 1 map the only input row to outputs -2 and -1,
    # so those taps have an empty input range whose first output index is 0 (not negative)
    spec = ConvSpec.make(stride=2, padding=2, transposed=True)
    rng = np.random.default_rng(4)
    x = rng.integers(-9, 10, size=(1, 2, 1, 1), dtype=np.int64)
    w = rng.integers(-9, 10, size=(2, 3, 6, 6), dtype=np.int64)
    want = _brute_convt(x, w, (2, 2), (2, 2), (0, 0), (1, 1), 1)
    assert want.shape == (1, 3, 2, 2)
    np.testing.assert_array_equal(fastconv.conv_transpose2d_gemm(x, w, spec), want)
    np.testing.assert_array_equal(conv.conv_transpose2d_scatter(x, w, spec), want)


def test_float_inputs_keep_float64_and_mixed_dtypes_promote():
    x = np.arange(2 * 2 * 3 * 3, dtype=np.float64).reshape(2, 2, 3, 3) / 7
    w = np.ones((2, 1, 2, 2), dtype=np.int64)
    spec = ConvSpec.make(groups=2)
    got = conv.conv2d(x, w, spec)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _brute_conv2d(x * 7, w, (1, 1), (0, 0), (1, 1), 2) / 7, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fastconv.conv2d_gemm(x, w, spec), got, rtol=0, atol=1e-12)
    assert fastconv.conv2d_gemm(x, w, spec).dtype == np.float64
    t = ConvSpec.make(transposed=True, stride=2)
    for fn in (conv.conv_transpose2d_scatter, conv.conv_transpose2d_gather, fastconv.conv_transpose2d_gemm):
        assert fn(x, np.ones((2, 1, 2, 2), dtype=np.int64), t).dtype == np.float64


@pytest.mark.parametrize("transposed", [False, True])
def test_int64_values_past_2_to_the_53_stay_exact(transposed):
    # odd values near 2^58 have no float64 representation: any buffer that passes through float64 rounds them
    rng = np.random.default_rng(10)
    x = rng.integers(1 << 58, 1 << 59, size=(1, 1, 3, 4), dtype=np.int64) | 1
    w = rng.choice(np.array([-1, 1], dtype=np.int64), size=(1, 1, 2, 2))
    spec = ConvSpec.make(transposed=transposed, padding=0 if transposed else (1, 0))
    want = (_brute_convt(x, w, (1, 1), (0, 0), (0, 0), (1, 1), 1) if transposed
            else _brute_conv2d(x, w, (1, 1), (1, 0), (1, 1), 1))
    fns = ((conv.conv_transpose2d_scatter, conv.conv_transpose2d_gather, fastconv.conv_transpose2d_gemm)
           if transposed else (conv.conv2d, fastconv.conv2d_gemm))
    for fn in fns:
        got = fn(x, w, spec)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)


def test_zero_insert():
    x = np.arange(1, 7, dtype=np.int64).reshape(1, 1, 2, 3)
    got = conv.zero_insert(x, (2, 3))
    assert got.shape == (1, 1, 3, 7) and got.dtype == np.int64
    want = np.zeros((3, 7), dtype=np.int64)
    want[0, 0], want[0, 3], want[0, 6], want[2, 0], want[2, 3], want[2, 6] = 1, 2, 3, 4, 5, 6
    np.testing.assert_array_equal(got[0, 0], want)
    np.testing.assert_array_equal(conv.zero_insert(x, (1, 1)), x)


def test_scatter_skips_taps_that_land_outside():
    # padding so large that some taps of the kernel never land in the output on one axis only
    spec = ConvSpec.make(stride=(1, 2), padding=(2, 0), transposed=True)
    x = np.ones((1, 1, 1, 2), dtype=np.int64)
    w = np.arange(1, 1 + 5 * 2, dtype=np.int64).reshape(1, 1, 5, 2)
    got = conv.conv_transpose2d_scatter(x, w, spec)
    np.testing.assert_array_equal(got, _brute_convt(x, w, (1, 2), (2, 0), (0, 0), (1, 1), 1))
    np.testing.assert_array_equal(conv.conv_transpose2d_gather(x, w, spec), got)
    np.testing.assert_array_equal(fastconv.conv_transpose2d_gemm(x, w, spec), got)


@pytest.mark.parametrize("n_in,n_out,s,p,off", [(5, 9, 2, 1, 0), (5, 9, 2, 1, 3), (4, 3, 1, 0, 2), (3, 12, 3, 4, 1),
                                                (6, 2, 2, 0, 5), (1, 1, 1, 0, 0), (4, 7, 2, 3, 0)])
def test_fastconv_valid_range(n_in, n_out, s, p, off):
    want = [i for i in range(n_in) if 0 <= i * s - p + off < n_out]
    lo, hi = fastconv._valid(n_in, n_out, s, p, off)
    assert list(range(lo, hi)) == want and lo <= hi and (want or lo == hi)
