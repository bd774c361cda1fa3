"""The vector unit's ops on activation codes (accelsim.formats.vector, csrc/src/vector_ops.cpp): C++ equal
to the golden model bit for bit on random shapes, widths and extremes; and the runtime's exactness claim
that quantizing early (where a value is made) and running relu / pad / reshape / concat on codes gives
the same codes as running them in float64 and quantizing at the MAC input."""
import numpy as np
import pytest

from accelsim import kernels as K
from accelsim.errors import FormatError
from accelsim.formats import fixed, reference as R
from accelsim.graph.ir import Graph, Input, Node
from accelsim.runtime import QTensor, quantize
from accelsim.runtime.quantized import _run_codes


def _random_codes(rng, bits, signed, shape, extreme):
    f = fixed.IntFormat(bits, signed)
    if extreme == "max":
        return np.full(shape, f.qmax, f.storage_dtype)
    if extreme == "min":
        return np.full(shape, f.qmin, f.storage_dtype)
    if extreme == "alternate":
        x = np.full(shape, f.qmin, f.storage_dtype)
        x.reshape(-1)[::2] = f.qmax
        return x
    return rng.integers(f.qmin, f.qmax + 1, shape).astype(f.storage_dtype)


@pytest.mark.parametrize("seed", range(40))
def test_instance_norm_codes_cpp_equals_golden(seed):
    rng = np.random.default_rng(seed)
    bits = int(rng.choice([2, 4, 8, 12, 16]))
    signed = bool(rng.integers(2))
    f = fixed.IntFormat(bits, signed)
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 6)), *(int(v) for v in rng.integers(1, 12, 2)))
    if seed % 5 == 0:
        shape = shape[:3]                                   # rank 3 (N, C, L)
    x = _random_codes(rng, bits, signed, shape, ["max", "min", "alternate", None, None][seed % 5])
    affine = bool(seed % 2)
    kw = dict(x_bits=bits, x_signed=signed, scale=float(10.0 ** rng.uniform(-6, 2)),
              zero_point=int(rng.integers(f.qmin, f.qmax + 1)), eps=float(10.0 ** rng.uniform(-8, -1)),
              weight=rng.normal(size=shape[1]) * 3 if affine else None,
              bias=rng.normal(size=shape[1]) if affine else None)
    a, r = K.instance_norm_codes(x, **kw), R.instance_norm_codes(x, **kw)
    assert a.dtype == r.dtype == np.float64 and a.tobytes() == r.tobytes()
    for out_bits in (4, 8, 16):
        of = fixed.IntFormat(out_bits, True)
        out = (float(10.0 ** rng.uniform(-4, 0)), int(rng.integers(of.qmin, of.qmax + 1)), out_bits, True)
        a, r = K.instance_norm_codes(x, out=out, **kw), R.instance_norm_codes(x, out=out, **kw)
        assert a.dtype == r.dtype == of.storage_dtype and a.tobytes() == r.tobytes()
        a, r = K.instance_norm_codes(x, out=out, relu=True, **kw), R.instance_norm_codes(x, out=out, relu=True, **kw)
        assert a.tobytes() == r.tobytes() and a.min() >= out[1]
        assert np.array_equal(r, np.maximum(R.instance_norm_codes(x, out=out, **kw), out[1]))


