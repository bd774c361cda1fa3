"""Transposed convolutions of 1x1 inputs as one matrix product (csrc/src/qconv.cpp conv_dense, the
hot.hpp dense_u8s8 kernel on every ISA) == golden model, bit for bit: random geometry (kernel 1..5,
stride, dilation, padding, output_padding: output pixels with one tap or none, down to convs whose
pixels take no tap at all), groups, input channels around the 4-byte k-quads, output channels around
the 64-column panels and the task chunks, batches around the kernel's 6-row groups and the 48-image
blocks, every int format of the u8 x s8 path, extremes, conv_int and conv_requant (requantized in the
tasks, or after them when the row kernel does not take the parameters); dispatch (auto takes it on
every ISA, the other paths stay reachable); the packed-weight cache across geometries that use
different taps of the same weights. Tolerance zero."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec
from tests.test_implicit_conv import check_every_isa, requant_args
from tests.test_phase_convt import INT, operands

ISAS = kernels.available_isas()


@st.composite
def one_by_one(draw):
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    cin = groups * draw(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 31, 33, 100, 129]))
    cout = groups * draw(st.sampled_from([1, 2, 3, 15, 16, 17, 31, 33, 64, 65]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2])))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    n = draw(st.sampled_from([1, 1, 2, 5, 6, 7, 12, 13, 47, 48, 49, 60]))
    xs, ws = (n, cin, 1, 1), (cin, cout // groups, kh, kw)
    try:
        spec = ConvSpec.make(stride, padding, out_pad, dilation, groups, True)
        spec.check_shapes(xs, ws)
    except ValueError:
        assume(False)
    return spec, xs, ws


@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=40, deadline=None)
@given(geom=one_by_one(), seed=st.integers(0, 2**32 - 1),
       extreme=st.sampled_from(["random", "random", "random", "x_lo_w_lo", "x_hi_w_lo", "x_hi_w_hi"]))
@example(geom=(ConvSpec.make(stride=1, padding=0, transposed=True), (1, 100, 1, 1), (100, 64, 4, 4)), seed=0,
         extreme="random")   # DCGAN-64's first layer: the output is the kernel window (identity)
@example(geom=(ConvSpec.make(stride=2, padding=1, transposed=True), (49, 129, 1, 1), (129, 33, 4, 4)), seed=1,
         extreme="x_hi_w_lo")   # pix2pix's innermost up layer: 4 of 16 taps used; a 49th image
@example(geom=(ConvSpec.make(stride=1, padding=1, dilation=2, transposed=True), (3, 8, 1, 1), (8, 5, 2, 2)),
         seed=2, extreme="random")   # one output pixel, no tap: bias (and zero point) only
def test_dense_equals_golden(fmt, geom, seed, extreme):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    x, w, args = operands(fmt, xs, ws, spec.groups, rng, extreme)
    ran = check_every_isa(x, w, spec, args, requant_args(rng, ws[1] * spec.groups), kernels.last_convt_path,
                          convt_path="dense")
    for isa, pair in ran.items():   # every ISA has the kernel; 16-bit activations take their own path
        assert pair == ("dense", "dense"), (isa, pair)


@pytest.mark.parametrize("path", ["auto", "dense", "implicit", "phase", "col2im"])
def test_auto_takes_dense_and_the_others_stay_reachable(isa, path):
    """auto runs a 1x1-input transposed conv by conv_dense on every ISA (each measured faster than the
    implicit GEMM, phases and col2im at batch 1 and 8: docs/performance.md); a forced path still
    runs its own algorithm, bit-exact; 16-bit activations keep the int64 path ("other")."""
    rng = np.random.default_rng(4)
    spec = ConvSpec.make(stride=1, padding=0, transposed=True)
    x = rng.integers(-128, 128, (2, 100, 1, 1)).astype(np.int8)
    w = rng.integers(-127, 128, (100, 32, 4, 4)).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=-3, w_bits=8, spec=spec)
    with kernels.use_isa(isa), kernels.use_convt_path(path):
        got = kernels.conv_int(x, w, **args)
        ran = kernels.last_convt_path()
    np.testing.assert_array_equal(got, reference.conv_int(x, w, **args))
    if path in ("auto", "dense"):
        assert ran == "dense", (isa, path, ran)
    elif path == "implicit" and isa not in ("amx", "avx512"):
        assert ran != "dense", (isa, ran)   # no implicit kernel: as auto without dense
    else:
        assert ran == path or (isa == "avx2" and ran == "other"), (isa, path, ran)
    x16 = rng.integers(-300, 300, (1, 40, 1, 1)).astype(np.int16)
    w16 = rng.integers(-127, 128, (40, 16, 3, 3)).astype(np.int8)
    a16 = dict(x_bits=16, x_signed=True, x_zero_point=0, w_bits=8, spec=spec)
    with kernels.use_isa(isa), kernels.use_convt_path(path):
        got = kernels.conv_int(x16, w16, **a16)
        assert kernels.last_convt_path() == "other"
    np.testing.assert_array_equal(got, reference.conv_int(x16, w16, **a16))


def test_dense_on_larger_inputs_runs_as_auto(isa):
    """`dense` asked for a transposed conv of a larger input runs what auto picks among the others."""
    rng = np.random.default_rng(5)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    x = rng.integers(0, 256, (1, 64, 3, 3)).astype(np.uint8)
    w = rng.integers(-127, 128, (64, 32, 4, 4)).astype(np.int8)
    args = dict(x_bits=8, x_signed=False, x_zero_point=5, w_bits=8, spec=spec)
    with kernels.use_isa(isa), kernels.use_convt_path("auto"):
        want = kernels.conv_int(x, w, **args)
        auto = kernels.last_convt_path()
    with kernels.use_isa(isa), kernels.use_convt_path("dense"):
        got = kernels.conv_int(x, w, **args)
        assert kernels.last_convt_path() == auto != "dense"
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, reference.conv_int(x, w, **args))


def test_cache_keeps_geometries_apart(isa):
    """The same weights (one frozen key) in two geometries whose output pixels take different taps
    (padding 0: all 16; stride 2 padding 1: the middle 4) pack different columns: each call equals
    the golden model, in both orders."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (3, 64, 1, 1)).astype(np.uint8)
    w = rng.integers(-127, 128, (64, 48, 4, 4)).astype(np.int8)
    key = kernels.frozen_key(w)
    specs = [ConvSpec.make(stride=1, padding=0, transposed=True), ConvSpec.make(stride=2, padding=1, transposed=True),
             ConvSpec.make(stride=2, padding=1, output_padding=1, transposed=True)]
    with kernels.use_isa(isa), kernels.use_convt_path("dense"):
        for spec in specs + specs[::-1]:
            args = dict(x_bits=8, x_signed=False, x_zero_point=0, w_bits=8, spec=spec)
            got = kernels.conv_int(x, w, w_key=key, **args)
            assert kernels.last_convt_path() == "dense"
            np.testing.assert_array_equal(got, reference.conv_int(x, w, **args), err_msg=str(spec))
