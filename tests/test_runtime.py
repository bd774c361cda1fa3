"""The runtime: every registered format on real generator graphs, C++ kernels == golden model bit for
bit (same code path, only the kernels differ), the fast run == the trace run, quality against float,
calibration cost, errors."""
import pathlib

import numpy as np
import pytest

from accelsim import quality
from accelsim.errors import FormatError, ModelError
from accelsim.graph.reference import LoadedModel
from accelsim.graph.shipped import shipped_graph
from accelsim.runtime import QTensor, quantize

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "generators.py"
FORMATS = ["w8a8", "w4a8", "w4a4", "w2a8", "w1a8", "w1a1", "flex16+5", "fp16", "fp32", "w6a5",
           "w4a4,first=w8a8,last=w8a8"]


@pytest.fixture(scope="module")
def graphs():
    torch = pytest.importorskip("torch")
    from accelsim.graph.from_torch import from_torch
    from accelsim.graph.passes import deploy
    from conftest import load_example_generators
    gens = load_example_generators()
    out = {}
    for name in ("dcgan_tiny", "cdcgan", "cyclegan_tiny", "pix2pix_tiny", "srresnet_tiny", "esrgan_tiny"):
        module, x = getattr(gens, name)()
        out[name] = deploy(from_torch(module, x if isinstance(x, tuple) else (x,), name))
    del torch
    return out


@pytest.mark.torch
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["dcgan_tiny", "cdcgan", "cyclegan_tiny", "pix2pix_tiny", "srresnet_tiny",
                                  "esrgan_tiny"])
def test_cpp_equals_golden_on_every_generator(graphs, name, fmt):
    g = graphs[name]
    lm = LoadedModel(name, g, name)
    q = quantize(g, fmt, lm.example_inputs(8, seed=1234))
    x = lm.example_inputs(2, seed=7)
    out_cpp, env_cpp = q.run(x, trace=True)
    out_ref, env_ref = q.run(x, impl="reference", trace=True)
    assert out_cpp.dtype == np.float64 and np.isfinite(out_cpp).all()
    # the fast run (fused calls, lookup tables, codes in several domains) against the trace run (one
    # op at a time, float64 activations): C++ and golden, bit for bit
    assert q.run(x).tobytes() == out_cpp.tobytes() == q.run(x, impl="reference").tobytes() == out_ref.tobytes()
    # a second fast run takes each MAC node's kernels.ConvRequant made by the first, and a batch it
    # has not seen
    assert q.run(x).tobytes() == out_cpp.tobytes()
    x1 = tuple(a[:1] for a in x) if isinstance(x, tuple) else x[:1]
    assert q.run(x1).tobytes() == q.run(x1, impl="reference").tobytes()
    for k, v in env_cpp.items():
        a, b = (v.codes, env_ref[k].codes) if isinstance(v, QTensor) else (v, env_ref[k])
        assert np.array_equal(a, b), f"{name} {fmt}: value {k!r} differs"
    ref = g.run_float(x)
    assert out_cpp.shape == ref.shape
    if fmt in ("w8a8", "flex16+5", "fp16", "fp32"):
        floor = {"w8a8": 35.0, "flex16+5": 60.0, "fp16": 55.0, "fp32": 120.0}[fmt]
        rng = float(ref.max() - ref.min())
        assert quality.psnr_db(out_cpp, ref, data_range=rng) >= floor


@pytest.mark.torch
def test_residual_adds_of_codes_run_fused(graphs):
    """SRResNet's residual adds (codes of a block + the float64 sum) run as kernels.dequantize_add, those
    whose float64 input is the previous block's sum into that array (its other reader, the next
    block's conv, took its codes when it was made), the sums' codes made in the same pass: outputs
    equal the golden model's and the unfused run's, byte for byte."""
    from accelsim import kernels as K
    g = graphs["srresnet_tiny"]
    lm = LoadedModel("s", g, "s")
    q = quantize(g, "w8a8", lm.example_inputs(4, seed=3))
    x = lm.example_inputs(2, seed=4)
    calls = []

    class Spy:
        def __getattr__(self, name):
            f = getattr(K, name)
            if name != "dequantize_add":
                return f
            return lambda *a, **k: calls.append((k.get("into_residual"), k.get("out") is not None)) or f(*a, **k)

    class NoFused:
        def __getattr__(self, name):
            if name == "dequantize_add":
                raise AttributeError(name)
            return getattr(K, name)
    got = q.run(x, impl=Spy())
    assert got.tobytes() == q.run(x, impl="reference").tobytes() == q.run(x, impl=NoFused()).tobytes()
    adds = [n for n in g.nodes if n.op == "add"]
    made_by = {n.name: n.op for n in g.nodes}
    chained = [n for n in adds if any(made_by.get(i) == "add" for i in n.inputs)]   # blocks 2.. of the body
    assert len(calls) == len(adds) >= 4 and all(out for _, out in calls)
    assert sum(into for into, _ in calls) == len(chained) >= 2


@pytest.mark.torch
def test_integer_chain_never_leaves_integers(graphs):
    """Consecutive MAC nodes pass codes: a DCGAN's convs read QTensors with their own qparams, and a
    ReLU after a conv is fused into the requantization clamp."""
    g = graphs["dcgan_tiny"]
    lm = LoadedModel("d", g, "d")
    q = quantize(g, "w8a8", lm.example_inputs(8, seed=1))
    fused = [p for p in q.plans.values() if p.act == "relu"]
    assert len(fused) == len(g.mac_nodes) - 1
    _, env = q.run(lm.example_inputs(1), trace=True)
    assert all(isinstance(env[p.node], QTensor) for p in q.plans.values())
    for p in list(q.plans.values())[1:]:
        src = env[g.node(p.node).inputs[0]]
        assert isinstance(src, QTensor) and (src.scale, src.zero_point) == (p.x_scale, p.x_zero_point)


def test_shipped_dcgan_w8a8_close_to_float():
    g = shipped_graph("dcgan-digits")
    lm = LoadedModel("dcgan-digits", g, "shipped")
    q = quantize(g, "int8", lm.example_inputs(64, seed=1234))     # an alias resolves to w8a8
    assert {p.fmt.name for p in q.plans.values()} == {"w8a8"}
    x = lm.example_inputs(16)
    assert quality.psnr_db(q.run(x), g.run_float(x)) > 35


def test_mixed_precision_and_errors():
    g = shipped_graph("dcgan-digits")
    calib = LoadedModel("d", g, "s").example_inputs(4, seed=1)
    q = quantize(g, "w4a8,first=w8a8,deconv3=w2a8", calib)
    assert q.format_names == {"deconv1": "w8a8", "deconv2": "w4a8", "deconv3": "w2a8", "deconv4": "w4a8"}
    with pytest.raises(FormatError, match="no layer 'deconv9'"):
        quantize(g, "w4a8,deconv9=w8a8", calib)
    with pytest.raises(FormatError, match="unknown format w9a0|activation bits"):
        quantize(g, "w9a0", calib)
    with pytest.raises(FormatError, match="binary activations need binary weights"):
        quantize(g, "w8a1", calib)
    with pytest.raises(ModelError, match=r"expected shape \(N, 64, 1, 1\)"):
        q.run(np.zeros((1, 3, 1, 1)))
    with pytest.raises(ModelError, match="NaN"):
        q.run(np.full((1, 64, 1, 1), np.inf))
