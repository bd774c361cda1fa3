"""The generator graph: torch import (torch.export) of real generators, float semantics equal to torch,
passes, and errors that name the node."""
import pathlib

import numpy as np
import pytest

from accelsim.errors import ModelError
from accelsim.graph import Graph, Input, Node
from accelsim.graph.passes import deploy

torch = pytest.importorskip("torch")
EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "generators.py"
TINY = ["dcgan_tiny", "cdcgan", "cyclegan_tiny", "pix2pix_tiny", "srresnet_tiny", "esrgan_tiny"]


# the `gens` fixture (tests/conftest.py) loads examples/generators.py


@pytest.mark.torch
@pytest.mark.parametrize("factory", TINY)
def test_import_runs_like_torch(gens, factory):
    from accelsim.graph.from_torch import from_torch
    module, x = getattr(gens, factory)()
    xs = x if isinstance(x, tuple) else (x,)
    g = from_torch(module, xs, factory)
    d = deploy(g)
    with torch.no_grad():
        ref = module(*xs).double().numpy()
    inputs = tuple(t.numpy() for t in xs)
    for graph in (g, d):
        out = graph.run_float(inputs)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=2e-5, rtol=0)
    assert len(d.mac_nodes) == len(g.mac_nodes) and not any(n.op in ("batch_norm", "identity") for n in d.nodes
                                                             if n.inputs and g.node(n.name).op != "batch_norm")


@pytest.mark.torch
def test_pytorch_examples_dcgan_verbatim_imports(gens):
    """The ngpu / is_cuda branch that torch.fx cannot trace is specialised away by torch.export."""
    from accelsim.graph.from_torch import from_torch
    module, x = gens.dcgan()
    g = deploy(from_torch(module, x, "dcgan"))
    assert [n.op for n in g.mac_nodes] == ["conv_transpose2d"] * 5
    assert g.nodes[-1].op == "tanh" and g.nodes[-1].shape == (1, 3, 64, 64)
    conv_weights = sum(p.numel() for n, p in module.named_parameters() if n.endswith("weight") and p.ndim == 4)
    assert g.params == conv_weights + 512 + 256 + 128 + 64     # BatchNorm folded: one bias per channel
    assert g.node("main.0").attrs["folded_bn"] == "main.1"


@pytest.mark.torch
def test_conditional_two_inputs_and_embedding(gens):
    from accelsim.graph.from_torch import from_torch
    module, (z, y) = gens.cdcgan()
    g = from_torch(module, (z, y), "cdcgan")
    assert [i.dtype for i in g.inputs] == ["float", "int"]
    assert g.nodes[0].op == "embedding"
    with pytest.raises(ModelError, match="index out of range"):
        g.run_float((z.numpy(), np.array([10])))
    with pytest.raises(ModelError, match="expected integers"):
        g.run_float((z.numpy(), np.array([1.5])))


@pytest.mark.torch
@pytest.mark.parametrize("body, match", [
    ("return x.mean(dim=1, keepdim=True)", r"node 'mean' \(aten.mean.dim\): operation not supported"),
    ("return torch.softmax(self.c(x), 1)", r"node '_softmax'|node 'softmax'"),
    ("return self.c(x).view(-1, 4)", "changes the batch axis"),
])
def test_unsupported_ops_name_the_node(body, match):
    from accelsim.graph.from_torch import from_torch
    ns = {"torch": torch, "nn": torch.nn}
    exec("class M(nn.Module):\n    def __init__(self):\n        super().__init__(); self.c = nn.Conv2d(4, 4, 3, padding=1)\n"
         f"    def forward(self, x):\n        {body}\n", ns)
    with pytest.raises(ModelError, match=match):
        from_torch(ns["M"](), torch.zeros(1, 4, 8, 8), "m")


@pytest.mark.torch
def test_same_padding_pad_anywhere_sub_and_bilinear():
    from accelsim.graph.from_torch import from_torch
    F = torch.nn.functional

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 4, 4, padding="same")        # even kernel: asymmetric 'same'
            self.b = torch.nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")

        def forward(self, x):
            y = self.a(x)
            y = F.pad(y, (1, 2, 0, 1), mode="replicate") * 0.2 - 1.0   # a pad not before a conv
            y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
            return self.b(y) - F.interpolate(y, scale_factor=1, mode="nearest")

    m = M().eval()
    x = torch.randn(2, 3, 9, 7)
    g = from_torch(m, x, "m")
    with torch.no_grad():
        ref = m(x).double().numpy()
    np.testing.assert_allclose(g.run_float(x.numpy()), ref, atol=1e-5)
    assert {"pad", "sub", "mul", "upsample"} <= {n.op for n in g.nodes}


def test_graph_validation_names_the_node():
    w = np.zeros((4, 3, 3, 3))
    with pytest.raises(ModelError, match="node 'c' .*input has 2 channels"):
        Graph("g", (Input("x", (1, 2, 8, 8)),), (Node("c", "conv2d", ("x",), {"stride": (1, 1), "padding": (1, 1),
                                                                              "dilation": (1, 1), "groups": 1},
                                                       {"weight": w}),), ("c",))
    with pytest.raises(ModelError, match="reads 'y', which is not defined"):
        Graph("g", (Input("x", (1, 3, 8, 8)),), (Node("r", "relu", ("y",)),), ("r",))
    with pytest.raises(ModelError, match="unknown op 'softmax'"):
        Graph("g", (Input("x", (1, 3, 8, 8)),), (Node("s", "softmax", ("x",)),), ("s",))
    g = Graph("g", (Input("x", (1, 3, 8, 8)),), (Node("r", "relu", ("x",)),), ("r",))
    with pytest.raises(ModelError, match=r"input 'x': expected shape \(N, 3, 8, 8\)"):
        g.run_float(np.zeros((1, 3, 8, 9)))
    with pytest.raises(ModelError, match="NaN"):
        g.run_float(np.full((1, 3, 8, 8), np.nan))


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 0.5, 1.0, -0.3, 1.7])
def test_leaky_relu_is_where_to_the_bit(slope):
    """The float64 leaky ReLU (graph.ops.activation) equals where(x >= 0, x, slope * x) bit for bit,
    signed zeros, subnormals, infinities and NaN included, for any slope."""
    from accelsim.graph.ops import activation
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=5000) * 10.0 ** rng.integers(-300, 300, 5000),
                        [0.0, -0.0, 5e-324, -5e-324, np.inf, -np.inf, np.nan, 1.0, -1.0]])
    with np.errstate(invalid="ignore"):      # inf * 0
        want = np.where(x >= 0, x, x * slope)
        got = activation("leaky_relu", x, {"slope": slope}, {})
    assert got.tobytes() == want.tobytes()
