"""Checks for the reference generators in examples/generators.py."""
import inspect
import pathlib

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

_PATH = pathlib.Path(__file__).resolve().parents[1] / "examples" / "generators.py"


# the `gens` fixture (tests/conftest.py) loads examples/generators.py


def _nparams(cls):
    # Full-size models are only counted, never run: build them on the meta
    # device so no memory is allocated and no weights are initialised.
    with torch.device("meta"):
        model = cls()
    return sum(p.numel() for p in model.parameters())


def test_cyclegan_param_count(gens):
    assert _nparams(gens.CycleGANResnet9) == 11_378_179


def test_esrgan_param_count(gens):
    assert _nparams(gens.ESRGAN_RRDB) == 16_697_987


def test_pix2pix_param_count(gens):
    k = 4 * 4
    # Down convs (bias=False): 3->64, 64->128, 128->256, 256->512, 4 x 512->512.
    down = k * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 4 * 512 * 512)
    # BatchNorm after the down conv on levels 2..7 (gamma + beta).
    down_bn = 2 * (128 + 256 + 512 * 4)
    # Up convs: innermost 512->512, 3 dropout levels 1024->512, then
    # 1024->256, 512->128, 256->64 (bias=False), outermost 128->3 (+3 bias).
    up = k * (512 * 512 + 3 * 1024 * 512 + 1024 * 256 + 512 * 128 + 256 * 64
              + 128 * 3) + 3
    up_bn = 2 * (512 + 3 * 512 + 256 + 128 + 64)
    expected = down + down_bn + up + up_bn
    assert expected == 54_413_955
    assert _nparams(gens.UnetGenerator256) == expected


@pytest.mark.parametrize("name, shape", [
    ("cyclegan_tiny", (1, 3, 32, 32)),
    ("pix2pix_tiny", (1, 3, 32, 32)),
    ("srresnet_tiny", (1, 3, 64, 64)),
    ("esrgan_tiny", (1, 3, 64, 64)),
    ("dcgan_tiny", (1, 3, 64, 64)),
    ("cdcgan", (1, 1, 32, 32)),
])
def test_tiny_forward(gens, name, shape):
    model, inputs = getattr(gens, name)()
    assert not model.training
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    assert all(x.shape[0] == 1 for x in inputs)
    with torch.no_grad():
        out = model(*inputs)
    assert tuple(out.shape) == shape
    assert torch.isfinite(out).all()


def test_factories_deterministic(gens):
    m1, x1 = gens.dcgan_tiny()
    m2, x2 = gens.dcgan_tiny()
    assert torch.equal(x1, x2)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    bn = m1.main[1]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))


def test_dcgan_has_ngpu_branch(gens):
    model = gens.DCGAN_Generator()
    assert model.ngpu == 1
    src = inspect.getsource(gens.DCGAN_Generator.forward)
    assert "input.is_cuda and self.ngpu > 1" in src
    assert "nn.parallel.data_parallel" in src
    # That data-dependent branch is what defeats symbolic tracing.
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(model)
