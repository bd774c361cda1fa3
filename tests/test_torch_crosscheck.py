"""The `torch` and `qnnpack` requantization modes equal PyTorch's quantized Conv2d / ConvTranspose2d
with the fbgemm and the qnnpack engine bit for bit: the golden model (accelsim.formats.reference) and the
C++ kernels (accelsim.kernels), on random shapes (groups, strides, dilation, padding, output padding,
per-tensor and per-channel weights) and on the extremes: fbgemm's fused multiply-add of a per-tensor
bias, the int32 accumulator wrap at |acc| >= 2^31, and the conversion overflow (cvtps2dq's INT32_MIN).

The default x86/onednn engines are not used: they return wrong results for ConvTranspose2d when
in_channels != out_channels here. Without AVX-512 VNNI, fbgemm saturates int16 pair sums, so the random
activations are restricted to 0..127 unless the CPU has VNNI."""
import numpy as np
import pytest

from accelsim import kernels
from accelsim.formats import fixed, reference, requant
from accelsim.formats.conv import ConvSpec

torch = pytest.importorskip("torch")

# torch 2.13 deprecates quantized tensor creation; it is exactly what this cross-check needs.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")


def _has_vnni() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


X_MAX = 255 if _has_vnni() else 127


@pytest.fixture(params=["fbgemm", "qnnpack"])
def engine(request):
    if request.param not in torch.backends.quantized.supported_engines:
        pytest.skip(f"torch has no {request.param} engine here")
    prev = torch.backends.quantized.engine
    torch.backends.quantized.engine = request.param
    yield request.param
    torch.backends.quantized.engine = prev


def _torch_run(engine, xq, sx, zx, wq, sw, bias, sy, zy, *, transposed, per_channel, stride, pad, outpad,
               dilation, groups):
    cout = wq.shape[1] * groups if transposed else wq.shape[0]
    cin = wq.shape[0] if transposed else wq.shape[1] * groups
    k = wq.shape[2]
    axis = 1 if transposed else 0
    if per_channel:
        qw = torch._make_per_channel_quantized_tensor(torch.tensor(wq), torch.tensor(np.float64(sw)),
                                                      torch.zeros(len(sw), dtype=torch.int64), axis)
    else:
        qw = torch._make_per_tensor_quantized_tensor(torch.tensor(wq), float(sw[0]), 0)
    if transposed:
        m = torch.ao.nn.quantized.ConvTranspose2d(cin, cout, k, stride=stride, padding=pad, output_padding=outpad,
                                                  dilation=dilation, groups=groups)
    else:
        m = torch.ao.nn.quantized.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, groups=groups)
    m.set_weight_bias(qw, torch.tensor(bias))
    m.scale, m.zero_point = sy, zy
    qx = torch._make_per_tensor_quantized_tensor(torch.tensor(xq), sx, zx)
    return m(qx).int_repr().numpy()


def _ours(engine, xq, sx, zx, wq, sw, bias, sy, zy, spec, per_channel):
    """(golden, C++) output codes of the engine's mode."""
    if engine == "fbgemm":
        acc = kernels.conv_int(xq, wq, x_bits=8, x_signed=False, x_zero_point=zx, w_bits=8, spec=spec)
        b, k, m = requant.fbgemm_params(sx, sw, sy, bias, per_channel=per_channel)
        args = dict(zero_point=zy, out_bits=8, out_signed=False, bias_mul_f32=k)
        return (reference.requantize_torch(acc, b, m, **args), kernels.requantize_torch(acc, b, m, **args))
    # qnnpack: torch quantizes the float bias to int32 at scale s_w * s_x before the convolution
    if per_channel:
        qb = torch.quantize_per_channel(torch.tensor(bias), torch.tensor(np.float64(sw)) * sx,
                                        torch.zeros(len(sw), dtype=torch.int64), 0, torch.qint32)
    else:
        qb = torch.quantize_per_tensor(torch.tensor(bias), float(sw[0]) * sx, 0, torch.qint32)
    acc = kernels.conv_int(xq, wq, x_bits=8, x_signed=False, x_zero_point=zx, w_bits=8,
                           bias=qb.int_repr().numpy(), spec=spec)
    m = requant.qnnpack_params(sx, sw, sy)
    args = dict(zero_point=zy, out_bits=8, out_signed=False)
    return reference.requantize_qnnpack(acc, m, **args), kernels.requantize_qnnpack(acc, m, **args)