@pytest.mark.parametrize("seed", range(24))
def test_instance_norm_codes_by_table_equals_golden(seed):
    """8-bit codes over planes of >= 4 x 256 values (csrc/src/vector_ops.cpp: each output code then
    comes from a per-plane table of every input code, made by the same row kernels): the golden bits,
    signed and unsigned, affine or not, ReLU, 4/8/16-bit outputs, extremes, planes just below the
    table's threshold (1,023 values: the direct path) and above it."""
    rng = np.random.default_rng(100 + seed)
    signed = bool(seed % 2)
    f = fixed.IntFormat(8, signed)
    hw = [(32, 32), (31, 33), (40, 40), (64, 64), (1, 1024), (1, 1023)][seed % 6]
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 5)), *hw)
    x = _random_codes(rng, 8, signed, shape, ["max", "min", "alternate", None, None, None][seed // 4 % 6])
    kw = dict(x_bits=8, x_signed=signed, scale=float(10.0 ** rng.uniform(-4, 1)),
              zero_point=int(rng.integers(f.qmin, f.qmax + 1)), eps=float(10.0 ** rng.uniform(-8, -1)),
              weight=rng.normal(size=shape[1]) * 3 if seed % 3 else None,
              bias=rng.normal(size=shape[1]) if seed % 3 else None)
    for out_bits, out_signed in ((8, True), (8, False), (4, True), (16, True)):
        of = fixed.IntFormat(out_bits, out_signed)
        out = (float(10.0 ** rng.uniform(-3, 0)), int(rng.integers(of.qmin, of.qmax + 1)), out_bits, out_signed)
        for relu in (False, True):
            a = K.instance_norm_codes(x, out=out, relu=relu, **kw)
            r = R.instance_norm_codes(x, out=out, relu=relu, **kw)
            assert a.dtype == r.dtype == of.storage_dtype and a.tobytes() == r.tobytes(), (out, relu)


def test_instance_norm_codes_statistics_are_exact():
    """Integer statistics: a plane of codes a, b alternating has mean (a+b)/2 and var ((a-b)/2)^2
    exactly, so the result is +-1 * scale / sqrt(scale^2 var + eps) to the last bit."""
    x = np.empty((1, 1, 64, 64), np.int16)
    x.reshape(-1)[::2], x.reshape(-1)[1::2] = 32767, -32768
    y = R.instance_norm_codes(x, x_bits=16, x_signed=True, scale=0.5, zero_point=0, eps=1e-5)
    half = (32767 + 32768) / 2
    assert y.reshape(-1)[0] == half * (0.5 / np.sqrt(0.25 * half * half + 1e-5))
    assert np.array_equal(y, K.instance_norm_codes(x, x_bits=16, x_signed=True, scale=0.5, zero_point=0, eps=1e-5))


@pytest.mark.parametrize("seed", range(20))
def test_quantize_dequantize_cpp_equal_golden(seed):
    rng = np.random.default_rng(seed)
    bits, signed = int(rng.choice([2, 5, 8, 11, 16])), bool(rng.integers(2))
    f = fixed.IntFormat(bits, signed)
    scale = float(10.0 ** rng.uniform(-5, 1))
    zp = int(rng.integers(f.qmin, f.qmax + 1))
    x = rng.normal(size=int(rng.integers(0, 300_000))) * scale * (1 << bits)
    x[:: 7] = np.round(x[:: 7] / scale) * scale + scale / 2      # exact halves: round half to even
    a = K.quantize(x, scale, zp, bits=bits, signed=signed)
    r = R.quantize(x, scale, zp, bits=bits, signed=signed)
    assert a.dtype == r.dtype and a.tobytes() == r.tobytes()
    q = _random_codes(rng, bits, signed, (3, 1000), None)
    assert K.dequantize(q, scale, zp).tobytes() == R.dequantize(q, scale, zp).tobytes()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_quantize_refuses_non_finite_like_golden(bad):
    x = np.array([0.0, bad])
    with pytest.raises(ValueError, match="NaN or inf"):
        K.quantize(x, 0.1, 0, bits=8)
    with pytest.raises(ValueError, match="NaN or inf"):
        R.quantize(x, 0.1, 0, bits=8)


def test_instance_norm_codes_refuses_bad_arguments():
    x = np.zeros((1, 2, 3, 3), np.int8)
    for impl in (K, R):
        with pytest.raises(ValueError, match="dtype"):
            impl.instance_norm_codes(x, x_bits=16, x_signed=True, scale=1.0, zero_point=0, eps=1e-5)
        with pytest.raises(ValueError, match="scale and eps"):
            impl.instance_norm_codes(x, x_bits=8, x_signed=True, scale=0.0, zero_point=0, eps=1e-5)
        with pytest.raises(ValueError, match="scale and eps"):
            impl.instance_norm_codes(x, x_bits=8, x_signed=True, scale=1.0, zero_point=0, eps=float("nan"))
        for shape in ((2, 3), (1, 2, 3, 4, 5), (1, 2, 0, 4)):     # rank 3-4 with values per plane only
            with pytest.raises(ValueError, match="rank"):
                impl.instance_norm_codes(np.zeros(shape, np.int8), x_bits=8, x_signed=True, scale=1.0,
                                         zero_point=0, eps=1e-5)
    with pytest.raises(FormatError):
        R.instance_norm_codes(x, x_bits=16, x_signed=True, scale=1.0, zero_point=0, eps=1e-5)


# ---- early quantization: ops on codes == float ops then quantize -----------------------------------
def _node(name, op, inputs, **attrs):
    return Node(name, op, tuple(inputs), attrs=attrs)


@pytest.mark.parametrize("seed", range(25))
def test_code_ops_commute_with_quantization(seed):
    rng = np.random.default_rng(seed)
    bits = int(rng.choice([2, 4, 8, 16]))
    x = rng.normal(size=(2, 3, 5, 6)) * 4
    lo, hi = float(x.min()) * rng.uniform(0.3, 1.2), float(x.max()) * rng.uniform(0.3, 1.2)
    scale, zp = fixed.choose_activation_qparams(lo, hi, fixed.IntFormat(bits, True))
    q = lambda v: R.quantize(v, scale, zp, bits=bits)    # noqa: E731
    pads = tuple(int(v) for v in rng.integers(0, 3, 4))
    cases = [_node("r", "relu", ["x"]),
             _node("p", "pad", ["x"], pads=pads, mode=str(rng.choice(["zeros", "reflect", "replicate"]))),
             _node("s", "reshape", ["x"], shape=(-1,)),
             _node("ps", "pixel_shuffle", ["x"][:1], factor=1),
             _node("u", "upsample", ["x"], size=(10, 12), mode="nearest"),
             _node("c", "concat", ["x", "x"], axis=1)]
    from accelsim.graph.ops import OPS
    for n in cases:
        xs = [x] * len(n.inputs)
        want = q(OPS[n.op].run(n, xs))
        got = _run_codes(n, [q(v) for v in xs], zp)
        assert got.dtype == want.dtype and np.array_equal(got, want), n.op


def _chain_graph(rng, mode):
    """conv -> instance norm -> relu -> pad -> conv -> add(input branch) -> output: exercises codes out of a
    MAC (through a pad), an instance norm emitting codes, and a value read both as codes and in float."""
    c = 4
    w1, w2 = rng.normal(size=(c, c, 3, 3)) * 0.3, rng.normal(size=(c, c, 3, 3)) * 0.3
    nodes = (
        Node("pad0", "pad", ("x",), attrs={"pads": (1, 1, 1, 1), "mode": mode}),
        Node("conv1", "conv2d", ("pad0",), params={"weight": w1}, attrs={"stride": (1, 1), "padding": (0, 0),
             "dilation": (1, 1), "groups": 1}),
        Node("norm", "instance_norm", ("conv1",), params={"weight": rng.normal(size=c) + 1,
             "bias": rng.normal(size=c)}, attrs={"eps": 1e-5}),
        Node("act", "relu", ("norm",)),
        Node("pad1", "pad", ("act",), attrs={"pads": (1, 1, 1, 1), "mode": mode}),
        Node("conv2", "conv2d", ("pad1",), params={"weight": w2}, attrs={"stride": (1, 1), "padding": (0, 0),
             "dilation": (1, 1), "groups": 1}),
        Node("sum", "add", ("conv2", "x")),
    )
    return Graph("chain", (Input("x", (1, c, 8, 8)),), nodes, ("sum",))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
def test_runtime_quantizes_early_and_stays_exact(mode):
    """The input is quantized once for pad0 -> conv1 (and kept in float for the add); pad1 and relu run
    on codes; the norm emits conv2's input codes. C++ == golden, and the codes conv2 reads equal
    quantizing, at its input, the float64 result of the same ops."""
    rng = np.random.default_rng(3)
    g = _chain_graph(rng, mode)
    calib = rng.normal(size=(6, 4, 8, 8))
    qg = quantize(g, "w8a8", (calib,))
    assert qg.early["x"][1] == frozenset({"pad0"})
    assert qg.early["norm"][1] == frozenset({"act"})
    x = rng.normal(size=(2, 4, 8, 8))
    out_c, env_c = qg.run((x,), trace=True)
    out_r, env_r = qg.run((x,), impl="reference", trace=True)
    assert out_c.tobytes() == out_r.tobytes()
    for k in env_c:
        a, b = env_c[k], env_r[k]
        assert isinstance(a, QTensor) == isinstance(b, QTensor)
        assert np.array_equal(a.codes if isinstance(a, QTensor) else a, b.codes if isinstance(b, QTensor) else b), k
    assert isinstance(env_c["pad1"], QTensor) and isinstance(env_c["norm"], QTensor)
    p = qg.plans["conv2"]
    norm = env_r["norm"]
    assert (norm.scale, norm.zero_point) == (p.x_scale, p.x_zero_point)
    # The float route: the norm's float64 value (same integer statistics), relu and pad in float64,
    # quantized at conv2's input.
    conv1 = env_r["conv1"]
    y = R.instance_norm_codes(conv1.codes, x_bits=conv1.bits, x_signed=True, scale=conv1.scale,
                              zero_point=conv1.zero_point, weight=g.node("norm").params["weight"],
                              bias=g.node("norm").params["bias"], eps=1e-5)
    from accelsim.graph.ops import OPS
    ref = R.quantize(OPS["pad"].run(g.node("pad1"), [np.maximum(y, 0.0)]), p.x_scale, p.x_zero_point, bits=8)
    assert np.array_equal(env_r["pad1"].codes, ref)


def test_relu_fused_into_instance_norm_codes_changes_nothing():
    """The ReLU reading a norm that emits codes is applied as the codes' clamp: the same bits as
    running it as its own node on the codes."""
    rng = np.random.default_rng(5)
    g = _chain_graph(rng, "reflect")
    qg = quantize(g, "w8a8", (rng.normal(size=(6, 4, 8, 8)),))
    assert qg._relu_into == {"norm": "act"}
    x = rng.normal(size=(3, 4, 8, 8))
    for impl in ("cpp", "reference"):
        fused = qg.run((x,), impl=impl)
        qg._relu_into = {}
        plain = qg.run((x,), impl=impl)
        qg._relu_into = {"norm": "act"}
        assert fused.tobytes() == plain.tobytes()


# ---- pad of codes and instance norm + add in one pass (issue 18 item 4) ----------------------------
@pytest.mark.parametrize("seed", range(30))
def test_pad_codes_cpp_equals_golden(seed):
    """Every dtype, mode and pad size (reflect up to size - 1, others beyond the input), extremes."""
    rng = np.random.default_rng(100 + seed)
    bits, signed = [(8, True), (8, False), (16, True), (16, False), (4, True)][seed % 5]
    f = fixed.IntFormat(bits, signed)
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 9)))
    x = _random_codes(rng, bits, signed, shape, ["max", "min", "alternate", None, None, None][seed % 6])
    zp = int(rng.integers(f.qmin, f.qmax + 1))
    for mode in ("zeros", "reflect", "replicate"):
        hi = (shape[2] - 1, shape[3] - 1) if mode == "reflect" else (shape[2] + 3, shape[3] + 3)
        pads = tuple(int(rng.integers(0, hi[i // 2] + 1)) for i in range(4))
        a, r = K.pad_codes(x, pads, mode, zp), R.pad_codes(x, pads, mode, zp)
        assert a.dtype == r.dtype == x.dtype and a.shape == r.shape and a.tobytes() == r.tobytes()


@pytest.mark.parametrize("w", [1, 7, 15, 16, 17, 31, 32, 33, 47, 64, 65, 130])
def test_pad_codes_row_widths_equal_golden(w):
    """Rows of every length around the C++ row copy's 16-byte moves (int8 and int16), every mode."""
    rng = np.random.default_rng(w)
    for dtype in (np.int8, np.int16, np.uint16):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, (2, 3, 5, w)).astype(dtype)
        for mode in ("zeros", "reflect", "replicate"):
            pads = (int(rng.integers(0, 5)), int(rng.integers(0, 5)), *(int(v) for v in rng.integers(0, min(w, 4), 2))) \
                if mode == "reflect" else tuple(int(v) for v in rng.integers(0, 6, 4))
            if mode == "reflect":
                pads = (min(pads[0], 4), min(pads[1], 4), pads[2], pads[3])
            a, r = K.pad_codes(x, pads, mode, 3), R.pad_codes(x, pads, mode, 3)
            assert a.shape == r.shape and a.tobytes() == r.tobytes(), (dtype, mode, pads)


def test_pad_codes_refuses_bad_arguments():
    x = np.zeros((1, 1, 3, 3), np.int8)
    with pytest.raises(ValueError, match="reflect padding"):
        K.pad_codes(x, (3, 0, 0, 0), "reflect", 0)
    with pytest.raises(ValueError, match="mode"):
        K.pad_codes(x, (1, 1, 1, 1), "circular", 0)
    with pytest.raises(ValueError, match="int8 range"):
        K.pad_codes(x, (1, 1, 1, 1), "zeros", 200)
    with pytest.raises(ValueError, match="rank 4"):
        K.pad_codes(np.zeros((3, 3), np.int8), (1, 1, 1, 1), "zeros", 0)
    with pytest.raises(ValueError, match=">= 0"):
        K.pad_codes(x, (-1, 0, 0, 0), "zeros", 0)


@pytest.mark.parametrize("seed", range(30))
def test_instance_norm_add_cpp_equals_golden(seed):
    """norm + residual as float64, as codes, and both: C++ == golden == the unfused ops, bit for bit,
    on random shapes, widths, extreme codes and residuals up to 1e6 (codes then clamp)."""
    rng = np.random.default_rng(200 + seed)
    bits = int(rng.choice([4, 8, 16]))
    signed = bool(rng.integers(2))
    f = fixed.IntFormat(bits, signed)
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 6)), *(int(v) for v in rng.integers(1, 40, 2)))
    if seed % 5 == 0:
        shape = shape[:3]
    x = _random_codes(rng, bits, signed, shape, ["max", "min", "alternate", None, None][seed % 5])
    res = rng.normal(size=shape) * float(10.0 ** rng.uniform(-3, 6))
    affine = bool(seed % 2)
    kw = dict(x_bits=bits, x_signed=signed, scale=float(10.0 ** rng.uniform(-6, 2)),
              zero_point=int(rng.integers(f.qmin, f.qmax + 1)), eps=float(10.0 ** rng.uniform(-8, -1)),
              weight=rng.normal(size=shape[1]) * 3 if affine else None,
              bias=rng.normal(size=shape[1]) if affine else None)
    plain = R.instance_norm_codes(x, **kw) + res
    a, r = K.instance_norm_add(x, res, **kw), R.instance_norm_add(x, res, **kw)
    assert a.dtype == r.dtype == np.float64 and a.tobytes() == r.tobytes() == plain.tobytes()
    for out_bits in (4, 8, 16):
        of = fixed.IntFormat(out_bits, True)
        out = (float(10.0 ** rng.uniform(-4, 0)), int(rng.integers(of.qmin, of.qmax + 1)), out_bits, True)
        q_plain = R.quantize(plain, out[0], out[1], bits=out_bits)
        for want in (False, True):
            (ya, qa), (yr, qr) = (impl.instance_norm_add(x, res, out=out, want_float=want, **kw) for impl in (K, R))
            assert qa.dtype == qr.dtype == of.storage_dtype and qa.tobytes() == qr.tobytes() == q_plain.tobytes()
            if want:
                assert ya.tobytes() == yr.tobytes() == plain.tobytes()
            else:
                assert ya is None and yr is None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_instance_norm_add_refuses_non_finite_codes(bad):
    x = np.arange(16, dtype=np.int8).reshape(1, 1, 4, 4)
    res = np.zeros((1, 1, 4, 4))
    res[0, 0, 2, 1] = bad
    kw = dict(x_bits=8, x_signed=True, scale=0.1, zero_point=0, eps=1e-5)
    for impl in (K, R):
        assert not np.isfinite(impl.instance_norm_add(x, res, **kw)[0, 0, 2, 1])   # float64: passed on
        with pytest.raises(ValueError, match="NaN or inf"):
            impl.instance_norm_add(x, res, out=(0.1, 0, 8, True), **kw)
        with pytest.raises(ValueError, match="shape"):
            impl.instance_norm_add(x, res[:, :, :3], **kw)
        with pytest.raises(ValueError, match="float64"):
            impl.instance_norm_add(x, res.astype(np.float32), **kw)


