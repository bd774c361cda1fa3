"""Implicit GEMM on AMX tiles (csrc/src/qconv.cpp conv_implicit: B tiles read in place from a
channel-quad copy of the padded input, polyphase for strided convs, no im2col, no B packing) == golden
model, bit for bit, on every SIMD path (the ISAs without the kernel run their own paths on the same
cases): conv2d (stride 1..4 per axis), and
transposed convs by phases (ACCELSIM_CONVT=implicit), on random geometry (kernel 1..5 by 1..5,
dilation, padding per axis, groups, odd sizes down to 1 x 1, batch 1..3, input channels around the
64-channel blocks, output channels around the 32-row panels; transposed: stride 1..4, output_padding,
phases without taps), every int format that takes the u8 x s8 path, extremes, both conv_int and
conv_requant (requantized in the tasks, or after them when the row kernel does not apply); dispatch;
the packed-weight cache; image chunks. Tolerance zero."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec
from accelsim.formats.requant import quantize_multiplier
from tests.test_phase_convt import INT, operands, transposed_geometries

ISAS = kernels.available_isas()
IMPLICIT_ISAS = ("amx", "avx512")   # ISAs whose kernel table has the implicit conv kernel


@st.composite
def geometries(draw):
    groups = draw(st.sampled_from([1, 1, 1, 2]))
    cin = groups * draw(st.sampled_from([32, 33, 63, 64, 65, 100, 128, 129]))
    cout = groups * draw(st.sampled_from([16, 17, 31, 32, 33, 64, 65, 96]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2, 4])))
    dilation = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2])))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 23))
    n = draw(st.integers(1, 3))
    xs, ws = (n, cin, h, w), (cout, cin // groups, kh, kw)
    try:
        spec = ConvSpec.make(stride, padding, 0, dilation, groups)
        spec.check_shapes(xs, ws)
    except ValueError:
        assume(False)
    return spec, xs, ws


def requant_args(rng, cout):
    """Integer-mode parameters: scalar or per channel, ReLU or not, output codes of 2-16 bits signed or
    not, and now and then a negative shift, for every channel or some (the row kernel does not take
    it: then the whole conv is requantized after it instead of in its tasks)."""
    scale = float(rng.choice([1e-5, 1e-3, 0.01, 0.9]))
    if rng.random() < 0.5:
        m0, sh = quantize_multiplier(scale)
    else:
        pairs = [quantize_multiplier(scale * float(f)) for f in rng.uniform(0.5, 2.0, cout)]
        m0 = np.array([p[0] for p in pairs], np.int32)
        sh = np.array([p[1] for p in pairs], np.int32)
    r = rng.random()
    if r < 0.1:
        m0, sh = quantize_multiplier(3.7)          # shift < 0
    elif r < 0.2 and np.ndim(m0):
        m0[0], sh[0] = quantize_multiplier(3.7)    # one channel's shift < 0
    bits = int(rng.choice([8, 8, 2, 4, 16]))
    signed = bool(rng.random() < 0.6)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return dict(m0=m0, shift=sh, zero_point=int(rng.integers(lo, hi + 1)), out_bits=bits, out_signed=signed,
                act=str(rng.choice(["none", "relu"])))


def check_every_isa(x, w, spec, args, rq, last_path, convt_path="auto"):
    """conv_int and conv_requant on every ISA equal the golden model's bits; returns {isa: (path of
    conv_int, path of conv_requant)} as `last_path()` reports them."""
    ref = reference.conv_int(x, w, spec=spec, **args)
    ref_q = reference.requantize_integer(ref, **rq)
    paths = {}
    for isa in ISAS:
        with kernels.use_isa(isa), kernels.use_convt_path(convt_path):
            got = kernels.conv_int(x, w, spec=spec, **args)
            path = last_path()
            got_q = kernels.conv_requant(x, w, spec=spec, **args, **rq)
            paths[isa] = (path, last_path())
        np.testing.assert_array_equal(got, ref, err_msg=f"{isa} conv_int")
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got_q, ref_q, err_msg=f"{isa} conv_requant")
        assert got_q.dtype == ref_q.dtype
    return paths


@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=30, deadline=None)
@given(geom=geometries(), seed=st.integers(0, 2**32 - 1),
       extreme=st.sampled_from(["random", "random", "random", "x_lo_w_lo", "x_hi_w_lo", "x_hi_w_hi"]))
@example(geom=(ConvSpec.make(stride=1, padding=1), (2, 256, 9, 17), (96, 256, 3, 3)), seed=0, extreme="random")
@example(geom=(ConvSpec.make(stride=1, padding=(3, 0), dilation=(3, 2), groups=2), (1, 130, 1, 5), (66, 65, 3, 2)),
         seed=1, extreme="x_hi_w_lo")
@example(geom=(ConvSpec.make(stride=1, padding=0), (3, 33, 1, 1), (17, 33, 1, 1)), seed=2, extreme="x_lo_w_lo")
@example(geom=(ConvSpec.make(stride=(2, 4), padding=(1, 3), dilation=(3, 1)), (2, 64, 11, 23), (40, 64, 3, 5)), seed=3,
         extreme="random")
@example(geom=(ConvSpec.make(stride=(2, 3), padding=(1, 2), dilation=(1, 2)), (1, 64, 9, 70), (33, 64, 3, 3)), seed=4,
         extreme="x_hi_w_lo")
@example(geom=(ConvSpec.make(stride=2, padding=0, groups=2), (2, 128, 6, 16), (64, 64, 4, 4)), seed=5, extreme="random")
def test_implicit_equals_golden(fmt, geom, seed, extreme):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    x, w, args = operands(fmt, xs, ws, spec.groups, rng, extreme, cout=ws[0])
    paths = check_every_isa(x, w, spec, args, requant_args(rng, ws[0]), kernels.last_conv2d_path)
    for isa, pair in paths.items():
        assert pair == ("implicit" if isa in IMPLICIT_ISAS else "packed",) * 2, (isa, pair)


@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=30, deadline=None)
@given(geom=transposed_geometries(), seed=st.integers(0, 2**32 - 1),
       extreme=st.sampled_from(["random", "random", "random", "x_lo_w_lo", "x_hi_w_lo", "x_hi_w_hi"]))
@example(geom=(ConvSpec.make(stride=(1, 4), padding=(1, 2), transposed=True), (1, 3, 7, 5), (3, 2, 3, 2)), seed=0,
         extreme="random")   # phases without taps whose rows are wider than the window
@example(geom=(ConvSpec.make(stride=2, padding=1, output_padding=1, transposed=True), (2, 65, 5, 6), (65, 33, 3, 3)),
         seed=1, extreme="random")   # 4, 2, 2 and 1 taps
@example(geom=(ConvSpec.make(stride=(2, 3), padding=1, groups=2, transposed=True), (1, 130, 4, 5), (130, 100, 4, 3)),
         seed=2, extreme="random")   # several 32-row panels and 64-channel chunks per grid
def test_implicit_transposed_equals_golden(fmt, geom, seed, extreme):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    x, w, args = operands(fmt, xs, ws, spec.groups, rng, extreme)
    paths = check_every_isa(x, w, spec, args, requant_args(rng, ws[1] * spec.groups), kernels.last_convt_path,
                            convt_path="implicit")
    for isa, pair in paths.items():
        if isa in IMPLICIT_ISAS:
            assert pair == ("implicit", "implicit"), (isa, pair)
        else:
            assert "implicit" not in pair, (isa, pair)


@pytest.mark.parametrize("ow", range(1, 34))
def test_every_column_count_of_a_tile(ow):
    """Grids of 1 or 2 rows of ow columns (a 3x1 kernel: no padding columns, so the last pixel a call
    asks for is an output pixel): the kernel's last call asks for every count of 1..32 pixels (AVX-512:
    passes of 8, 4, 2 and 1; AMX: one or two 16-pixel halves), and with 2 rows a call spans rows."""
    rng = np.random.default_rng(ow)
    spec = ConvSpec.make(stride=1, padding=(1, 0))
    for h in (1, 2):
        x, w, args = operands("int8", (1, 64, h, ow), (32, 64, 3, 1), 1, rng, "random", cout=32)
        paths = check_every_isa(x, w, spec, args, requant_args(rng, 32), kernels.last_conv2d_path)
        for isa, pair in paths.items():
            assert pair == ("implicit" if isa in IMPLICIT_ISAS else "packed",) * 2, (isa, pair)


@pytest.mark.parametrize("transposed,stride,cin", [(False, 1, 64), (False, 2, 65), (False, 2, 64), (False, 3, 128),
                                                   (True, 2, 64)])
def test_one_image_copied_in_row_ranges(transposed, stride, cin):
    """One image of one 64-channel block and enough window rows: the input copy runs in ranges of rows
    on several threads (conv_implicit's `parts`); every ISA equals the golden model."""
    rng = np.random.default_rng(stride + cin)
    spec = ConvSpec.make(stride=stride, padding=1, transposed=transposed)
    ws = (cin, 32, 4, 4) if transposed else (32, cin, 3, 3)
    x, w, args = operands("int8", (1, cin, 40, 37), ws, 1, rng, "random", cout=32)
    last = kernels.last_convt_path if transposed else kernels.last_conv2d_path
    paths = check_every_isa(x, w, spec, args, requant_args(rng, 32), last,
                            convt_path="implicit" if transposed else "auto")
    for isa, pair in paths.items():
        if isa in IMPLICIT_ISAS:
            assert pair == ("implicit", "implicit"), (isa, pair)


@st.composite
def batched_geometries(draw):
    """Convs the batched layout takes on AVX-512 (csrc/src/qconv.cpp implicit_batched): >= 32 images of
    small inputs (outputs at most 32 wide), conv2d or transposed, groups, strides, dilation, padding."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.sampled_from([32, 33, 64, 65, 100]))
    cout = groups * draw(st.sampled_from([16, 17, 32, 33, 40]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    transposed = draw(st.booleans())
    stride = (draw(st.sampled_from([1, 2, 2, 3])), draw(st.sampled_from([1, 2, 2])))
    dilation = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)) if transposed else 0
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    n = draw(st.sampled_from([32, 33, 45, 64, 70]))
    xs = (n, cin, h, w)
    ws = (cin, cout // groups, kh, kw) if transposed else (cout, cin // groups, kh, kw)
    try:
        spec = ConvSpec.make(stride, padding, out_pad, dilation, groups, transposed=transposed)
        spec.check_shapes(xs, ws)
    except ValueError:
        assume(False)
    return spec, xs, ws


@pytest.mark.parametrize("fmt", ["int8", "ternary"])
@settings(max_examples=25, deadline=None)
@given(geom=batched_geometries(), seed=st.integers(0, 2**32 - 1),
       extreme=st.sampled_from(["random", "random", "random", "x_lo_w_lo", "x_hi_w_hi"]))
@example(geom=(ConvSpec.make(stride=2, padding=1, transposed=True), (33, 64, 4, 4), (64, 32, 4, 4)), seed=0,
         extreme="random")   # DCGAN-64's 4x4 layer shape, 33 images: a block of 32 and one of 1
@example(geom=(ConvSpec.make(stride=1, padding=0, transposed=True), (64, 100, 1, 1), (100, 40, 4, 4)), seed=1,
         extreme="random")   # the 1x1-input first layer: one grid, no padding columns
@example(geom=(ConvSpec.make(stride=1, padding=1), (70, 65, 3, 5), (33, 65, 3, 3)), seed=2, extreme="x_hi_w_hi")
@example(geom=(ConvSpec.make(stride=2, padding=1, output_padding=1, dilation=2, transposed=True), (40, 64, 1, 1),
               (64, 33, 3, 3)), seed=3, extreme="random")   # 1x1 inputs: pixels with and without a tap
@example(geom=(ConvSpec.make(stride=1, padding=(1, 0), groups=2, transposed=True), (32, 66, 1, 1), (66, 17, 4, 2)),
         seed=4, extreme="x_hi_w_hi")
@example(geom=(ConvSpec.make(stride=1, padding=2), (40, 128, 5, 7), (33, 128, 3, 3)), seed=5, extreme="random")
@example(geom=(ConvSpec.make(stride=2, padding=1, transposed=True), (35, 128, 6, 6), (128, 32, 4, 4)), seed=6,
         extreme="x_lo_w_lo")   # whole 64-channel planes: pixels past the 16-pixel blocks of the copy
@example(geom=(ConvSpec.make(stride=(2, 3), padding=1), (64, 64, 5, 40), (32, 64, 3, 3)), seed=7,
         extreme="x_hi_w_hi")   # strided, 40 columns: rows copied whole into their column phases
def test_batched_layout_equals_golden(fmt, geom, seed, extreme):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    cout = ws[1] * spec.groups if spec.transposed else ws[0]
    x, w, args = operands(fmt, xs, ws, spec.groups, rng, extreme, cout=cout)
    last = kernels.last_convt_path if spec.transposed else kernels.last_conv2d_path
    paths = check_every_isa(x, w, spec, args, requant_args(rng, cout), last, convt_path="implicit")
    for isa, pair in paths.items():
        if isa in IMPLICIT_ISAS:
            assert pair == ("implicit", "implicit"), (isa, pair)


@pytest.mark.parametrize("cin,cout,hw,n,auto_isas", [
    (64, 32, 16, 2, ("amx",)),      # >= 32 in, >= 16 out per group, 16x16 input
    (64, 32, 4, 1, ("amx", "avx512")),  # batch 1: any input size (AVX-512: 8 KiB weight panels)
    (64, 32, 4, 2, ()),             # 4x4 at batch 2: h (w + 2) = 24 < 64 window columns per phase
    (64, 8, 16, 2, ()),             # 8 output channels
    (16, 32, 16, 2, ()),            # 16 input channels
    (64, 32, 4, 32, ("avx512",)),   # 32 images of 4x4: the batched layout on AVX-512 (AMX: 24 columns)
    (64, 32, 16, 40, ("amx",)),     # 40 images of 16x16: grids 89 % full, not batched
    (64, 8, 4, 32, ()),             # batched shape, 8 output channels
    (100, 32, 1, 32, ()),           # 1x1 inputs of 32 images: auto takes conv_dense (implicit: a grid per pixel)
    (100, 32, 1, 1, ()),            # 1x1 input at batch 1: conv_dense
    (64, 32, 2, 1, ("amx", "avx512")),   # 2x2 input at batch 1: at most 4 input pixels
    (64, 32, 3, 1, ("amx", "avx512")),   # 3x3 at batch 1: 9 pixels (AVX-512: 8 KiB weight panels)
    (64, 32, 2, 2, ()),                  # 2x2 at batch 2
    (256, 32, 4, 1, ("amx", "avx512")),  # >= 256 input channels at batch 1: an input of <= 16 pixels
    (256, 32, 8, 1, ("amx", "avx512")),  # 8x8: grids 64 of 96 computed pixels outputs, panels 4 x 4 x 2 KiB
    (320, 32, 8, 1, ("amx",)),           # panels of 5 x 4 x 2 KiB > 32 KiB (AVX-512: phases or col2im)
    (256, 32, 16, 1, ("amx", "avx512")),  # 16x16: 256 of 288 (>= 85 %)
    (255, 32, 16, 1, ("amx", "avx512")),  # 255 input channels: 32 KiB panels
    (256, 32, 16, 2, ("amx",)),          # batch 2
])
def test_transposed_implicit_under_auto(isa, cin, cout, hw, n, auto_isas):
    """auto takes the implicit path for a transposed conv with >= 32 input and >= 16 output channels
    per group: on AMX at batch 1 or on inputs of at least 64 window columns per phase, on AVX-512 where
    the batched layout applies, for one image of at most 4 pixels, for one image whose grids' 32-channel
    weight panels are <= 32 KiB, or for one image of >= 256 input channels per group of at most 16
    pixels or grids >= 85 % full (implicit_convt_auto, measured:
    docs/performance.md, qconv.cpp), but 1x1 inputs, which take conv_dense; `implicit` always
    does, on AMX and AVX-512; every choice bit-exact."""
    rng = np.random.default_rng(6)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    x = rng.integers(-128, 128, (n, cin, hw, hw)).astype(np.int8)
    w = rng.integers(-127, 128, (cin, cout, 4, 4)).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=1, w_bits=8, spec=spec)
    ref = reference.conv_int(x, w, **args)
    for path in ("auto", "implicit", "phase", "col2im"):
        with kernels.use_isa(isa), kernels.use_convt_path(path):
            got = kernels.conv_int(x, w, **args)
            ran = kernels.last_convt_path()
        np.testing.assert_array_equal(got, ref)
        want = isa in IMPLICIT_ISAS and (path == "implicit" or (path == "auto" and isa in auto_isas))
        assert (ran == "implicit") == want, (isa, path, ran)
        assert (ran == "dense") == (path == "auto" and hw == 1), (isa, path, ran)


def test_dispatch(isa):
    """The implicit path takes conv2d with >= 32 input and >= 16 output channels per group, int8
    weights, on AMX and AVX-512, at any stride; fewer channels the im2col path ("packed"), 16-bit activations
    their own ("other"). Every one bit-exact."""
    rng = np.random.default_rng(3)
    args = dict(x_bits=8, x_signed=True, x_zero_point=-5, w_bits=8)
    cases = [  # (cin, cout, stride, x bits) -> path on amx
        ((32, 16, 1, 8), "implicit"), ((31, 16, 1, 8), "packed"), ((32, 15, 1, 8), "packed"),
        ((64, 64, 2, 8), "implicit"), ((64, 64, 1, 16), "other")]
    for (cin, cout, stride, bits), on_amx in cases:
        spec = ConvSpec.make(stride=stride, padding=1)
        if bits == 16:
            x = rng.integers(-300, 300, (1, cin, 6, 7)).astype(np.int16)
            a = dict(args, x_bits=16)
        else:
            x = rng.integers(-128, 128, (1, cin, 6, 7)).astype(np.int8)
            a = args
        w = rng.integers(-127, 128, (cout, cin, 3, 3)).astype(np.int8)
        with kernels.use_isa(isa):
            got = kernels.conv_int(x, w, spec=spec, **a)
            path = kernels.last_conv2d_path()
        np.testing.assert_array_equal(got, reference.conv_int(x, w, spec=spec, **a))
        want = on_amx if isa in IMPLICIT_ISAS or on_amx == "other" else "packed"
        assert path == want, (cin, cout, stride, bits, isa, path)


def test_weights_changed_in_place_are_packed_anew(isa):
    """The packed weights are cached (layout 2 of the packed-weight cache): weights changed in place
    between two calls give the new result, not the cached one; the same weights under another
    dilation reuse the packing (it does not depend on dilation) and still give the golden result."""
    rng = np.random.default_rng(9)
    x = rng.integers(0, 256, (1, 64, 9, 9)).astype(np.uint8)
    w = rng.integers(-127, 128, (32, 64, 3, 3)).astype(np.int8)
    args = dict(x_bits=8, x_signed=False, x_zero_point=100, w_bits=8)
    for spec in (ConvSpec.make(padding=1), ConvSpec.make(padding=2, dilation=2)):
        with kernels.use_isa(isa):
            first = kernels.conv_int(x, w, spec=spec, **args)
        np.testing.assert_array_equal(first, reference.conv_int(x, w, spec=spec, **args))
    w[5, 17, 1, 2] = -w[5, 17, 1, 2] - 1
    with kernels.use_isa(isa):
        second = kernels.conv_int(x, w, spec=spec, **args)
    np.testing.assert_array_equal(second, reference.conv_int(x, w, spec=spec, **args))
    assert not np.array_equal(first, second)


@pytest.mark.skipif("amx" not in ISAS, reason="runs the AMX implicit path against the im2col one")
def test_images_in_chunks():
    """The channel-quad copy holds at most 32 MiB of images (at least one): a batch of four 64-channel
    images of 400 x 400 (10.3 MiB of quads each: 16 quad planes of 402 x 402 x 4 bytes) runs as chunks
    of three and one; bit-exact, conv_int and conv_requant."""
    rng = np.random.default_rng(4)
    spec = ConvSpec.make(padding=1)
    x = rng.integers(-128, 128, (4, 64, 400, 400)).astype(np.int8)
    w = rng.integers(-127, 128, (16, 64, 3, 3)).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=3, w_bits=8, spec=spec)
    with kernels.use_isa("amx"):
        got = kernels.conv_int(x, w, **args)
        assert kernels.last_conv2d_path() == "implicit"
    with kernels.use_isa("avx2" if "avx2" in ISAS else "scalar"):   # the im2col path
        other = kernels.conv_int(x, w, **args)
    np.testing.assert_array_equal(got, other)
    np.testing.assert_array_equal(got[3, :, :50, :50], reference.conv_int(x[3:, :, :51, :51], w, **args)[0, :, :50, :50])
    rq = dict(m0=1 << 30, shift=14, zero_point=-2, out_bits=8, out_signed=True, act="relu")
    with kernels.use_isa("amx"):
        got_q = kernels.conv_requant(x, w, **args, **rq)
        assert kernels.last_conv2d_path() == "implicit"
    np.testing.assert_array_equal(got_q, reference.requantize_integer(other, **rq))


@pytest.mark.parametrize("path", ["phase", "implicit"])
def test_phase_weight_cache_keeps_geometries_apart(isa, path):
    """Packed phase weights are cached per geometry field by field: stride (2, 2) with dilation (1, 65)
    and with dilation (2, 1) have different phase taps but, in a key that packed each field into 6 bits,
    the same key (65 spilled into the stride field), with the same output size: the second call took
    the first's panels (wrong result, reads past them). Same weights, both geometries, golden bits."""
    rng = np.random.default_rng(8)
    w = rng.integers(-127, 128, (64, 16, 3, 3)).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=0, w_bits=8)
    for xs, dil in (((1, 64, 4, 2), (1, 65)), ((1, 64, 3, 66), (2, 1))):
        spec = ConvSpec.make(stride=2, dilation=dil, transposed=True)
        x = rng.integers(-128, 128, xs).astype(np.int8)
        with kernels.use_isa(isa), kernels.use_convt_path(path):
            got = kernels.conv_int(x, w, spec=spec, **args)
        ref = reference.conv_int(x, w, spec=spec, **args)
        assert got.shape == ref.shape == (1, 16, 9, 133)
        np.testing.assert_array_equal(got, ref, err_msg=str(dil))


def test_one_by_one_grids_cached_apart(isa):
    """The per-pixel grids of 1x1 inputs (packed-weight cache layout 3, keyed by output size, padding
    and dilation) and the phase grids of larger inputs (layout 2) never share packed weights: the
    same weights through 1x1 inputs under two paddings, a 2x2 input and 1x1 again, golden bits."""
    rng = np.random.default_rng(12)
    w = rng.integers(-127, 128, (64, 32, 4, 4)).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=2, w_bits=8)
    for hw, pad in ((1, 0), (1, 1), (2, 1), (1, 0)):
        spec = ConvSpec.make(stride=2, padding=pad, transposed=True)
        x = rng.integers(-128, 128, (33, 64, hw, hw)).astype(np.int8)
        with kernels.use_isa(isa), kernels.use_convt_path("implicit" if isa in IMPLICIT_ISAS else "auto"):
            got = kernels.conv_int(x, w, spec=spec, **args)
        np.testing.assert_array_equal(got, reference.conv_int(x, w, spec=spec, **args), err_msg=f"{isa} {hw} {pad}")
