"""The fused w1a1 MAC (kernels.conv_xnor_f64: signs of float64 x, XNOR implicit-GEMM convolution,
float64 scale and optional ReLU in one C++ call, csrc/src/bconv.cpp bconv_f64) == its golden
composition (formats.reference.conv_xnor_f64: np.where(x >= 0, 1, -1), conv_xnor, acc * scale,
np.maximum(y, 0.0)), bit for bit, on every ISA: conv2d and transposed (phases, phases without taps),
groups, stride 1..3 (and past the phase limit), dilation, padding, output_padding, odd sizes, Cin
around the 64-channel words, batch 1..3, NaN / -0.0 / +-inf inputs; the packed-weight cache; the
geometries that take the int8 path; errors naming the argument; and the runtime: its w1a1 bits are
those of the unfused steps."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.errors import FormatError
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec

ISAS = kernels.available_isas()


def bits(a: np.ndarray) -> np.ndarray:
    assert a.dtype == np.float64
    return np.ascontiguousarray(a).view(np.int64)


def operands(rng, xs, ws, cout, specials=True, relu=False, bias_max=50):
    x = rng.standard_normal(xs) * rng.choice([1e-3, 1.0, 1e3])
    if specials:   # signs of the IEEE specials: NaN -> -1, -0.0 -> +1, +0.0 -> +1, -inf -> -1, +inf -> +1
        for v, p in ((np.nan, 0.05), (-0.0, 0.05), (0.0, 0.05), (np.inf, 0.03), (-np.inf, 0.03)):
            x[rng.random(xs) < p] = v
    w = np.where(rng.random(ws) < rng.uniform(0.1, 0.9), 1, -1).astype(np.int8)
    bias = None if rng.random() < 0.2 else rng.integers(-bias_max, bias_max + 1, cout).astype(np.int32)
    scale = rng.uniform(1e-3, 2.0, cout)
    if not relu and rng.random() < 0.3:   # any float64 scale without relu: zeros, negatives, inf, NaN
        scale[rng.random(cout) < 0.3] = rng.choice([0.0, -0.0, -1.5, np.inf, np.nan])
    return x, w, bias, scale


def check_all_isas(x, w, bias, scale, spec, relu=False):
    want = reference.conv_xnor_f64(x, w, bias=bias, scale=scale, spec=spec, relu=relu)
    for isa in ISAS:
        with kernels.use_isa(isa):
            got = kernels.conv_xnor_f64(x, w, bias=bias, scale=scale, spec=spec, relu=relu)
        assert got.shape == want.shape
        assert np.array_equal(bits(got), bits(want)), f"{isa}: {np.count_nonzero(bits(got) != bits(want))} differ"
    return want


@st.composite
def geometries(draw):
    transposed = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    cin = groups * draw(st.sampled_from([1, 3, 17, 63, 64, 65, 100, 128, 130]))
    cout = groups * draw(st.sampled_from([1, 2, 3, 7, 8, 9, 16, 17, 33]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2])))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    outpad = (0, 0)
    if transposed:
        outpad = (draw(st.integers(0, max(stride[0], dilation[0]) - 1)),
                  draw(st.integers(0, max(stride[1], dilation[1]) - 1)))
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 13))
    n = draw(st.integers(1, 3))
    xs = (n, cin, h, w)
    ws = (cin, cout // groups, kh, kw) if transposed else (cout, cin // groups, kh, kw)
    try:
        spec = ConvSpec.make(stride, padding, outpad, dilation, groups, transposed=transposed)
        spec.check_shapes(xs, ws)
    except ValueError:
        assume(False)
    return spec, xs, ws, cout


@settings(max_examples=150, deadline=None)
@given(geometries(), st.integers(0, 2 ** 32 - 1), st.booleans())
@example((ConvSpec.make(2, 1, transposed=True), (2, 512, 4, 4), (512, 64, 4, 4), 64), 0, False)  # DCGAN
@example((ConvSpec.make(2, 1, transposed=True), (1, 64, 8, 8), (64, 3, 4, 4), 3), 1, True)
@example((ConvSpec.make(3, 0, transposed=True), (1, 65, 3, 4), (65, 5, 1, 1), 5), 2, False)  # phases w/o taps
@example((ConvSpec.make(2, 3), (2, 130, 9, 7), (9, 130, 3, 3), 9), 3, True)
def test_fused_equals_golden(geom, seed, relu):
    spec, xs, ws, cout = geom
    rng = np.random.default_rng(seed)
    check_all_isas(*operands(rng, xs, ws, cout, relu=relu), spec, relu=relu)


@pytest.mark.parametrize("transposed", [False, True])
def test_large_planes(transposed):
    """Input planes of more than 512 pixels (the sign packing's block), several 64-channel words,
    rows longer than a tile."""
    rng = np.random.default_rng(9)
    xs = (2, 130, 23, 29)
    spec = ConvSpec.make(2, 1, transposed=True) if transposed else ConvSpec.make((1, 2), 1)
    ws = (130, 9, 4, 4) if transposed else (9, 130, 3, 3)
    for relu in (False, True):
        check_all_isas(*operands(rng, xs, ws, 9, relu=relu), spec, relu=relu)


@pytest.mark.parametrize("transposed", [False, True])
def test_int8_path_geometries(transposed):
    """A padding far beyond the input (the padded buffer would dwarf the tensors) and a transposed
    stride of more than 64 phases run the int8 path (bconv): the same bits."""
    rng = np.random.default_rng(5)
    if transposed:
        spec, xs, ws, cout = ConvSpec.make(9, 2, 3, transposed=True), (2, 70, 3, 4), (70, 6, 5, 4), 6
    else:
        spec, xs, ws, cout = ConvSpec.make(1, 60), (1, 70, 2, 3), (6, 70, 3, 3), 6
    for relu in (False, True):
        check_all_isas(*operands(rng, xs, ws, cout, relu=relu), spec, relu=relu)


def test_every_sign_and_the_int32_bound():
    """x exactly at the sign boundary (+-0.0, the smallest subnormals, NaN) and a bias at the int32 bound."""
    spec = ConvSpec.make(1, 1)
    vals = np.array([0.0, -0.0, 5e-324, -5e-324, np.nan, -np.nan, np.inf, -np.inf])
    x = np.resize(vals, (1, 64, 3, 3)).astype(np.float64)
    w = np.ones((4, 64, 3, 3), np.int8)
    w[1] = -1
    bias = np.array([2 ** 31 - 1 - 576, -(2 ** 31 - 1 - 576), 0, 7], np.int32)
    y = check_all_isas(x, w, bias, np.array([1.0, 1.0, 0.5, 3.0]), spec)
    codes = np.where(x >= 0, 1, -1).astype(np.int8)
    assert np.array_equal(y, reference.conv_xnor(codes, w, bias=bias, spec=spec) * np.array([1, 1, .5, 3.]).reshape(1, -1, 1, 1))
    with pytest.raises(FormatError, match="exceeds the int32 accumulator"):
        kernels.conv_xnor_f64(x, w, bias=bias + np.array([1, 0, 0, 0], np.int32), scale=np.ones(4), spec=spec)


def test_relu_fused_is_numpy_maximum():
    rng = np.random.default_rng(11)
    spec = ConvSpec.make(2, 1, transposed=True)
    x, w, bias, _ = operands(rng, (2, 96, 5, 6), (96, 16, 4, 4), 16)
    scale = rng.uniform(1e-300, 1e-3, 16)            # tiny but positive: no product underflows to -0.0
    y = check_all_isas(x, w, bias, scale, spec, relu=True)
    plain = reference.conv_xnor_f64(x, w, bias=bias, scale=scale, spec=spec)
    assert np.array_equal(bits(y), bits(np.maximum(plain, 0.0)))
    assert not np.signbit(y).any()


def test_packed_weight_cache():
    """Frozen weights: packed once, the same bits on every call; weights without a key changed in place
    are packed anew (their hash changes); two geometries of one weight array each get their packing."""
    rng = np.random.default_rng(3)
    spec = ConvSpec.make(2, 1, transposed=True)
    x, w, bias, scale = operands(rng, (2, 80, 5, 5), (80, 24, 4, 4), 24, specials=False)
    wf = w.copy()
    key = kernels.frozen_key(wf)
    want = reference.conv_xnor_f64(x, w, bias=bias, scale=scale, spec=spec)
    for _ in range(3):
        assert np.array_equal(bits(kernels.conv_xnor_f64(x, wf, bias=bias, scale=scale, spec=spec, w_key=key)),
                              bits(want))
    with pytest.raises(FormatError, match="w_key"):
        kernels.conv_xnor_f64(x, w, bias=bias, scale=scale, spec=spec, w_key=key)
    kernels.conv_xnor_f64(x, w, bias=bias, scale=scale, spec=spec)
    w[:, :3] *= -1                                                    # in place, no key: repacked
    check_all_isas(x, w, bias, scale, spec)
    other = ConvSpec.make(1, 2, dilation=2, transposed=True)          # same array, another geometry
    check_all_isas(x, w, bias, scale, other)
    check_all_isas(x, w, bias, scale, spec)
    # one array and geometry, inputs of several sizes: a stride-3 output of 1 x 1 pixels has phases
    # without outputs, which must not change the cached packing (a stale entry once did)
    spec3 = ConvSpec.make(3, 1, (2, 1), transposed=True)
    scale = rng.uniform(0.1, 1.0, 24)
    for hw in ((1, 1), (4, 3), (1, 1), (2, 5)):
        xs = rng.standard_normal((2, 80, *hw))
        for isa in ISAS:
            with kernels.use_isa(isa):
                got = kernels.conv_xnor_f64(xs, wf, bias=bias, scale=scale, spec=spec3, w_key=key, relu=True)
            want = reference.conv_xnor_f64(xs, wf, bias=bias, scale=scale, spec=spec3, relu=True)
            assert np.array_equal(bits(got), bits(want)), (hw, isa)


def test_errors_name_the_argument():
    spec = ConvSpec.make(1, 1)
    x = np.zeros((1, 8, 4, 4))
    w = np.ones((4, 8, 3, 3), np.int8)
    s = np.ones(4)
    for K in (kernels, reference):
        with pytest.raises(FormatError, match="x must have dtype float64"):
            K.conv_xnor_f64(x.astype(np.float32), w, scale=s, spec=spec)
        with pytest.raises(FormatError, match="scale must have dtype float64"):
            K.conv_xnor_f64(x, w, scale=s.astype(np.float32), spec=spec)
        with pytest.raises(FormatError, match="scale must have Cout=4 entries"):
            K.conv_xnor_f64(x, w, scale=np.ones(5), spec=spec)
        with pytest.raises(FormatError, match="positive and finite with relu"):
            K.conv_xnor_f64(x, w, scale=np.array([1.0, 0.0, 1.0, 1.0]), spec=spec, relu=True)
        with pytest.raises(FormatError, match="positive and finite with relu"):
            K.conv_xnor_f64(x, w, scale=np.array([1.0, np.inf, 1.0, 1.0]), spec=spec, relu=True)
        with pytest.raises(FormatError, match="binary"):
            K.conv_xnor_f64(x, np.zeros_like(w), scale=s, spec=spec)
        with pytest.raises(FormatError, match="bias"):
            K.conv_xnor_f64(x, w, bias=np.ones(3, np.int32), scale=s, spec=spec)
        with pytest.raises((FormatError, ValueError)):
            K.conv_xnor_f64(x[0], w, scale=s, spec=spec)
    with pytest.raises(FormatError, match="x must have rank 4"):
        kernels.conv_xnor_f64(x[0], w, scale=s, spec=spec)
    with pytest.raises(FormatError, match="C-contiguous"):
        kernels.conv_xnor_f64(np.asfortranarray(np.zeros((2, 8, 4, 4))), w, scale=s, spec=spec)
    with pytest.raises(FormatError, match="scale must have rank 1"):
        kernels.conv_xnor_f64(x, w, scale=np.ones((4, 1)), spec=spec)
    with pytest.raises(FormatError, match="bias must have dtype int32"):
        kernels.conv_xnor_f64(x, w, bias=np.ones(4, np.int64), scale=s, spec=spec)
    # the unfused conv_xnor keeps its own API and errors
    with pytest.raises(ValueError, match="x: unsupported dtype float64"):
        kernels.conv_xnor(x, w, spec=spec)
    with pytest.raises(FormatError, match="x must have dtype int8"):
        kernels.conv_xnor(x.astype(np.int16), w, spec=spec)


class _Unfused:
    """The C++ kernels without the fused w1a1 call: the runtime then runs its three steps."""

    def __init__(self):
        self._K = kernels

    def __getattr__(self, name):
        if name == "conv_xnor_f64":
            raise AttributeError(name)
        return getattr(self._K, name)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["dcgan_tiny", "cdcgan", "layer"])
def test_runtime_bits_unchanged(name):
    """The runtime's w1a1 outputs with the fused call (and its fused ReLU) == without it (np.where,
    conv_xnor, acc * scale, the graph's ReLU), bit for bit, C++ and golden."""
    torch = pytest.importorskip("torch")
    from accelsim.graph.from_torch import from_torch
    from accelsim.graph.passes import deploy
    from accelsim.graph.reference import LoadedModel
    from accelsim.runtime import quantize
    if name == "layer":   # a DCGAN layer as bench_runtime runs it: transposed conv then ReLU (the output)
        module = torch.nn.Sequential(torch.nn.ConvTranspose2d(96, 40, 4, 2, 1), torch.nn.ReLU())
        ex = torch.zeros(1, 96, 5, 5)
        g = deploy(from_torch(module.eval(), (ex,), name))
        rng = np.random.default_rng(0)
        calib, x = np.maximum(rng.standard_normal((8, 96, 5, 5)), 0), np.maximum(rng.standard_normal((3, 96, 5, 5)), 0)
    else:
        from conftest import load_example_generators
        module, ex = getattr(load_example_generators(), name)()
        g = deploy(from_torch(module, ex if isinstance(ex, tuple) else (ex,), name))
        lm = LoadedModel(name, g, name)
        calib, x = lm.example_inputs(8, seed=1), lm.example_inputs(2, seed=2)
    q = quantize(g, "w1a1", calib)
    if name == "layer":
        assert q._xnor_relu, "the layer's ReLU is fused"
    fused = q.run(x)
    assert fused.tobytes() == q.run(x, impl=_Unfused()).tobytes() == q.run(x, impl="reference").tobytes()
    assert fused.tobytes() == q.run(x, trace=True)[0].tobytes()


@pytest.mark.torch
@pytest.mark.parametrize("fmt", ["w1a1", "w8a8", "fp32"])
def test_runtime_leaves_the_input_alone(fmt):
    """Graph inputs are taken without a copy (graph.check_inputs): no run writes into them, and no
    output is the caller's array."""
    torch = pytest.importorskip("torch")
    from accelsim.graph.from_torch import from_torch
    from accelsim.graph.passes import deploy
    from accelsim.runtime import quantize
    module = torch.nn.Sequential(torch.nn.ConvTranspose2d(70, 20, 4, 2, 1), torch.nn.ReLU(),
                                 torch.nn.Conv2d(20, 8, 3, 1, 1), torch.nn.ReLU())
    g = deploy(from_torch(module.eval(), (torch.zeros(1, 70, 5, 5),), "two"))
    rng = np.random.default_rng(4)
    q = quantize(g, fmt, rng.standard_normal((8, 70, 5, 5)))
    x = rng.standard_normal((3, 70, 5, 5))
    keep = x.copy()
    for trace in (False, True):
        out = q.run(x, trace=trace)
        out = out[0] if trace else out
        assert not np.shares_memory(out, x)
        assert x.tobytes() == keep.tobytes()
    assert g.run_float(x).shape == (3, 8, 10, 10) and x.tobytes() == keep.tobytes()