def _random_case(seed, per_channel, transposed):
    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    cin_g, cout_g = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    if rng.random() < 0.25:   # wide channels: vector bodies and remainders of the requantization loops
        cout_g = int(rng.integers(16, 70))
    k = int(rng.integers(1, 5))
    stride = int(rng.integers(1, 4))
    dilation = int(rng.integers(1, 3)) if rng.random() < 0.3 else 1
    pad = int(rng.integers(0, k))
    outpad = int(rng.integers(0, max(stride, dilation))) if transposed else 0
    span = dilation * (k - 1) + 1
    h, w = (int(v) for v in rng.integers(span, span + 6, 2))
    n = int(rng.integers(1, 3))
    sx, zx = float(rng.uniform(0.005, 0.05)), int(rng.integers(0, X_MAX + 1))
    sy, zy = float(rng.uniform(0.01, 0.2)), int(rng.integers(0, 256))
    xq = rng.integers(0, X_MAX + 1, (n, cin_g * groups, h, w)).astype(np.uint8)
    wshape = (cin_g * groups, cout_g, k, k) if transposed else (cout_g * groups, cin_g, k, k)
    wf = rng.normal(0, 0.2, wshape)
    axis = 1 if transposed else 0
    cout = cout_g * groups
    if per_channel:
        sw = fixed.weight_scales(wf, 8, True, axis)
        wq = fixed.quantize(wf, sw, 0, fixed.weight_format(8), channel_axis=axis).astype(np.int8)
    else:
        sw = fixed.weight_scales(wf, 8, False, axis)
        wq = fixed.quantize(wf, sw[0], 0, fixed.weight_format(8)).astype(np.int8)
    bias = (rng.normal(0, 0.5, cout) * (100 if rng.random() < 0.2 else 1)).astype(np.float32)
    spec = ConvSpec.make(stride=stride, padding=pad, output_padding=outpad, dilation=dilation, groups=groups,
                         transposed=transposed)
    geom = dict(transposed=transposed, per_channel=per_channel, stride=stride, pad=pad, outpad=outpad,
                dilation=dilation, groups=groups)
    return (xq, sx, zx, wq, sw, bias, sy, zy), spec, geom


def _check(engine, case, spec, geom):
    try:
        theirs = _torch_run(engine, *case, **geom)
    except RuntimeError as e:   # a layout this engine does not implement (none is skipped silently)
        pytest.skip(f"{engine} refuses {geom}: {str(e).splitlines()[0]}")
    gold, cpp = _ours(engine, *case, spec, geom["per_channel"])
    np.testing.assert_array_equal(gold, theirs, err_msg=f"golden vs {engine} {geom}")
    np.testing.assert_array_equal(cpp, theirs, err_msg=f"C++ vs {engine} {geom}")
    return theirs


# torch refuses per-channel weights for quantized transposed conv; conv2d covers per-channel.
@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("per_channel,transposed", [(False, True), (False, False), (True, False)])
def test_random_shapes_equal_torch(engine, seed, per_channel, transposed):
    case, spec, geom = _random_case(seed, per_channel, transposed)
    out = _check(engine, case, spec, geom)
    assert len(np.unique(out)) > 1 or out.size < 8


def _pointwise(engine, x_codes, w_codes, sx, sw, bias, sy, zy, per_channel=False):
    """A 1x1 Conv2d on one pixel: acc = sum_c x[c] * w[o, c] exactly as chosen."""
    xq = np.asarray(x_codes, np.uint8).reshape(1, -1, 1, 1)
    wq = np.asarray(w_codes, np.int8).reshape(len(bias), -1, 1, 1)
    sw = np.atleast_1d(np.asarray(sw, np.float64))
    case = (xq, sx, 0, wq, sw, np.asarray(bias, np.float32), sy, zy)
    geom = dict(transposed=False, per_channel=per_channel, stride=1, pad=0, outpad=0, dilation=1, groups=1)
    return _check(engine, case, ConvSpec.make(), geom)


def _codes_for(acc: int, cin: int):
    """uint8 activations and int8 weights (one output channel) whose dot product is ``acc >= 0``."""
    x, w = np.zeros(cin, np.int64), np.zeros(cin, np.int64)
    full, rest = divmod(acc, 127 * X_MAX)
    assert full + 2 <= cin
    x[:full], w[:full] = X_MAX, 127
    q, r = divmod(rest, 127)
    x[full], w[full] = q, 127
    x[full + 1], w[full + 1] = r, 1
    assert int((x * w).sum()) == acc
    return x, w


