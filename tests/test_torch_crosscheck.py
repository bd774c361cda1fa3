"""The `torch` requantization mode equals PyTorch's quantized ConvTranspose2d (fbgemm engine) bit for
bit. The default x86/onednn engines are not used: they return wrong results for ConvTranspose2d when
in_channels != out_channels here. Without AVX-512 VNNI, fbgemm saturates int16 pair sums, so the
activations are restricted to 0..127."""
import numpy as np
import pytest

from accelsim import kernels
from accelsim.formats import fixed, requant
from accelsim.formats.conv import ConvSpec

torch = pytest.importorskip("torch")

# torch 2.13 deprecates quantized tensor creation; it is exactly what this cross-check needs.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(autouse=True)
def fbgemm():
    prev = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    yield
    torch.backends.quantized.engine = prev


def _case(seed, per_channel, transposed):
    rng = np.random.default_rng(seed)
    cin, cout = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    k = int(rng.integers(1, 5))
    stride = int(rng.integers(1, 4))
    pad = int(rng.integers(0, k))
    outpad = int(rng.integers(0, stride)) if transposed else 0
    h, w = (int(v) for v in rng.integers(k + 1, k + 6, 2))
    n = int(rng.integers(1, 3))
    sx, zx = float(rng.uniform(0.005, 0.05)), int(rng.integers(0, 64))
    sy, zy = float(rng.uniform(0.01, 0.2)), int(rng.integers(0, 256))
    xq = rng.integers(0, 128, (n, cin, h, w)).astype(np.uint8)
    wf = rng.normal(0, 0.2, (cin, cout, k, k) if transposed else (cout, cin, k, k))
    axis = 1 if transposed else 0
    bias = rng.normal(0, 0.5, cout).astype(np.float32)
    spec = ConvSpec.make(stride=stride, padding=pad, output_padding=outpad, transposed=transposed)
    if per_channel:
        sw = fixed.weight_scales(wf, 8, True, axis)
        wq = fixed.quantize(wf, sw, 0, fixed.weight_format(8), channel_axis=axis)
        qw = torch._make_per_channel_quantized_tensor(torch.tensor(wq, dtype=torch.int8),
                                                      torch.tensor(sw, dtype=torch.float64),
                                                      torch.zeros(cout, dtype=torch.int64), axis)
    else:
        sw = fixed.weight_scales(wf, 8, False, axis)
        wq = fixed.quantize(wf, sw[0], 0, fixed.weight_format(8))
        qw = torch._make_per_tensor_quantized_tensor(torch.tensor(wq, dtype=torch.int8), float(sw[0]), 0)
    if transposed:
        m = torch.ao.nn.quantized.ConvTranspose2d(cin, cout, k, stride=stride, padding=pad, output_padding=outpad)
    else:
        m = torch.ao.nn.quantized.Conv2d(cin, cout, k, stride=stride, padding=pad)
    m.set_weight_bias(qw, torch.tensor(bias))
    m.scale, m.zero_point = sy, zy
    qx = torch._make_per_tensor_quantized_tensor(torch.tensor(xq), sx, zx)
    theirs = m(qx).int_repr().numpy()
    acc = kernels.conv_int(xq, wq, x_bits=8, x_signed=False, x_zero_point=zx, w_bits=8, spec=spec)
    b, mult = requant.fbgemm_params(sx, sw, sy, bias)
    ours = kernels.requantize_torch(acc, b, mult, zero_point=zy, out_bits=8, out_signed=False)
    return ours, theirs


# torch refuses per-channel weights for quantized transposed conv; conv2d covers per-channel.
@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("per_channel,transposed", [(False, True), (False, False), (True, False)])
def test_torch_mode_equals_fbgemm(seed, per_channel, transposed):
    ours, theirs = _case(seed, per_channel, transposed)
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) > 1 or ours.size < 8
