"""Weight quantizers (issue 15 item 2): min/max (the default, unchanged), MSE-optimal clipping and
QGAN's EM-style alternation choose only the scale (ternary: the mask and alpha); the error never
exceeds min/max's, codes stay in range, and the runtime stays bit-exact between C++ and golden."""
import numpy as np
import pytest

from accelsim.cli import main
from accelsim.errors import FormatError
from accelsim.formats import fixed, ternary
from accelsim.formats.conv import ConvSpec
from accelsim.graph.reference import load
from accelsim.runtime import quantize

SPEC = ConvSpec(stride=1, padding=1)
TSPEC = ConvSpec(stride=2, padding=1, transposed=True)


def _weights(seed, shape=(24, 8, 3, 3)):
    rng = np.random.default_rng(seed)
    w = rng.standard_t(3, size=shape)
    w[0] = 0.0                                   # an all-zero channel
    w[1] *= 1e-3
    return w


def _channel_err(w, q, s, axis):
    shape = [1] * w.ndim
    shape[axis] = -1
    d = (w - q * s.reshape(shape)) ** 2
    return np.moveaxis(d, axis, 0).reshape(w.shape[axis], -1).sum(axis=1)


def test_minmax_is_the_old_rule():
    w = _weights(1)
    amax = np.abs(w).reshape(24, -1).max(axis=1)
    for bits in (3, 4, 8, 16):
        want = np.where(amax > 0, amax / fixed.weight_format(bits).qmax, 1.0)
        np.testing.assert_array_equal(fixed.weight_scales(w, bits, True, 0), want)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("bits", [3, 4, 6, 8])
@pytest.mark.parametrize("spec,axis", [(SPEC, 0), (TSPEC, 1)])
def test_mse_and_em_never_lose_to_minmax(seed, bits, spec, axis):
    w = _weights(seed)
    qmax = fixed.weight_format(bits).qmax
    q0, s0 = fixed.quantize_weights(w, bits, spec)
    e0 = _channel_err(w, q0, s0, axis)
    for method in ("mse", "em"):
        q, s = fixed.quantize_weights(w, bits, spec, method=method)
        assert q.dtype == q0.dtype and np.abs(q).max() <= qmax and (s > 0).all()
        assert (_channel_err(w, q, s, axis) <= e0 * (1 + 1e-12) + 1e-300).all(), method
    # EM stops at a fixed point: s is the least-squares scale of its own codes
    q, s = fixed.quantize_weights(w, bits, spec, method="em")
    rows = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    qr = np.moveaxis(q, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)
    nz = (qr * qr).sum(axis=1) > 0
    np.testing.assert_allclose(s[nz], (rows * qr).sum(axis=1)[nz] / (qr * qr).sum(axis=1)[nz], rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_ternary_methods_never_lose_to_twn(seed):
    w = _weights(seed)
    t0, a0 = ternary.ternarize(w, SPEC)
    e0 = _channel_err(w, t0, a0, 0)
    for method in ("mse", "em"):
        t, a = ternary.ternarize(w, SPEC, method=method)
        assert set(np.unique(t)) <= {-1, 0, 1}
        assert (_channel_err(w, t, a, 0) <= e0 * (1 + 1e-12) + 1e-300).all(), method


def test_bad_method_is_a_format_error():
    with pytest.raises(FormatError, match="weight quantizer must be one of minmax, mse, em"):
        fixed.weight_scales(_weights(0), 4, True, 0, method="kmeans")
    with pytest.raises(FormatError, match="weight quantizer"):
        ternary.ternarize(_weights(0), SPEC, method="")
    loaded = load("dcgan-digits")
    with pytest.raises(FormatError, match="weight quantizer"):
        quantize(loaded.graph, "w4a8", loaded.example_inputs(2, 1), weight_quantizer="EM")


@pytest.mark.parametrize("fmt", ["w3a8", "w2a8", "w4a4"])
@pytest.mark.parametrize("method", ["mse", "em"])
def test_runtime_is_bit_exact_and_changes_only_weights(fmt, method):
    loaded = load("dcgan-digits")
    x = loaded.example_inputs(4, 0)
    q = quantize(loaded.graph, fmt, loaded.example_inputs(8, 1234), weight_quantizer=method)
    np.testing.assert_array_equal(q.run(x, impl="cpp"), q.run(x, impl="reference"))
    base = quantize(loaded.graph, fmt, loaded.example_inputs(8, 1234))
    for name, p in q.plans.items():
        assert p.x_scale == base.plans[name].x_scale and p.x_zero_point == base.plans[name].x_zero_point


def test_generate_takes_the_option(tmp_path, capsys):
    out = tmp_path / "g.npz"
    assert main(["generate", "--format", "w3a8", "--weight-quantizer", "em", "--n", "4", "--calib", "4",
                 "--out", str(out)]) == 0
    assert "em weight scales" in capsys.readouterr().out and out.exists()
    with pytest.raises(SystemExit) as e:
        main(["generate", "--weight-quantizer", "bogus", "--out", str(tmp_path / "x.npz")])
    assert e.value.code == 2