def _residual_graph(rng, c=4):
    """A ResNet block twice: pad -> conv -> norm -> relu -> pad -> conv -> norm -> add(block input)."""
    nodes, prev = [], "x"
    for b in range(2):
        w1, w2 = rng.normal(size=(c, c, 3, 3)) * 0.3, rng.normal(size=(c, c, 3, 3)) * 0.3
        conv = dict(attrs={"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1})
        norm = lambda: dict(params={"weight": rng.normal(size=c) + 1, "bias": rng.normal(size=c)}, attrs={"eps": 1e-5})
        nodes += [Node(f"p{b}a", "pad", (prev,), attrs={"pads": (1, 1, 1, 1), "mode": "reflect"}),
                  Node(f"c{b}a", "conv2d", (f"p{b}a",), params={"weight": w1}, **conv),
                  Node(f"n{b}a", "instance_norm", (f"c{b}a",), **norm()),
                  Node(f"r{b}", "relu", (f"n{b}a",)),
                  Node(f"p{b}b", "pad", (f"r{b}",), attrs={"pads": (1, 1, 1, 1), "mode": "reflect"}),
                  Node(f"c{b}b", "conv2d", (f"p{b}b",), params={"weight": w2}, **conv),
                  Node(f"n{b}b", "instance_norm", (f"c{b}b",), **norm()),
                  Node(f"s{b}", "add", (prev, f"n{b}b") if b else (f"n{b}b", prev))]
        prev = f"s{b}"
    return Graph("resblocks", (Input("x", (1, c, 8, 8)),), tuple(nodes), (prev,))


@pytest.mark.parametrize("fmt", ["w8a8", "w4a8", "w2a8"])
def test_norm_add_fused_in_the_runtime_changes_nothing(fmt):
    """The runtime runs each block's second norm with its add (and the sum's early quantization) in
    one call: the same bits as the unfused ops (trace runs them one by one) and as the golden model."""
    rng = np.random.default_rng(9)
    g = _residual_graph(rng)
    qg = quantize(g, fmt, (rng.normal(size=(6, 4, 8, 8)),))
    assert qg._norm_add == {"n0b": "s0", "n1b": "s1"}
    # s0 (an add's fresh array, read by p1a as codes and by s1) takes s1's sum in place; x (an input) not
    assert qg._norm_add_into == {"s1"}
    x = rng.normal(size=(3, 4, 8, 8))
    fused = qg.run((x,))
    traced, _ = qg.run((x,), trace=True)
    golden, _ = qg.run((x,), impl="reference", trace=True)
    assert fused.tobytes() == traced.tobytes() == golden.tobytes() == qg.run((x,), impl="reference").tobytes()


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_pixel_shuffle_of_codes_is_the_float_op(factor):
    """Pixel shuffle of codes moves them in their own dtype: the same values as graph.ops' float64 op."""
    from accelsim.graph.ops import OPS
    rng = np.random.default_rng(factor)
    for dtype in (np.int8, np.int16, np.uint8):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, (2, 3 * factor * factor, 4, 5)).astype(dtype)
        n = _node("ps", "pixel_shuffle", ["x"], factor=factor)
        got = _run_codes(n, [x], 0)
        want = OPS["pixel_shuffle"].run(n, [x])
        assert got.dtype == dtype and got.flags.c_contiguous and np.array_equal(got, want)


# ---- elementwise ops by table lookup, pixel shuffle in C++, codes in several domains (issue 18 item 4) ----
LUT_CODE_DTYPES = (np.int8, np.uint8, np.int16, np.uint16)


@pytest.mark.parametrize("seed", range(30))
def test_lut_codes_cpp_equals_golden(seed):
    """Every code and entry dtype, one table or one per channel, ranks 1-5, extreme codes."""
    rng = np.random.default_rng(300 + seed)
    dt = LUT_CODE_DTYPES[seed % 4]
    info = np.iinfo(dt)
    rank = 1 + seed % 5
    shape = tuple(int(v) for v in rng.integers(1, 6, rank))
    x = rng.integers(info.min, info.max + 1, shape).astype(dt)
    if seed % 3 == 0:
        x.reshape(-1)[::2] = info.min
        x.reshape(-1)[1::2] = info.max
    t = 1 << (8 * np.dtype(dt).itemsize)
    for tdt in (np.int8, np.uint8, np.int16, np.uint16, np.float64):
        for shape_t in [(t,)] + ([(shape[1], t)] if rank >= 2 else []):
            table = (rng.normal(size=shape_t) * 1e3 if tdt == np.float64
                     else rng.integers(np.iinfo(tdt).min, np.iinfo(tdt).max + 1, shape_t)).astype(tdt)
            a, r = K.lut_codes(x, table), R.lut_codes(x, table)
            assert a.dtype == r.dtype == tdt and a.shape == r.shape == x.shape and a.tobytes() == r.tobytes()
            ch = np.arange(shape[1]).reshape((1, -1) + (1,) * (rank - 2)) if len(shape_t) == 2 else None
            want = table[x.astype(np.int64) - info.min] if ch is None else table[ch, x.astype(np.int64) - info.min]
            assert np.array_equal(r, want)


def test_lut_codes_refuses_bad_arguments():
    x = np.zeros((1, 2, 3), np.int8)
    for impl in (K, R):
        with pytest.raises(ValueError, match="table must have shape"):
            impl.lut_codes(x, np.zeros(255, np.int8))
        with pytest.raises(ValueError, match="table must have shape"):
            impl.lut_codes(x, np.zeros((3, 256), np.int8))          # 3 tables, 2 channels
        with pytest.raises(ValueError, match="table must have shape"):
            impl.lut_codes(np.zeros(4, np.int8), np.zeros((4, 256), np.int8))   # no channel axis
        with pytest.raises(ValueError, match="table must hold"):
            impl.lut_codes(x, np.zeros(256, np.float32))
        with pytest.raises(ValueError, match="int8, uint8, int16 or uint16"):
            impl.lut_codes(x.astype(np.int32), np.zeros(256, np.int8))


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_pixel_shuffle_codes_cpp_equals_golden(factor):
    """Every element size the C++ move takes (1, 2, 4, 8 bytes: codes and float64), odd sizes."""
    from accelsim.graph.ops import OPS
    rng = np.random.default_rng(40 + factor)
    n = _node("ps", "pixel_shuffle", ["x"], factor=factor)
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.float64):
        x = (rng.normal(size=(2, 5 * factor * factor, 3, 7)) * 1e4).astype(dtype)
        a, r = K.pixel_shuffle_codes(x, factor), R.pixel_shuffle_codes(x, factor)
        want = OPS["pixel_shuffle"].run(n, [x])
        assert a.dtype == r.dtype == dtype and a.flags.c_contiguous and a.tobytes() == r.tobytes()
        assert np.array_equal(r, want)
    with pytest.raises(ValueError, match="divisible"):
        K.pixel_shuffle_codes(np.zeros((1, 5, 2, 2), np.int8), 2)
    with pytest.raises(ValueError, match="divisible"):
        R.pixel_shuffle_codes(np.zeros((1, 5, 2, 2), np.int8), 2)
    with pytest.raises(ValueError, match="rank"):
        K.pixel_shuffle_codes(np.zeros((5, 2, 2), np.int8), 1)