def test_fbgemm_per_tensor_bias_is_one_fma():
    """acc + bias * (1/(s_x s_w)) with one rounding: bias * k lands just above 0.25 and rounds to 0.25
    in float32; acc = 2^22 + 2^14 makes t a rounding tie of the float32 grid (steps of 0.5) that only the
    FMA breaks upward, and m = 2^-15 turns it into 128.5 (non-fused: 128) or 128.5 + 2^-16 (fused: 129)."""
    if "fbgemm" not in torch.backends.quantized.supported_engines:
        pytest.skip("no fbgemm engine")
    prev = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    try:
        rng = np.random.default_rng(7)
        acc = 2 ** 22 + 2 ** 14
        x, w = _codes_for(acc, 300)
        checked = 0
        while checked < 5:
            sx, sw = float(np.float32(rng.uniform(0.01, 0.05))), float(np.float32(rng.uniform(0.001, 0.01)))
            atws = np.float32(np.float32(sx) * np.float32(sw))
            sy = float(atws) * 2.0 ** 15
            k = np.float32(1.0 / np.float64(atws))
            b = np.float32(0.25 * float(atws) * (1 + rng.uniform(-3e-7, 3e-7)))
            if not (np.float32(np.float64(b) * np.float64(k)) == 0.25 and np.float64(b) * np.float64(k) > 0.25):
                continue
            out = _pointwise("fbgemm", x, w, sx, [sw], [b], sy, 0)
            assert out.item() == 129   # the non-fused mul-then-add would give 128
            checked += 1
    finally:
        torch.backends.quantized.engine = prev


def test_accumulator_wraps_at_2_31(engine):
    """|acc| >= 2^31: both engines keep an int32 accumulator that wraps modulo 2^32."""
    acc = 2 ** 31 + 12345 * 127
    cin = acc // (127 * X_MAX) + 2
    x, w = _codes_for(acc, cin)
    sx, sw = 0.01, 0.01
    sy = sx * sw * 2.0 ** 20   # m = 2^-20: the wrapped accumulator -2^31 + 1567815 maps to code -2046 -> 0
    out = _pointwise(engine, x, w, sx, [sw], [0.0], sy, 200)
    assert out.item() == 0     # without the wrap: 2^31 * 2^-20 = 2048 -> 255
    acc2 = 2 ** 31 + 2 ** 30   # wraps to -2^30: code -1024 + 200 -> 0; unwrapped: 255
    x, w = _codes_for(acc2, acc2 // (127 * X_MAX) + 2)
    assert _pointwise(engine, x, w, sx, [sw], [0.0], sy, 200).item() == 0


def test_conversion_overflow_gives_int32_min(engine):
    """A float32 product >= 2^31 converts to INT32_MIN (x86 cvtps2dq), so a huge positive value yields
    the lowest code, not 255; just below 2^31 it saturates to 255."""
    sx, sw = 0.5, 0.5                  # s_x s_w = 0.25
    for acc, expect in ((2 ** 24, 0), (2 ** 23, 255), (2 ** 22, 255)):
        x, w = _codes_for(acc, acc // (127 * X_MAX) + 2)
        sy = 0.25 / 2 ** 7             # m = 2^7: 2^24 * 2^7 = 2^31 overflows; 2^30 does not
        assert _pointwise(engine, x, w, sx, [sw], [0.0], sy, 10).item() == expect


def test_extreme_zero_points_and_codes(engine):
    """Activations and zero points at 0 and the top of the range, large biases, m near 1."""
    rng = np.random.default_rng(3)
    for zx, zy in ((0, 0), (X_MAX, 255), (0, 255), (X_MAX, 0)):
        xq = rng.choice([0, X_MAX], (1, 6, 5, 5)).astype(np.uint8)
        wq = rng.choice([-127, 127, 0, 1, -1], (4, 6, 3, 3)).astype(np.int8)
        sx = 0.02
        sw = np.float64([0.01])
        bias = np.float32([1e3, -1e3, 0.5, -0.5])
        sy = float(np.float32(sx) * np.float32(0.01)) * 1.0001
        case = (xq, sx, zx, wq, sw, bias, sy, zy)
        geom = dict(transposed=False, per_channel=False, stride=1, pad=1, outpad=0, dilation=1, groups=1)
        _check(engine, case, ConvSpec.make(padding=1), geom)
