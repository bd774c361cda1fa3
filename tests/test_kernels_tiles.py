"""Edge cases of the packed kernels' layouts, on every SIMD path: channel counts that leave tails of
the micro-kernel tiles (rows mr, columns nr, k-groups of 2 or 4 values, 64-bit sign words), the
flexpoint digit GEMM's K chunks (> 256 products per int32 partial sum) and its compact dynamic-mode
accumulators, transposed-convolution phases (stride, dilation, output_padding, kernels smaller than
the stride), and int32 accumulators at the edge of their proven range. Tolerance zero."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec

PATHS = kernels.available_isas()  # hypothesis tests take the ISA as a parameter, not the `isa` fixture
# (activation bits, weight kind, weight bits)
INT = {"int8": (8, "fixed", 8), "int4": (4, "fixed", 4), "ternary": (8, "ternary", 2),
       "binary_w_int8_a": (8, "binary", 2)}


@st.composite
def geometries(draw, max_cin=300):
    """A valid conv2d / conv_transpose2d with wide channel counts and small images."""
    transposed = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.one_of(st.integers(1, max_cin // groups), st.sampled_from([63, 64, 65, 127, 128, 129])
                                  .filter(lambda c: c * groups <= 2 * max_cin)))
    cout = groups * draw(st.integers(1, 12))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) if transposed else 0 for s, d in zip(stride, dilation))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    n = draw(st.integers(1, 2))
    x_shape = (n, cin, h, w)
    w_shape = (cin, cout // groups, kh, kw) if transposed else (cout, cin // groups, kh, kw)
    try:
        spec = ConvSpec.make(stride, padding, out_pad, dilation, groups, transposed)
        spec.check_shapes(x_shape, w_shape)
    except ValueError:
        from hypothesis import assume
        assume(False)
    return spec, x_shape, w_shape


DCGAN_EDGE = (ConvSpec.make(stride=2, padding=1, transposed=True), (2, 65, 3, 5), (65, 7, 4, 4))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=25)
@given(geom=geometries(), seed=st.integers(0, 2**32 - 1))
@example(geom=DCGAN_EDGE, seed=0)
def test_int_formats_wide_channels(fmt, path, geom, seed):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    xb, wk, wb = INT[fmt]
    signed = bool(rng.random() < 0.5)
    lo, hi = (-(1 << (xb - 1)), (1 << (xb - 1)) - 1) if signed else (0, (1 << xb) - 1)
    x = rng.integers(lo, hi + 1, xs).astype(np.int8 if signed else np.uint8)
    wlo, whi = reference.weight_code_range(wk, wb)
    w = rng.integers(wlo, whi + 1, ws).astype(np.int8)
    if wk == "binary":
        w[w == 0] = 1
    zx = int(rng.choice([lo, hi, int(rng.integers(lo, hi + 1))]))
    args = dict(x_bits=xb, x_signed=signed, x_zero_point=zx, w_kind=wk, w_bits=wb, spec=spec)
    with kernels.use_isa(path):
        got = kernels.conv_int(x, w, **args)
    np.testing.assert_array_equal(got, reference.conv_int(x, w, **args))


@st.composite
def rgb_output_layers(draw):
    """Stride-1 conv2d with 1-4 output channels on rows >= 16 pixels wide: the direct (no-im2col)
    path of ISAs with VBMI (csrc/src/qconv.cpp conv_direct_small), with every row tail, kernel width
    (k-quads of 4, zero past kw) and padding against the image edges."""
    cin, cout = draw(st.integers(1, 70)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    ph, pw = draw(st.integers(0, kh)), draw(st.integers(0, kw))
    h, w = draw(st.integers(1, 12)), draw(st.integers(max(1, 16 + kw - 1 - 2 * pw), 140))
    spec = ConvSpec.make(padding=(ph, pw))
    xs, ws = (draw(st.integers(1, 2)), cin, h, w), (cout, cin, kh, kw)
    try:
        spec.check_shapes(xs, ws)
    except ValueError:
        from hypothesis import assume
        assume(False)
    return spec, xs, ws


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=30)
@given(geom=rgb_output_layers(), seed=st.integers(0, 2**32 - 1))
@example(geom=(ConvSpec.make(padding=3), (1, 64, 5, 70), (3, 64, 7, 7)), seed=3)
def test_int_formats_few_output_channels(fmt, path, geom, seed):
    test_int_formats_wide_channels.hypothesis.inner_test(fmt=fmt, path=path, geom=geom, seed=seed)


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=25)
@given(geom=geometries(max_cin=200), seed=st.integers(0, 2**32 - 1))
@example(geom=DCGAN_EDGE, seed=0)
def test_binary_wide_channels(path, geom, seed):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(xs) < 0.5, 1, -1).astype(np.int8)
    w = np.where(rng.random(ws) < 0.5, 1, -1).astype(np.int8)
    cout = ws[1] * spec.groups if spec.transposed else ws[0]
    bias = rng.integers(-1000, 1000, cout).astype(np.int32)
    with kernels.use_isa(path):
        got = kernels.conv_xnor(x, w, bias=bias, spec=spec)
    np.testing.assert_array_equal(got, reference.conv_xnor(x, w, bias=bias, spec=spec))


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=20)
@given(geom=geometries(max_cin=300), seed=st.integers(0, 2**32 - 1), dynamic=st.booleans())
@example(geom=(ConvSpec.make(stride=2, padding=1, transposed=True), (1, 300, 3, 3), (300, 3, 4, 4)), seed=1,
         dynamic=True)
@example(geom=(ConvSpec.make(padding=1), (1, 40, 4, 4), (5, 40, 3, 3)), seed=2, dynamic=True)
def test_flex_wide_channels(path, geom, seed, dynamic):
    """K > 256 takes several int32 chunks; full-scale mantissas make accumulators beyond 2^30, which
    dynamic mode keeps compactly before it knows the exponent."""
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    full = rng.random() < 0.5
    xm = (np.where(rng.random(xs) < 0.5, 32767, -32768) if full else rng.integers(-32768, 32768, xs)).astype(np.int16)
    wm = (np.where(rng.random(ws) < 0.5, 32767, -32768) if full else rng.integers(-32768, 32768, ws)).astype(np.int16)
    ex, ew = (int(v) for v in rng.integers(-16, 6, 2))
    out_exp = None if dynamic else int(rng.integers(-16, 16))
    try:
        ref = reference.conv_flex(xm, ex, wm, ew, spec=spec, out_exp=out_exp)
    except ValueError:
        with pytest.raises(ValueError, match="exponent > 15"), kernels.use_isa(path):
            kernels.conv_flex(xm, ex, wm, ew, spec=spec, out_exp=out_exp)
        return
    with kernels.use_isa(path):
        got = kernels.conv_flex(xm, ex, wm, ew, spec=spec, out_exp=out_exp)
    np.testing.assert_array_equal(got[0], ref[0])
    assert got[1:] == tuple(ref[1:])


def test_flex_ties_after_compaction(isa):
    """Accumulators that are sums of +-2^29 and 2^30 (ties of the output rounding abound) beyond 2^30,
    dynamic mode: the compact form must round exactly like the full int64."""
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    for cin in (1, 257, 513):
        xm = np.full((1, cin, 2, 2), -32768, np.int16)
        wm = np.full((cin, 2, 4, 4), -32768, np.int16)
        wm[:, 1] = 16384
        ref = reference.conv_flex(xm, -16, wm, -16, spec=spec)
        with kernels.use_isa(isa):
            got = kernels.conv_flex(xm, -16, wm, -16, spec=spec)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1:] == tuple(ref[1:]) and got[3] >= 2**30


def test_int8_accumulators_at_the_int32_edge(isa):
    """taps * 255 * 128 just below 2^31: the plan keeps int32, and every partial sum must be exact
    (VNNI sums u8 x s8 quads straight into int32 lanes)."""
    spec = ConvSpec.make()
    cin = 16000  # 2x2 kernel: 64000 taps, |acc| = 64000 * 255 * 128 = 2,088,960,000 < 2^31
    w = np.full((2, cin, 2, 2), -128, np.int8)
    w[1, ::3] = 127
    biggest = 0
    for xv, zp in [(127, -128), (-128, 127), (-128, 0)]:
        x = np.full((1, cin, 3, 3), xv, np.int8)
        args = dict(x_bits=8, x_signed=True, x_zero_point=zp, w_bits=8, spec=spec)
        with kernels.use_isa(isa):
            got = kernels.conv_int(x, w, **args)
        ref = reference.conv_int(x, w, **args)
        assert got.dtype == np.int32 == ref.dtype
        np.testing.assert_array_equal(got, ref)
        biggest = max(biggest, int(np.abs(ref.astype(np.int64)).max()))
    assert biggest > 2**30


def test_transposed_phases_without_taps(isa):
    """Stride larger than the dilated kernel: some output phases receive no tap (bias only)."""
    spec = ConvSpec.make(stride=(3, 4), padding=(0, 1), output_padding=(2, 3), transposed=True)
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (2, 9, 3, 4)).astype(np.int8)
    w = rng.integers(-127, 128, (9, 5, 2, 2)).astype(np.int8)
    bias = rng.integers(-1000, 1000, 5).astype(np.int32)
    args = dict(x_bits=8, x_signed=True, x_zero_point=3, w_bits=8, bias=bias, spec=spec)
    with kernels.use_isa(isa):
        got = kernels.conv_int(x, w, **args)
    np.testing.assert_array_equal(got, reference.conv_int(x, w, **args))
    assert (got[:, :, 2] == bias[None, :, None]).all()  # row 2 of every 3: no kernel row lands there


def test_isa_env_var_selects_the_path():
    """ACCELSIM_ISA picks the path at first use; an unsupported or unknown name is an error."""
    code = "from accelsim import kernels; print(kernels.active_isa())"
    for isa in kernels.available_isas():
        out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, ACCELSIM_ISA=isa), capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == isa
    res = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, ACCELSIM_ISA="sse9"), capture_output=True,
                         text=True)
    assert res.returncode != 0 and "ACCELSIM_ISA" in res.stderr


@pytest.mark.parametrize("transposed", [True, False])
def test_weights_packed_in_channel_blocks(isa, transposed):
    """Weights whose panels exceed max(input bytes, 2 MiB) are packed and run in blocks of output
    channels (one GEMM each): int8, and flex16 whose digit panels are twice the weights."""
    rng = np.random.default_rng(11)
    cin, cout, k = (512, 200, 4) if transposed else (1100, 260, 3)
    spec = ConvSpec.make(stride=2 if transposed else 1, padding=1, transposed=transposed)
    ws = (cin, cout, k, k) if transposed else (cout, cin, k, k)
    x = rng.integers(-128, 128, (1, cin, 3, 3)).astype(np.int8)
    w = rng.integers(-127, 128, ws).astype(np.int8)
    args = dict(x_bits=8, x_signed=True, x_zero_point=-5, w_bits=8, spec=spec)
    with kernels.use_isa(isa):
        got = kernels.conv_int(x, w, **args)
    np.testing.assert_array_equal(got, reference.conv_int(x, w, **args))
    xm = rng.integers(-32768, 32768, (1, cin, 3, 3)).astype(np.int16)
    wm = rng.integers(-32768, 32768, ws).astype(np.int16)
    for out_exp in (None, 12):
        with kernels.use_isa(isa):
            got = kernels.conv_flex(xm, -16, wm, -16, spec=spec, out_exp=out_exp)
        ref = reference.conv_flex(xm, -16, wm, -16, spec=spec, out_exp=out_exp)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1:] == tuple(ref[1:])


@pytest.mark.parametrize("path", PATHS)
def test_packed_weight_cache_follows_the_weights(path):
    """Packed int8 weights are reused across calls (csrc/src/qconv.cpp, keyed by address, shape, a hash
    of the bytes, tile geometry and blocking): weights changed in place, a new batch size (another
    output-channel blocking) and another ISA all give the golden result."""
    rng = np.random.default_rng(11)
    for spec, xs, ws in ((ConvSpec.make(padding=1), (1, 40, 6, 6), (24, 40, 3, 3)),
                         (ConvSpec.make(stride=2, padding=1, transposed=True), (1, 64, 3, 3), (64, 32, 4, 4))):
        w = rng.integers(-127, 128, ws).astype(np.int8)
        args = dict(x_bits=8, x_signed=True, x_zero_point=5, w_kind="fixed", w_bits=8, spec=spec)
        for step in range(4):
            x = rng.integers(-128, 128, (1 + 3 * (step % 2),) + xs[1:]).astype(np.int8)
            if step == 2:
                w[0, 0, 0, 0] = -w[0, 0, 0, 0] - 1      # in place: same address and shape
            with kernels.use_isa(path):
                got = kernels.conv_int(x, w, **args)
            np.testing.assert_array_equal(got, reference.conv_int(x, w, **args))


@pytest.mark.parametrize("path", PATHS)
def test_packed_weight_cache_sees_a_change_in_every_hashed_part(path):
    """The cache's fingerprint reads weights in 256 KiB chunks (in parallel), each as 256-byte blocks
    of 32 lanes plus a tail (hot.hpp hash_bytes): one byte changed in place in the first chunk, in a
    block of the last chunk, and in its tail (the last byte), each gives the golden result."""
    rng = np.random.default_rng(12)
    ws = (257, 129, 3, 3)                   # 298,377 bytes: a full chunk, then 141 blocks + 137 tail bytes
    w = rng.integers(-127, 128, ws).astype(np.int8)
    flat = w.reshape(-1)
    x = rng.integers(-128, 128, (1, 257, 2, 2)).astype(np.int8)
    for spec in (ConvSpec.make(stride=2, padding=1, transposed=True), ConvSpec.make(padding=1)):
        wc = w if spec.transposed else w.transpose(1, 0, 2, 3).copy()
        xc = x
        fl = flat if spec.transposed else wc.reshape(-1)
        args = dict(x_bits=8, x_signed=True, x_zero_point=3, w_kind="fixed", w_bits=8, spec=spec)
        for pos in (None, 1000, (1 << 18) + 5000, fl.size - 1):
            if pos is not None:
                fl[pos] = 127 if fl[pos] != 127 else -127   # in place: same address and shape
            with kernels.use_isa(path):
                got = kernels.conv_int(xc, wc, **args)
            np.testing.assert_array_equal(got, reference.conv_int(xc, wc, **args))


# ---- micro-kernel tester, XNNPACK style (issue 13 item 6): every ISA forced, every tile remainder ----
# A 1x1 conv2d is the GEMM C[M=Cout][N=pixels] = A[M][K=Cin] * B[K][N] of the packed kernels. The tiles
# are mr x nr with k-groups of kg values: scalar 4x16 (u8s8 kg 4, s16 kg 2), 4x4 xnor words; avx2 6x16
# s16 / 6x32 u8s8; avx512 8x32 (kg 4); amx 32x32 tiles of 64-byte k-groups; flex K chunks of 256. Each
# dimension runs over every remainder of all of them (1..mr+1 for mr <= 8, 2*8+1, around 32 and 64)
# with the other two past a full tile, then a few all-remainder corners; tolerance zero.
M_REM = tuple(range(1, 10)) + (15, 16, 17, 31, 32, 33)
N_REM = tuple(range(1, 10)) + (15, 16, 17, 31, 32, 33, 63, 65)
K_REM = (1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 129, 257)
CORNERS = ((1, 1, 1), (7, 17, 9), (33, 65, 257), (5, 3, 65), (17, 33, 3))


def _gemm_shapes():
    yield from ((m, 33, 65) for m in M_REM)
    yield from ((33, n, 65) for n in N_REM)
    yield from ((33, 33, k) for k in K_REM)
    yield from CORNERS


# kind -> (x_bits, x_signed, w_kind, w_bits): which GEMM of csrc/src/qconv.cpp the case reaches
GEMM_KINDS = {"u8s8": (8, False, "fixed", 8), "u8s8-ternary": (8, True, "ternary", 2),
              "s16": (12, True, "fixed", 8), "s32s64": (16, True, "fixed", 16)}


@pytest.mark.parametrize("kind", list(GEMM_KINDS) + ["xnor", "flex"])
def test_microkernel_every_tile_remainder(isa, kind):   # isa: conftest's fixture, every available path
    rng = np.random.default_rng(13)
    bad = []
    for m, n, k in _gemm_shapes():
        spec = ConvSpec.make()
        with kernels.use_isa(isa):
            if kind in GEMM_KINDS:
                xb, signed, wk, wb = GEMM_KINDS[kind]
                lo, hi = (-(1 << (xb - 1)), (1 << (xb - 1)) - 1) if signed else (0, (1 << xb) - 1)
                dt = (np.int8 if xb <= 8 else np.int16) if signed else np.uint8
                x = rng.choice([lo, hi, int(rng.integers(lo, hi + 1))], (1, k, 1, n)).astype(dt) \
                    if rng.random() < 0.3 else rng.integers(lo, hi + 1, (1, k, 1, n)).astype(dt)
                wlo, whi = reference.weight_code_range(wk, wb)
                w = rng.integers(wlo, whi + 1, (m, k, 1, 1)).astype(np.int8 if wb <= 8 else np.int16)
                args = dict(x_bits=xb, x_signed=signed, x_zero_point=int(rng.integers(lo, hi + 1)), w_kind=wk,
                            w_bits=wb, bias=rng.integers(-999, 1000, m).astype(np.int32), spec=spec)
                got, want = kernels.conv_int(x, w, **args), reference.conv_int(x, w, **args)   # s32s64: int64 from K=2
            elif kind == "xnor":
                x = np.where(rng.random((1, k, 1, n)) < 0.5, 1, -1).astype(np.int8)
                w = np.where(rng.random((m, k, 1, 1)) < 0.5, 1, -1).astype(np.int8)
                got, want = (impl.conv_xnor(x, w, spec=spec) for impl in (kernels, reference))
            else:
                x = rng.integers(-32768, 32768, (1, k, 1, n)).astype(np.int16)
                w = rng.integers(-32768, 32768, (m, k, 1, 1)).astype(np.int16)
                g, r = (impl.conv_flex(x, -9, w, -7, spec=spec) for impl in (kernels, reference))   # dynamic
                got, want = np.append(g[0].ravel(), g[1:]), np.append(r[0].ravel(), r[1:])
        if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(got, want):
            bad.append((m, n, k))
    assert not bad, f"{isa} {kind}: (M, N, K) differing from the golden model: {bad}"