def _table_node(op, rng, channels):
    if op == "leaky_relu":
        return _node("a", op, ["x"], slope=float(rng.choice([0.2, 0.01, 1.0, 1.5, -0.3, 0.0])))
    if op == "hardtanh":
        lo = float(rng.normal())
        return _node("a", op, ["x"], min=lo, max=lo + float(rng.uniform(0, 3)))
    if op == "prelu":
        return Node("a", op, ("x",), params={"weight": rng.normal(size=int(rng.choice([1, channels]))) * 0.5})
    if op == "batch_norm":
        return Node("a", op, ("x",), params={"weight": rng.normal(size=channels), "bias": rng.normal(size=channels),
                                             "running_mean": rng.normal(size=channels),
                                             "running_var": rng.uniform(0.1, 2, channels)}, attrs={"eps": 1e-5})
    return _node("a", op, ["x"])


@pytest.mark.parametrize("op", ["leaky_relu", "prelu", "tanh", "sigmoid", "hardtanh", "identity", "batch_norm"])
@pytest.mark.parametrize("bits", [4, 8, 16])
@pytest.mark.parametrize("seed", range(4))
def test_op_table_is_the_float_op_on_every_code(op, bits, seed):
    """A table made by running the op on every code (runtime.quantized.op_table) looked up by the C++
    kernel gives, on codes of any order, shape and position, the same bits as the runtime's float64
    path: dequantize, the graph op, quantize (into 4, 8 or 16 bits) or not."""
    from accelsim.graph.ops import OPS
    from accelsim.runtime.quantized import _per_channel, op_table
    rng = np.random.default_rng(1000 * bits + seed)
    f = fixed.IntFormat(bits, True)
    channels = 3
    n = _table_node(op, rng, channels)
    scale, zp = float(10.0 ** rng.uniform(-5, 0)), int(rng.integers(f.qmin, f.qmax + 1))
    dt = f.storage_dtype
    info = np.iinfo(dt)
    every = np.arange(info.min, info.max + 1).astype(dt)
    # every code of the dtype at least once per channel, shuffled, in a rank-4 array of odd size
    x = np.concatenate([rng.permutation(every) for _ in range(2)] + [rng.integers(f.qmin, f.qmax + 1, 77).astype(dt)])
    x = np.tile(x, channels).reshape(1, channels, 1, -1)
    c = channels if _per_channel(n) else 1
    y = OPS[n.op].run(n, [R.dequantize(x, scale, zp)])
    got = K.lut_codes(x, op_table(n, scale, zp, dt, c))
    assert got.dtype == np.float64 and got.tobytes() == y.tobytes()
    for out_bits in (4, 8, 16):
        of = fixed.IntFormat(out_bits, True)
        hi = max(float(np.abs(y).max()), 1e-3)
        out = fixed.choose_activation_qparams(-hi * rng.uniform(0.3, 1), hi * rng.uniform(0.3, 1), of) + (out_bits,)
        table = op_table(n, scale, zp, dt, c, out)
        assert table.dtype == of.storage_dtype
        for impl in (K, R):
            assert impl.lut_codes(x, table).tobytes() == K.quantize(y, out[0], out[1], bits=out_bits).tobytes()


