"""Transposed convolution by phase decomposition (csrc/src/qconv.cpp convt_phase) == golden model,
bit for bit, against the GEMM + col2im path it replaces, on every SIMD path: random geometry (kernel
1..5, stride 1..4, dilation, padding, output_padding, groups, odd sizes, batch 1..3), every int
format and zero point, extremes, both conv_int and conv_requant; dispatch (auto / phase / col2im /
fallback) and the ACCELSIM_CONVT switch. Tolerance zero."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.errors import ConfigError
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec
from accelsim.formats.requant import quantize_multiplier

ISAS = kernels.available_isas()
# (activation bits, weight kind, weight bits)
INT = {"int8": (8, "fixed", 8), "int4": (4, "fixed", 4), "w7a8": (8, "fixed", 7), "ternary": (8, "ternary", 2),
       "binary_w_int8_a": (8, "binary", 2)}


@st.composite
def transposed_geometries(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.one_of(st.integers(1, 12), st.sampled_from([31, 33, 64, 65])))
    cout = groups * draw(st.integers(1, 11))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2])))
    padding = (draw(st.integers(0, 4)), draw(st.integers(0, 4)))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    n = draw(st.integers(1, 3))
    xs, ws = (n, cin, h, w), (cin, cout // groups, kh, kw)
    try:
        spec = ConvSpec.make(stride, padding, out_pad, dilation, groups, True)
        spec.check_shapes(xs, ws)
    except ValueError:
        from hypothesis import assume
        assume(False)
    return spec, xs, ws


def operands(fmt, xs, ws, groups, rng, extreme, cout=None):
    """x, w (shape ws) and the conv's keyword arguments, a bias of `cout` channels (default: a
    transposed conv's, ws[1] * groups)."""
    xb, wk, wb = INT[fmt]
    signed = bool(rng.random() < 0.5)
    lo, hi = (-(1 << (xb - 1)), (1 << (xb - 1)) - 1) if signed else (0, (1 << xb) - 1)
    wlo, whi = reference.weight_code_range(wk, wb)
    if extreme == "x_lo_w_lo":
        x, w = np.full(xs, lo), np.full(ws, wlo)
    elif extreme == "x_hi_w_lo":
        x, w = np.full(xs, hi), np.full(ws, wlo)
    elif extreme == "x_hi_w_hi":
        x, w = np.full(xs, hi), np.full(ws, whi)
    else:
        x, w = rng.integers(lo, hi + 1, xs), rng.integers(wlo, whi + 1, ws)
    x = x.astype(np.int8 if signed else np.uint8)
    w = w.astype(np.int8)
    if wk == "binary":
        w[w == 0] = 1
    zx = int(rng.choice([lo, hi, int(rng.integers(lo, hi + 1))]))
    cout = ws[1] * groups if cout is None else cout
    r = rng.random()
    bias = (rng.integers(-(1 << 20), 1 << 20, cout).astype(np.int32) if r < 0.4 else
            rng.integers(-(1 << 24), 1 << 24, cout).astype(np.int64) if r < 0.6 else None)
    return x, w, dict(x_bits=xb, x_signed=signed, x_zero_point=zx, w_kind=wk, w_bits=wb, bias=bias)


@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=40)
@given(geom=transposed_geometries(), seed=st.integers(0, 2**32 - 1),
       extreme=st.sampled_from(["random", "random", "random", "x_lo_w_lo", "x_hi_w_lo", "x_hi_w_hi"]))
@example(geom=(ConvSpec.make(stride=2, padding=1, transposed=True), (2, 65, 3, 5), (65, 7, 4, 4)), seed=0,
         extreme="random")
@example(geom=(ConvSpec.make(stride=(3, 4), padding=(0, 1), output_padding=(2, 3), transposed=True),
               (2, 9, 3, 4), (9, 5, 2, 2)), seed=1, extreme="random")     # phases without taps
@example(geom=(ConvSpec.make(stride=(4, 3), padding=(4, 2), output_padding=(3, 1), dilation=(3, 2), groups=3,
                             transposed=True), (1, 9, 1, 7), (9, 2, 5, 3)), seed=2, extreme="x_hi_w_lo")
