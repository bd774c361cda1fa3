"""Quantized generators: every format runs a whole generator through the C++ kernels bit-identical
to the golden model, and quality degrades in the expected order."""
import numpy as np
import pytest

from accelsim import qgen


def synthetic_dcgan(seed=0, ch=(16, 32, 16, 8, 1)):
    rng = np.random.default_rng(seed)
    w = {}
    for i in range(4):
        w[f"deconv{i + 1}.weight"] = rng.normal(0, 0.05, (ch[i], ch[i + 1], 4, 4)).astype(np.float32)
        if i < 3:
            w[f"bn{i + 1}.weight"] = rng.uniform(0.8, 1.2, ch[i + 1])
            w[f"bn{i + 1}.bias"] = rng.normal(0, 0.1, ch[i + 1])
            w[f"bn{i + 1}.running_mean"] = rng.normal(0, 0.1, ch[i + 1])
            w[f"bn{i + 1}.running_var"] = rng.uniform(0.5, 1.5, ch[i + 1])
    return qgen.dcgan_layers(w)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


@pytest.fixture(scope="module")
def layers():
    return synthetic_dcgan()


@pytest.fixture(scope="module")
def z():
    return np.random.default_rng(99).standard_normal((4, 16, 1, 1))


@pytest.mark.parametrize("fmt", qgen.FORMATS)
def test_cpp_equals_reference_through_the_whole_generator(layers, z, fmt):
    g = qgen.quantize_generator(layers, fmt, calib_n=32)
    a, ta = g.run(z, "cpp", trace=True)
    b, tb = g.run(z, "reference", trace=True)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 1, 32, 32)
    for la, lb in zip(ta, tb):
        for key in ("input", "output"):
            va, vb = la[key], lb[key]
            if isinstance(va, tuple):
                np.testing.assert_array_equal(va[0], vb[0])
                assert va[1] == vb[1]
            else:
                np.testing.assert_array_equal(va, vb)
                assert va.dtype == vb.dtype


def test_quality_order(layers, z):
    ref = qgen.float_forward(layers, z)
    p = {f: psnr(qgen.quantize_generator(layers, f, calib_n=64).run(z), ref) for f in
         ("int16", "int8", "int4", "int2", "flex16")}
    assert p["flex16"] > 60
    assert p["int8"] > 35
    assert p["int16"] >= p["int8"] - 1 > p["int4"] > p["int2"]


def test_autoflex_static_exponents_run(layers, z):
    g = qgen.quantize_generator(layers, "flex16", calib_n=64, autoflex=True)
    assert all(q.out_exp is not None for q in g.layers)
    out, tr = g.run(z, trace=True)
    assert psnr(out, qgen.float_forward(layers, z)) > 40
    assert all("overflows" in t for t in tr)


def test_bad_format(layers):
    with pytest.raises(ValueError, match="format"):
        qgen.quantize_generator(layers, "int99")
    with pytest.raises(ValueError, match="format"):
        qgen.parse_format("float8")


def test_dcgan_layers_rejects_other_state_dicts():
    with pytest.raises(ValueError, match="deconv1"):
        qgen.dcgan_layers({"conv1.weight": np.zeros((1, 1, 3, 3))})