def test_op_table_refuses_what_the_float_path_must_decide():
    """Too many entries (per-channel 16-bit tables over 1 Mi) or codes of NaN/inf: no table (the float64
    path runs, and raises where the golden model raises)."""
    from accelsim.runtime.quantized import op_table
    bn = _table_node("batch_norm", np.random.default_rng(0), 32)
    assert op_table(bn, 0.1, 0, np.int16, 32) is None
    assert op_table(bn, 0.1, 0, np.int8, 32).shape == (32, 256)
    big = _node("a", "leaky_relu", ["x"], slope=1e308)
    assert op_table(big, 1e10, 0, np.int8, 1, (1.0, 0, 8)) is None
    assert np.isinf(op_table(big, 1e10, 0, np.int8, 1)).any()


def _unet_graph(rng, act="leaky_relu", c=4):
    """x -> conv -> act -> conv(stride 2) -> relu -> convT -> concat(act, convT) -> relu -> conv ->
    pixel shuffle -> prelu -> conv -> tanh: a U-Net skip (the act's output read by a conv and by a
    concat: codes in two domains), pixel shuffle of codes, tables for every activation and tanh as
    the output (a float64 table)."""
    conv = lambda w, s=1, p=1: dict(params={"weight": w}, attrs={"stride": (s, s), "padding": (p, p),  # noqa: E731
                                                                  "dilation": (1, 1), "groups": 1})
    a_node = (Node("act", act, ("c0",), attrs={"slope": 0.2}) if act == "leaky_relu"
              else Node("act", act, ("c0",), params={"weight": rng.normal(size=c) * 0.3}))
    nodes = (
        Node("c0", "conv2d", ("x",), **conv(rng.normal(size=(c, 3, 3, 3)) * 0.4)),
        a_node,
        Node("down", "conv2d", ("act",), **conv(rng.normal(size=(c, c, 4, 4)) * 0.3, 2, 1)),
        Node("r0", "relu", ("down",)),
        Node("up", "conv_transpose2d", ("r0",), params={"weight": rng.normal(size=(c, c, 4, 4)) * 0.3},
             attrs={"stride": (2, 2), "padding": (1, 1), "output_padding": (0, 0), "dilation": (1, 1), "groups": 1}),
        Node("cat", "concat", ("act", "up"), attrs={"axis": 1}),
        Node("r1", "relu", ("cat",)),
        Node("c1", "conv2d", ("r1",), **conv(rng.normal(size=(4 * c, 2 * c, 3, 3)) * 0.3)),
        Node("ps", "pixel_shuffle", ("c1",), attrs={"factor": 2}),
        Node("pr", "prelu", ("ps",), params={"weight": np.array([0.25])}),
        Node("c2", "conv2d", ("pr",), **conv(rng.normal(size=(3, c, 3, 3)) * 0.3)),
        Node("out", "tanh", ("c2",)),
    )
    return Graph("unet", (Input("x", (1, 3, 8, 8)),), nodes, ("out",))