def test_phase_equals_golden_and_col2im(fmt, geom, seed, extreme):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    x, w, args = operands(fmt, xs, ws, spec.groups, rng, extreme)
    ref = reference.conv_int(x, w, spec=spec, **args)
    m0, sh = quantize_multiplier(float(rng.choice([1e-4, 0.01, 0.9])))
    rq = dict(m0=m0, shift=sh, zero_point=int(rng.integers(-128, 128)), out_bits=8, out_signed=True,
              act=str(rng.choice(["none", "relu"])))
    ref_q = reference.requantize_integer(ref, **rq)
    for isa in ISAS:
        for path in ("phase", "col2im"):
            with kernels.use_isa(isa), kernels.use_convt_path(path):
                got = kernels.conv_int(x, w, spec=spec, **args)
                got_q = kernels.conv_requant(x, w, spec=spec, **args, **rq)
            np.testing.assert_array_equal(got, ref, err_msg=f"{isa} {path} conv_int")
            assert got.dtype == ref.dtype
            np.testing.assert_array_equal(got_q, ref_q, err_msg=f"{isa} {path} conv_requant")


@pytest.mark.parametrize("path", ISAS)
def test_requant_in_image_chunks(path):
    """conv_requant by phases requantizes chunks of images (accumulators <= 4 MiB each): a batch of
    three images of 256 x 64 x 64 int32 accumulators (4 MiB each) runs as three chunks."""
    rng = np.random.default_rng(5)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    x = rng.integers(-128, 128, (3, 3, 32, 32)).astype(np.int8)
    w = rng.integers(-127, 128, (3, 256, 4, 4)).astype(np.int8)
    bias = rng.integers(-5000, 5000, 256).astype(np.int32)
    m0, sh = quantize_multiplier(0.003)
    args = dict(x_bits=8, x_signed=True, x_zero_point=-3, w_bits=8, bias=bias, spec=spec)
    rq = dict(m0=np.full(256, m0, np.int32), shift=np.full(256, sh, np.int32), zero_point=4, out_bits=8,
              out_signed=True, act="relu")
    ref = reference.conv_requant(x, w, **args, **rq)
    with kernels.use_isa(path), kernels.use_convt_path("phase"):
        got = kernels.conv_requant(x, w, **args, **rq)
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(got)) > 50


def check_int_and_requant(isa, path, x, w, args, rq):
    """conv_int and conv_requant on ISA `isa` with transposed-conv path `path` equal the golden model."""
    with kernels.use_isa(isa), kernels.use_convt_path(path):
        got = kernels.conv_int(x, w, **args)
        got_q = kernels.conv_requant(x, w, **args, **rq)
    ref = reference.conv_int(x, w, **args)
    np.testing.assert_array_equal(got, ref, err_msg=str(args["spec"]))
    np.testing.assert_array_equal(got_q, reference.requantize_integer(ref, **rq), err_msg=str(args["spec"]))


@pytest.mark.parametrize("threads", [1, 2])
def test_stride2_phase_pairs_in_one_task(isa, threads):
    """With enough column blocks (>= 2 per thread) the phases of a column block run in order in one
    task and stride-2 phase pairs write whole output rows together (csrc/src/qconv.cpp, Sink roles);
    odd output widths (output_padding) leave one column to the even phase. Golden, bit for bit."""
    rng = np.random.default_rng(17)
    prev = kernels.num_threads()
    kernels.set_num_threads(threads)
    try:
        for out_pad, pad, hw in (((0, 0), 1, (16, 16)), ((1, 1), 1, (16, 15)), ((1, 0), 2, (15, 17)),
                                 ((0, 1), 0, (17, 16))):
            spec = ConvSpec.make(stride=2, padding=pad, output_padding=out_pad, transposed=True)
            x = rng.integers(-128, 128, (9, 20) + hw).astype(np.int8)
            w = rng.integers(-127, 128, (20, 24, 4, 4)).astype(np.int8)
            bias = rng.integers(-9999, 9999, 24).astype(np.int32)
            args = dict(x_bits=8, x_signed=True, x_zero_point=-7, w_bits=8, bias=bias, spec=spec)
            m0, sh = quantize_multiplier(0.002)
            rq = dict(m0=m0, shift=sh, zero_point=-3, out_bits=8, out_signed=True, act="none")
            check_int_and_requant(isa, "phase", x, w, args, rq)
    finally:
        kernels.set_num_threads(prev)


