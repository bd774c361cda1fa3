"""The shipped generators as generator graphs, built from their weights, torch-free.

``weights_graph(name, weights)`` reads the structure from a state dict (the same keys the torch
modules in ``accelsim.models`` use): each layer becomes a conv node, a batch_norm node when the
state dict has one, and an activation node; ``passes.deploy`` folds the BatchNorm.

* ``dcgan-*``: deconv1 (stride 1, pad 0), deconv2.. (stride 2, pad 1), BN + ReLU, tanh on the last
  (``accelsim.models.dcgan``; any channel widths, e.g. a distilled student's).
* ``sr-x4``: the FSRCNN-layout chain of ``accelsim.models.sr`` (``SR_LAYERS``).

The published shapes of ``accelsim.workload.zoo`` have no weights and are not graphs:
``accelsim.workload.models`` resolves those names for pricing.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import ModelError
from accelsim.graph.ir import Graph, Input, Node
from accelsim.graph.passes import deploy

SR_INPUT_HW = (32, 32)     # the shipped sr-x4 evaluation crop: 32x32 LR -> 128x128 HR
BN_EPS = 1e-5              # torch.nn.BatchNorm2d's default, as the shipped DCGANs were trained

# sr-x4 (accelsim.models.sr): (name, transposed, stride, padding, activation) in order.
SR_LAYERS = (
    ("conv1", False, 1, 2, "relu"),     # 5x5 feature extraction
    ("conv2", False, 1, 0, "relu"),     # 1x1 shrink
    ("conv3", False, 1, 1, "relu"),     # 3x3 mapping
    ("conv4", False, 1, 1, "relu"),
    ("conv5", False, 1, 1, "relu"),
    ("conv6", False, 1, 1, "relu"),
    ("conv7", False, 1, 0, "relu"),     # 1x1 expand
    ("deconv", True, 4, 2, "none"),     # 8x8 stride 4: x4 upsampling
)


def _array(weights: dict, key: str, model: str) -> np.ndarray:
    if key not in weights:
        raise ModelError(f"{model}: the state dict has no {key!r}")
    a = np.asarray(weights[key], np.float64)
    if not np.isfinite(a).all():
        raise ModelError(f"{model}: {key} contains NaN or inf")
    return a


class _Builder:
    """Appends conv (+ batch norm) (+ activation) layers to a chain of nodes."""

    def __init__(self, model: str, weights: dict, origin: str):
        self.model, self.weights, self.origin = model, weights, origin
        self.nodes: list[Node] = []
        self.prev = "x"

    def layer(self, name: str, transposed: bool, stride: int, padding: int, act: str, bn: str | None = None):
        w = _array(self.weights, f"{name}.weight", self.model)
        if w.ndim != 4:
            raise ModelError(f"{self.model}: {name}.weight must be 4-D, got shape {w.shape}")
        attrs = {"stride": (stride,) * 2, "padding": (padding,) * 2, "dilation": (1, 1), "groups": 1}
        if transposed:
            attrs["output_padding"] = (0, 0)
        params = {"weight": w}
        if f"{name}.bias" in self.weights:
            params["bias"] = _array(self.weights, f"{name}.bias", self.model)
        self._add(Node(name, "conv_transpose2d" if transposed else "conv2d", (self.prev,), attrs, params,
                       source=self.origin))
        if bn is not None and f"{bn}.weight" in self.weights:
            self._add(Node(f"{name}.bn", "batch_norm", (self.prev,), {"eps": BN_EPS},
                           {k: _array(self.weights, f"{bn}.{k}", self.model)
                            for k in ("weight", "bias", "running_mean", "running_var")}, source=self.origin))
        if act != "none":
            self._add(Node(f"{name}.{act}", act, (self.prev,), source=self.origin))

    def _add(self, node: Node) -> None:
        self.nodes.append(node)
        self.prev = node.name

    def graph(self, input_shape: tuple[int, ...]) -> Graph:
        return Graph(self.model, (Input("x", input_shape),), tuple(self.nodes), (self.prev,), self.origin)


def dcgan_graph(model: str, weights: dict, origin: str = "state dict") -> Graph:
    """A DCGAN generator (deconvN.weight, bnN.*) of any widths, BatchNorm not yet folded."""
    count = 0
    while f"deconv{count + 1}.weight" in weights:
        count += 1
    if count == 0:
        raise ModelError(f"{model}: not a DCGAN generator state dict: no deconv1.weight")
    b = _Builder(model, weights, origin)
    for i in range(1, count + 1):
        b.layer(f"deconv{i}", True, 1 if i == 1 else 2, 0 if i == 1 else 1, "tanh" if i == count else "relu",
                bn=f"bn{i}")
    return b.graph((1, np.shape(weights["deconv1.weight"])[0], 1, 1))


def chain_graph(model: str, layers, weights: dict, input_shape: tuple[int, ...], origin: str = "state dict") -> Graph:
    """A chain of convolutions ``layers`` = (name, transposed, stride, padding, activation), each with
    ``name.weight`` (and ``name.bias`` when present) in ``weights``, each followed by its activation."""
    b = _Builder(model, weights, origin)
    for name, transposed, stride, padding, act in layers:
        b.layer(name, transposed, stride, padding, act)
    return b.graph(input_shape)


def sr_graph(model: str, weights: dict, origin: str = "state dict") -> Graph:
    """The sr-x4 chain (``SR_LAYERS``) on a ``SR_INPUT_HW`` RGB crop."""
    first = _array(weights, "conv1.weight", model)
    return chain_graph(model, SR_LAYERS, weights, (1, first.shape[1], *SR_INPUT_HW), origin)


def weights_graph(model: str, weights: dict, origin: str = "state dict") -> Graph:
    """The deploy-form graph (BatchNorm folded) of registry model ``model`` with these weights."""
    if model.startswith("dcgan-") and not model.endswith("-disc"):
        return deploy(dcgan_graph(model, weights, origin))
    if model == "sr-x4":
        return deploy(sr_graph(model, weights, origin))
    raise ModelError(f"no generator graph for model {model!r} (shipped generators: dcgan-*, sr-x4)")


def shipped_graph(name: str) -> Graph:
    """The deploy-form graph of a generator with shipped weights."""
    from accelsim.models import registry
    if name not in registry.GENERATORS:
        raise ModelError(f"no shipped weights for {name!r}; shipped generators: {', '.join(registry.GENERATORS)}")
    return weights_graph(name, registry.load_weights(name), f"shipped weights {registry.weights_path(name)}")