@pytest.mark.parametrize("act", ["leaky_relu", "prelu"])
@pytest.mark.parametrize("fmt", ["w8a8", "w4a8", "w2a8", "w4a4", "w1a8"])
def test_tables_and_codes_in_two_domains_change_nothing(act, fmt):
    """The fast run (tables, C++ pixel shuffle, the skip quantized into both of its domains, the concat
    on codes) == the trace run (the float64 ops) == the golden model, fast and traced == a run with one
    early domain per value (as before), bit for bit."""
    rng = np.random.default_rng(11)
    g = _unet_graph(rng, act)
    qg = quantize(g, fmt, (rng.normal(size=(6, 3, 8, 8)),))
    assert "act" in qg._early_also and {r for _, rs in qg._domains("act") for r in rs} == {"down", "cat"}
    x = rng.normal(size=(3, 3, 8, 8))
    fast = qg.run((x,))
    assert {k[0] for k, t in qg._tables.items() if t is not None} == {"act", "pr", "out"}
    traced, env = qg.run((x,), trace=True)
    assert isinstance(env["cat"], QTensor) and isinstance(env["act"], QTensor)   # no float64 copy of the skip
    golden = qg.run((x,), impl="reference")
    golden_traced, _ = qg.run((x,), impl="reference", trace=True)
    also, qg._early_also = qg._early_also, {}
    before, env1 = qg.run((x,), trace=True)
    qg._early_also = also
    assert not isinstance(env1["act"], QTensor)                    # one domain: the concat read float64
    assert fast.dtype == np.float64
    assert fast.tobytes() == traced.tobytes() == golden.tobytes() == golden_traced.tobytes() == before.tobytes()


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
def test_relu_of_codes_at_the_lowest_zero_point_is_the_value(bits):
    """A relu of codes whose zero point is the format's lowest code returns the value itself: the same
    codes as max(codes, zero point) on every code of the format (and as relu in float64, quantized)."""
    rng = np.random.default_rng(bits)
    g = _unet_graph(rng)
    qg = quantize(g, "w8a8", (rng.normal(size=(2, 3, 8, 8)),))
    f = fixed.IntFormat(bits, True)
    codes = np.concatenate([np.arange(f.qmin, f.qmax + 1), rng.integers(f.qmin, f.qmax + 1, 100)]).astype(
        f.storage_dtype).reshape(1, 1, 1, -1)
    x = QTensor(codes, 0.05, f.qmin, bits)
    got = qg._vector(g.node("r1"), [x], K, set())
    assert got is x
    assert np.array_equal(_run_codes(g.node("r1"), [codes], f.qmin), codes)
    want = R.quantize(np.maximum(R.dequantize(codes, 0.05, f.qmin), 0.0), 0.05, f.qmin, bits=bits)
    assert np.array_equal(got.codes, want)


# ---- int16 instance norm straight to codes, the residual path and quantize on every ISA ----------
# (csrc/src/vector_ops.cpp norm_plan: a float32 shortcut taken only where a bound proves it rounds like
# the golden double quotient; hot_*.cpp quantize_row_fast: a multiply by 1 / scale, divided only near
# ties. These tests aim at ties, near ties, clamps, ReLU, negative and zero gamma, huge and tiny scales.)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _every_isa(fn):
    """fn() on every ISA this CPU runs: the results must all be the same bytes (returned once)."""
    outs = {}
    for isa in K.available_isas():
        with K.use_isa(isa):
            outs[isa] = fn()
    first = next(iter(outs.values()))
    for isa, o in outs.items():
        assert o.tobytes() == first.tobytes(), isa
    return first


def _i16_planes(rng, shape, kind):
    if kind == "normal":
        return np.clip(rng.normal(size=shape) * 10 ** rng.uniform(0, 4) + rng.integers(-3000, 3000), -32768,
                       32767).astype(np.int16)
    if kind == "narrow":
        return rng.integers(-3, 4, shape).astype(np.int16) + np.int16(rng.integers(-32765, 32765))
    if kind == "extremes":
        return rng.choice(np.array([-32768, -32767, 32766, 32767], np.int16), shape)
    if kind == "constant":
        return np.full(shape, rng.integers(-32768, 32768), np.int16)
    return rng.integers(-32768, 32768, shape).astype(np.int16)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["normal", "narrow", "extremes", "constant", "uniform"]),
       hw=st.sampled_from([(1, 1), (3, 5), (7, 9), (16, 16), (17, 31), (64, 64)]),
       out_bits=st.sampled_from([4, 8, 16]), out_signed=st.booleans(), relu=st.booleans(),
       gamma_kind=st.sampled_from(["none", "normal", "negative", "zero", "huge", "tiny"]))