def test_one_by_one_inputs_take_phases_when_dense_is_off(isa):
    """A transposed conv of 1x1 inputs (a generator's first layer) takes conv_dense under auto
    (tests/test_dense_convt.py); with `implicit` asked for, it takes the phase path on ISAs without
    the implicit kernel whose u8 x s8 k-groups are 4 bytes (scalar; DCGAN-64's 100x1x1 layer: phases
    1.19-1.85x faster than col2im on Zen 4 at batch 1, docs/performance.md), col2im on AVX2, the
    implicit GEMM where it exists; bit-exact every way."""
    rng = np.random.default_rng(11)
    args = dict(x_bits=4, x_signed=True, x_zero_point=-1, w_bits=4)   # the u8 x s8 path on every ISA
    for spec, cin in ((ConvSpec.make(stride=1, padding=0, transposed=True), 100),
                      (ConvSpec.make(stride=2, padding=1, output_padding=1, transposed=True), 300)):
        x = rng.integers(-8, 8, (1, cin, 1, 1)).astype(np.int8)
        w = rng.integers(-7, 8, (cin, 32, 4, 4)).astype(np.int8)
        with kernels.use_isa(isa):
            with kernels.use_convt_path("implicit"):
                got = kernels.conv_int(x, w, spec=spec, **args)
                ran = kernels.last_convt_path()
            got_auto = kernels.conv_int(x, w, spec=spec, **args)
            assert kernels.last_convt_path() == "dense"
        want = reference.conv_int(x, w, spec=spec, **args)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got_auto, want)
        assert ran == ("col2im" if isa == "avx2" else "implicit" if isa in ("amx", "avx512") else "phase"), (isa, ran)


def test_dispatch_reaches_every_path(isa):
    """auto takes the phase path where benchmarks/bench_convt.py measured it faster (docs/design.md):
    the same number of taps >= 4 in every phase, <= 128 (amx) or 64 (others; avx512 also >= 256) input
    and >= 16 output channels per group, on ISAs whose u8 x s8 k-groups are 4 bytes (all but avx2); GEMM + col2im
    otherwise (where auto does not take the implicit GEMM: tests/test_implicit_conv.py). Either can be
    forced; 16-bit activations fall back to their own path ("other")."""
    rng = np.random.default_rng(2)
    s2 = ConvSpec.make(stride=2, padding=1, transposed=True)
    s1 = ConvSpec.make(stride=1, padding=1, transposed=True)
    x = rng.integers(-8, 8, (1, 16, 4, 4)).astype(np.int8)
    args = dict(x_bits=4, x_signed=True, x_zero_point=0, w_bits=4)   # the u8 x s8 path on every ISA
    assert kernels.convt_path() == "auto"
    quads = isa != "avx2"
    expect = {("auto", 16, 2): "phase" if quads else "col2im", ("auto", 16, 1): "phase" if quads else "col2im",
              ("auto", 8, 2): "col2im", ("col2im", 16, 2): "col2im", ("phase", 8, 1): "phase",
              ("phase", 16, 2): "phase"}
    seen = {}
    for path, cout, stride in expect:
        spec = s2 if stride == 2 else s1
        w = rng.integers(-7, 8, (16, cout, 4, 4)).astype(np.int8)
        with kernels.use_isa(isa), kernels.use_convt_path(path):
            got = kernels.conv_int(x, w, spec=spec, **args)
        np.testing.assert_array_equal(got, reference.conv_int(x, w, spec=spec, **args))
        seen[path, cout, stride] = kernels.last_convt_path()
    assert seen == expect
    for cin in (65, 128, 129, 255, 256):  # amx: phases up to 128 input channels; avx512: up to 64 and from 256
        # batch 2 of 3x3 inputs: too few window columns for auto's implicit GEMM (test_implicit_conv)
        wide = rng.integers(-8, 8, (2, cin, 3, 3)).astype(np.int8)
        w_wide = rng.integers(-7, 8, (cin, 16, 4, 4)).astype(np.int8)
        with kernels.use_isa(isa):
            got = kernels.conv_int(wide, w_wide, spec=s2, **args)
        np.testing.assert_array_equal(got, reference.conv_int(wide, w_wide, spec=s2, **args))
        phase = (isa == "amx" and cin <= 128) or (isa == "avx512" and cin >= 256)
        assert kernels.last_convt_path() == ("phase" if phase else "col2im"), cin
    w16 = rng.integers(-7, 8, (16, 16, 4, 4)).astype(np.int8)
    w3 = rng.integers(-7, 8, (16, 16, 3, 3)).astype(np.int8)
    for spec, ww in ((ConvSpec.make(stride=4, transposed=True), w16),       # one tap per phase
                     (ConvSpec.make(stride=2, padding=1, transposed=True), w3)):  # 4, 2, 2 and 1 taps
        with kernels.use_isa(isa):
            got = kernels.conv_int(x, ww, spec=spec, **args)
        np.testing.assert_array_equal(got, reference.conv_int(x, ww, spec=spec, **args))
        assert kernels.last_convt_path() == "col2im"
    x16 = rng.integers(-300, 300, (1, 16, 4, 4)).astype(np.int16)
    a16 = dict(x_bits=16, x_signed=True, x_zero_point=0, w_bits=8)
    with kernels.use_isa(isa):
        got = kernels.conv_int(x16, w, spec=s2, **a16)
    np.testing.assert_array_equal(got, reference.conv_int(x16, w, spec=s2, **a16))
    assert kernels.last_convt_path() == "other"


def test_phase_weights_cache_follows_the_geometry():
    """The phases' packed weights are cached per weights and per stride / dilation / padding: the same
    weights under another geometry are packed anew (else the wrong taps would be used)."""
    rng = np.random.default_rng(9)
    w = rng.integers(-127, 128, (8, 6, 4, 4)).astype(np.int8)
    x = rng.integers(-128, 128, (2, 8, 5, 5)).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=1, w_bits=8)
    for spec in (ConvSpec.make(stride=2, padding=1, transposed=True), ConvSpec.make(stride=2, padding=0, transposed=True),
                 ConvSpec.make(stride=3, padding=1, transposed=True), ConvSpec.make(stride=2, dilation=2, transposed=True),
                 ConvSpec.make(stride=(2, 1), padding=1, transposed=True)):
        with kernels.use_convt_path("phase"):
            got = kernels.conv_int(x, w, spec=spec, **args)
        np.testing.assert_array_equal(got, reference.conv_int(x, w, spec=spec, **args), err_msg=str(spec))


def test_convt_path_switch():
    with pytest.raises(ConfigError, match="transposed-conv path"):
        kernels.set_convt_path("fft")
    code = "from accelsim import kernels; print(kernels.convt_path())"
    for name in kernels.CONVT_PATHS:
        out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, ACCELSIM_CONVT=name),
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == name
    code = ("import numpy as np; from accelsim import kernels; from accelsim.formats.conv import ConvSpec; "
            "kernels.conv_int(np.zeros((1, 1, 2, 2), np.int8), np.zeros((1, 1, 2, 2), np.int8), x_bits=8, "
            "x_signed=True, x_zero_point=0, spec=ConvSpec.make(stride=2, transposed=True))")
    res = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, ACCELSIM_CONVT="fft"),
                         capture_output=True, text=True)
    assert res.returncode != 0 and "ACCELSIM_CONVT" in res.stderr


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_one_image_of_few_rows_split_over_threads(isa, threads):
    """One image whose sink takes whole images (csrc/src/packed_gemm.hpp few_blocks): the GEMM's M
    blocks shrink to whole channels so that every thread gets one, and the image's B is packed by
    ranges of k-groups on every thread: pix2pix's last layer (few output channels, col2im) and a
    conv2d of few input channels (im2col), conv_int and conv_requant, golden bit for bit."""
    rng = np.random.default_rng(23)
    prev = kernels.num_threads()
    kernels.set_num_threads(threads)
    try:
        cases = ((ConvSpec.make(stride=2, padding=1, transposed=True), (1, 128, 9, 21), (128, 3, 4, 4)),
                 (ConvSpec.make(stride=2, padding=1, output_padding=1, transposed=True), (1, 100, 7, 5), (100, 5, 3, 3)),
                 (ConvSpec.make(stride=1, padding=1), (1, 16, 11, 40), (64, 16, 3, 3)),
                 (ConvSpec.make(stride=2, padding=(1, 2)), (1, 20, 13, 9), (40, 20, 3, 5)))
        for spec, xs, ws in cases:
            x = rng.integers(-128, 128, xs).astype(np.int8)
            w = rng.integers(-127, 128, ws).astype(np.int8)
            cout = ws[1] if spec.transposed else ws[0]
            bias = rng.integers(-9999, 9999, cout).astype(np.int32)
            args = dict(x_bits=8, x_signed=True, x_zero_point=5, w_bits=8, bias=bias, spec=spec)
            m0, sh = quantize_multiplier(0.001)
            rq = dict(m0=m0, shift=sh, zero_point=-2, out_bits=16, out_signed=True, act="none")
            check_int_and_requant(isa, "col2im", x, w, args, rq)
    finally:
        kernels.set_num_threads(prev)