def test_instance_norm_int16_codes_equal_golden_every_isa(seed, kind, hw, out_bits, out_signed, relu, gamma_kind):
    rng = np.random.default_rng(seed)
    c = int(rng.integers(1, 5))
    x = _i16_planes(rng, (int(rng.integers(1, 3)), c, *hw), kind)
    gamma = {"none": None, "normal": rng.normal(size=c) * 3, "negative": -np.abs(rng.normal(size=c)) - 0.1,
             "zero": np.zeros(c), "huge": rng.normal(size=c) * 1e12, "tiny": rng.normal(size=c) * 1e-12}[gamma_kind]
    beta = None if gamma is None else rng.normal(size=c) * 10 ** rng.uniform(-3, 2)
    of = fixed.IntFormat(out_bits, out_signed)
    out = (float(10.0 ** rng.uniform(-6, 3)), int(rng.integers(of.qmin, of.qmax + 1)), out_bits, out_signed)
    kw = dict(x_bits=16, x_signed=True, scale=float(10.0 ** rng.uniform(-6, 2)), zero_point=int(rng.integers(-32768, 32768)),
              eps=float(10.0 ** rng.uniform(-10, -1)), weight=gamma, bias=beta, out=out, relu=relu)
    r = R.instance_norm_codes(x, **kw)
    a = _every_isa(lambda: K.instance_norm_codes(x, **kw))
    assert a.dtype == r.dtype and a.tobytes() == r.tobytes()


@pytest.mark.parametrize("seed", range(30))
def test_instance_norm_int16_codes_at_ties_every_isa(seed):
    """Output scales chosen so that values of the plane divide to a half-integer (exactly or within an
    ulp or a few): the float32 shortcut must defer every such value to the double quotient."""
    rng = np.random.default_rng(1000 + seed)
    c = 3
    x = rng.integers(-4000, 4000, (1, c, 24, 24)).astype(np.int16)
    kw = dict(x_bits=16, x_signed=True, scale=float(10.0 ** rng.uniform(-4, 0)), zero_point=int(rng.integers(-100, 100)),
              eps=1e-5, weight=rng.normal(size=c) * 2, bias=rng.normal(size=c))
    y = R.instance_norm_codes(x, **kw)                      # float64 values of the norm
    j = int(rng.integers(0, y.size))
    v = y.reshape(-1)[j]
    m = int(rng.integers(0, 40)) + 0.5
    for ulps in (0, 1, -1, 3, -3):
        out_scale = float(np.nextafter(abs(v) / m, np.inf if ulps > 0 else 0.0)) if ulps else abs(v) / m
        for _ in range(abs(ulps) - 1):
            out_scale = float(np.nextafter(out_scale, np.inf if ulps > 0 else 0.0))
        for bits, signed, relu in ((8, True, False), (8, True, True), (8, False, False), (16, True, False)):
            out = (out_scale, 0 if signed else 128, bits, signed)
            r = R.instance_norm_codes(x, out=out, relu=relu, **kw)
            a = _every_isa(lambda: K.instance_norm_codes(x, out=out, relu=relu, **kw))
            assert a.tobytes() == r.tobytes(), (ulps, bits, signed, relu)
    # every value of a plane exactly on a tie: gamma = 0 leaves y = beta
    for b, s in ((0.625, 0.25), (-0.375, 0.25), (2.5, 1.0), (-3.5, 1.0), (1e-300 * 2.5, 1e-300)):
        kw0 = dict(kw, weight=np.zeros(c), bias=np.full(c, b))
        out = (s, 0, 8, True)
        assert _every_isa(lambda: K.instance_norm_codes(x, out=out, **kw0)).tobytes() == \
            R.instance_norm_codes(x, out=out, **kw0).tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), want_float=st.booleans(), out_bits=st.sampled_from([8, 16]),
       ties=st.sampled_from(["none", "exact", "near"]), x_bits=st.sampled_from([8, 16]))
def test_instance_norm_add_equal_golden_every_isa(seed, want_float, out_bits, ties, x_bits):
    """Norm + float64 residual to codes: residuals chosen so that sums land on (or next to) half-integer
    multiples of the output scale, which the multiply-by-reciprocal quantizer must divide exactly."""
    rng = np.random.default_rng(seed)
    f = fixed.IntFormat(x_bits, True)
    shape = (1, int(rng.integers(1, 4)), int(rng.integers(1, 20)), int(rng.integers(1, 40)))
    x = rng.integers(f.qmin, f.qmax + 1, shape).astype(f.storage_dtype)
    kw = dict(x_bits=x_bits, x_signed=True, scale=float(10.0 ** rng.uniform(-4, 0)), zero_point=0, eps=1e-5,
              weight=rng.normal(size=shape[1]), bias=rng.normal(size=shape[1]))
    out_scale = float(10.0 ** rng.uniform(-3, 0))
    res = rng.normal(size=shape) * 3
    if ties != "none":
        y = R.instance_norm_codes(x, **kw)
        target = (np.round(rng.normal(size=shape) * 20) + 0.5) * out_scale
        res = target - y                                    # y + res == target up to one rounding
        if ties == "near":
            res = np.nextafter(res, rng.choice([-np.inf, np.inf], shape))
    out = (out_scale, int(rng.integers(-10, 10)), out_bits, True)
    ry, rq = R.instance_norm_add(x, res, out=out, want_float=want_float, **kw)
    got = {}
    for isa in K.available_isas():
        with K.use_isa(isa):
            got[isa] = K.instance_norm_add(x, res, out=out, want_float=want_float, **kw)
    for isa, (ay, aq) in got.items():
        assert aq.tobytes() == rq.tobytes(), isa
        assert (ay is None) == (ry is None) and (ay is None or ay.tobytes() == ry.tobytes()), isa


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale_exp=st.sampled_from([-1070, -1010, -999, -300, -20, -3, 0, 5, 300,
                                                                  999, 1001, 1020]),
       bits=st.sampled_from([2, 8, 12, 16]), signed=st.booleans())
def test_quantize_fast_rows_equal_golden_every_isa(seed, scale_exp, bits, signed):
    """K.quantize (quantize_row_fast on the SIMD ISAs) at exact ties, one and two ulps off them,
    huge quotients, subnormal values and scales far outside the reciprocal's range (2^-1000..2^1000)."""
    rng = np.random.default_rng(seed)
    f = fixed.IntFormat(bits, signed)
    scale = float(np.ldexp(rng.uniform(1, 2), scale_exp))
    if scale == 0 or not np.isfinite(scale):
        return
    n = int(rng.integers(1, 200))
    m = np.round(rng.normal(size=n) * (1 << bits)) + 0.5
    with np.errstate(over="ignore", under="ignore"):
        x = m * scale
        kinds = rng.integers(0, 6, n)
        x = np.where(kinds == 1, np.nextafter(x, np.inf), x)
        x = np.where(kinds == 2, np.nextafter(np.nextafter(x, -np.inf), -np.inf), x)
        x = np.where(kinds == 3, rng.normal(size=n) * 1e300, x)
        x = np.where(kinds == 4, rng.normal(size=n) * 1e-310, x)
    x = np.where(np.isfinite(x), x, 0.0)
    zp = int(rng.integers(f.qmin, f.qmax + 1))
    with np.errstate(over="ignore", under="ignore"):       # x / scale may overflow to inf: clamped
        r = R.quantize(x, scale, zp, bits=bits, signed=signed)
    a = _every_isa(lambda: K.quantize(x, scale, zp, bits=bits, signed=signed))
    assert a.tobytes() == r.tobytes()


@pytest.mark.parametrize("x_dtype", [np.int16, np.int8])
def test_instance_norm_codes_refuses_non_finite_values_like_golden(x_dtype):
    """A weight or bias that makes a normalized value NaN or inf: the golden model's quantize refuses it,
    and so does the C++ (every ISA), with or without the residual."""
    x = (np.arange(2 * 32 * 32) % 50 - 25).astype(x_dtype).reshape(1, 2, 32, 32)
    base = dict(x_bits=8 * np.dtype(x_dtype).itemsize, x_signed=True, scale=1.0, zero_point=0, eps=1e-5)
    for w, b in (([np.nan, 1.0], None), ([1.0, np.inf], None), (None, [0.0, -np.inf]), ([1.7e308, 1.0], [0.0, 0.0])):
        kw = dict(base, weight=None if w is None else np.array(w), bias=None if b is None else np.array(b))
        if w is not None and b is None:
            kw["bias"] = np.zeros(2)
        if w is None:
            kw["weight"] = np.ones(2)
        with pytest.raises(ValueError, match="NaN or inf"), np.errstate(all="ignore"):
            R.instance_norm_codes(x, out=(0.1, 0, 8, True), **kw)
        for isa in K.available_isas():
            with K.use_isa(isa), pytest.raises(ValueError, match="NaN or inf"):
                K.instance_norm_codes(x, out=(0.1, 0, 8, True), **kw)


@pytest.mark.parametrize("value,zp", [(-32768, 32767), (32767, -32768), (-32768, 0), (-32768, -32768)])
def test_instance_norm_int16_sums_exact_on_large_extreme_planes(value, zp):
    """Planes of 2^20 + 5 equal extreme codes (the SIMD sums widen their int32 lanes every 2^14 vectors;
    (-2^15)^2 pairs are 2^31): statistics exact, so the golden bits, on every ISA, float and codes."""
    x = np.full((1, 1, 1025, 1023), value, np.int16)
    x.reshape(-1)[::3] = -value - 1 if value < 0 else -value
    kw = dict(x_bits=16, x_signed=True, scale=0.01, zero_point=zp, eps=1e-5)
    assert _every_isa(lambda: K.instance_norm_codes(x, **kw)).tobytes() == R.instance_norm_codes(x, **kw).tobytes()
    out = (0.02, -3, 8, True)
    assert _every_isa(lambda: K.instance_norm_codes(x, out=out, **kw)).tobytes() == \
        R.instance_norm_codes(x, out=out, **kw).tobytes()


def test_kernels_accept_unpickled_dtypes():
    """An array whose dtype object is equal to numpy's but not the same object (as after pickling) is
    taken: the bindings compare dtypes by equality."""
    import pickle
    x = pickle.loads(pickle.dumps(np.arange(-8, 8, dtype=np.int16).reshape(1, 1, 4, 4)))
    assert np.array_equal(K.pad_codes(x, (1, 1, 1, 1), "reflect", 0), R.pad_codes(x, (1, 1, 1, 1), "reflect", 0))


@pytest.mark.parametrize("want_float", [False, True])
def test_instance_norm_add_into_residual(want_float):
    """into_residual: the float64 sum lands in the residual array itself (returned as it), the same bits
    as a new array, codes unchanged, on every ISA and in the golden model; the runtime uses it (the
    residual graph's second add) and its outputs stay those of the golden model."""
    rng = np.random.default_rng(5)
    x = rng.integers(-3000, 3000, (2, 3, 9, 13)).astype(np.int16)
    kw = dict(x_bits=16, x_signed=True, scale=0.01, zero_point=4, eps=1e-5, weight=rng.normal(size=3),
              bias=rng.normal(size=3))
    res = rng.normal(size=x.shape)
    out = (0.05, -2, 8, True)
    want_y, want_q = R.instance_norm_add(x, res, out=out, want_float=True, **kw)
    for impl, isa in [(R, None)] + [(K, i) for i in K.available_isas()]:
        r = res.copy()
        with K.use_isa(isa or K.active_isa()):
            y, q = impl.instance_norm_add(x, r, out=out, want_float=want_float, into_residual=True, **kw)
            assert q.tobytes() == want_q.tobytes(), isa
            if want_float:
                assert y is r and r.tobytes() == want_y.tobytes(), isa
            else:
                assert y is None and r.tobytes() == res.tobytes(), isa    # codes only: the residual untouched
            r = res.copy()
            y = impl.instance_norm_add(x, r, into_residual=True, **kw)
            assert y is r and r.tobytes() == want_y.tobytes(), isa
    for impl in (K, R):
        ro = res.copy()
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="into_residual"):
            impl.instance_norm_add(x, ro, into_residual=True, **kw)
        with pytest.raises(ValueError, match="into_residual"):
            impl.instance_norm_add(x, np.asfortranarray(res), into_residual=True, **kw)
    calls = []
    g = _residual_graph(np.random.default_rng(9))
    qg = quantize(g, "w8a8", (np.random.default_rng(1).normal(size=(6, 4, 8, 8)),))
    xin = np.random.default_rng(2).normal(size=(2, 4, 8, 8))

    class Spy:
        def __getattr__(self, name):
            f = getattr(K, name)
            if name != "instance_norm_add":
                return f
            return lambda *a, **k: calls.append(k.get("into_residual")) or f(*a, **k)
    assert qg.run((xin,), impl=Spy()).tobytes() == qg.run((xin,), impl="reference").tobytes()
    assert sorted(calls) == [False, True]
