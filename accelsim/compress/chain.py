"""``CompressedGenerator``: a generator in deploy form (BatchNorm folded into every convolution's
weight and bias) plus, for every layer, how its weight tensor is stored (``TensorEncoding``).

Every compression in this package maps a ``CompressedGenerator`` to another one, so they compose in
any order. ``weights`` always hold the float values the compressed generator computes with
(dequantized codes, shared centroids, zeros where pruned); ``fmt`` names the numeric format the
kernels should execute it in (``fp32`` unless a precision step set it; a format of
``accelsim.formats.registry``, run by ``accelsim.runtime`` on ``to_graph()``).

Sizes: ``weight_bits`` sums the exact encoded size of every conv weight tensor (codes, sparse
index, scales/codebooks, Huffman tables; see ``storage.py``). ``bias_bits`` counts the folded
biases (32 bits per output channel, float32 or the kernels' int32). ``size_bits = weight_bits +
bias_bits``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from accelsim.compress.storage import FLOAT_BITS, TensorEncoding, float32_encoding
from accelsim.errors import ModelError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "none")


@dataclass(frozen=True)
class Layer:
    """One convolution of the deploy-form chain (torch weight layout, float64, BN folded)."""

    name: str
    transposed: bool
    stride: int
    padding: int
    act: str
    weight: np.ndarray = field(repr=False, compare=False)
    bias: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.act not in ACTIVATIONS:
            raise ModelError(f"act must be one of {ACTIVATIONS}, got {self.act!r}")
        if self.weight.ndim != 4:
            raise ModelError(f"{self.name}: weight must be 4-D, got shape {self.weight.shape}")

    @property
    def in_channels(self) -> int:
        return self.weight.shape[0] if self.transposed else self.weight.shape[1]

    @property
    def out_channels(self) -> int:
        return self.weight.shape[1] if self.transposed else self.weight.shape[0]

    @property
    def out_axis(self) -> int:
        """Axis of the output channel in the weight tensor."""
        return 1 if self.transposed else 0


@dataclass(frozen=True)
class CompressedGenerator:
    model: str                                  # base model name, e.g. "dcgan-digits"
    layers: tuple[Layer, ...]
    encodings: dict[str, TensorEncoding]        # layer name -> storage of its weight
    steps: tuple[str, ...] = ()                 # compression steps applied, in order
    fmt: str = "fp32"                           # format (or per-layer assignment) to run in

    FORWARD_CHUNK = 256                         # images per chunk in ``forward``

    @property
    def name(self) -> str:
        return "+".join(self.steps) if self.steps else "fp32"

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; layers: {[l.name for l in self.layers]}")

    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def weight_count(self) -> int:
        return sum(layer.weight.size for layer in self.layers)

    def weight_bits(self) -> int:
        return sum(self.encodings[layer.name].size_bits() for layer in self.layers)

    def bias_bits(self) -> int:
        return sum(FLOAT_BITS * layer.bias.size for layer in self.layers if layer.bias is not None)

    def size_bits(self) -> int:
        return self.weight_bits() + self.bias_bits()

    def density(self) -> float:
        """Fraction of conv weights kept by pruning."""
        kept = sum(self.encodings[l.name].density * l.weight.size for l in self.layers)
        return kept / self.weight_count()

    def with_layers(self, layers, encodings=None, step: str | None = None, fmt: str | None = None) -> "CompressedGenerator":
        """A copy with new layers/encodings; ``step`` is appended to the history."""
        layers = tuple(layers)
        enc = dict(self.encodings if encodings is None else encodings)
        for layer in layers:
            if layer.name not in enc or enc[layer.name].shape != layer.weight.shape:
                enc[layer.name] = float32_encoding(layer.weight)
        enc = {l.name: enc[l.name] for l in layers}
        return replace(self, layers=layers, encodings=enc, steps=self.steps + ((step,) if step else ()),
                       fmt=self.fmt if fmt is None else fmt)

    def replace_layer(self, name: str, *, weight=None, bias=None, encoding: TensorEncoding | None = None):
        """(new layer, new encodings) with one layer's weight/bias/encoding changed (helper)."""
        layer = self.layer(name)
        new = replace(layer, weight=layer.weight if weight is None else np.asarray(weight, np.float64),
                      bias=layer.bias if bias is None else np.asarray(bias, np.float64))
        enc = dict(self.encodings)
        if encoding is not None:
            enc[name] = encoding
        return new, enc

    def summary(self) -> dict:
        """Sizes and per-layer storage, JSON-ready."""
        return {"name": self.name, "model": self.model, "fmt": self.fmt, "weight_bits": self.weight_bits(),
                "bias_bits": self.bias_bits(), "size_bits": self.size_bits(), "weights": self.weight_count(),
                "density": round(self.density(), 6),
                "layers": [{"name": l.name, "shape": list(l.weight.shape), "value_kind": self.encodings[l.name].value_kind,
                            "sparse_format": self.encodings[l.name].sparse_format,
                            "entropy": self.encodings[l.name].entropy,
                            "density": round(self.encodings[l.name].density, 6),
                            **self.encodings[l.name].breakdown_bits()} for l in self.layers]}

    # ---- execution ----------------------------------------------------------------------------
    def forward(self, x, dtype=np.float64) -> np.ndarray:
        """Float forward pass in ``dtype`` (float64 by default; float32 is what an fp32 generator
        computes): BLAS convolutions of ``accelsim.formats.fastconv``, equal to the golden
        ``accelsim.formats.conv`` to rounding."""
        from accelsim.formats.conv import ConvSpec
        from accelsim.formats.fastconv import convolve_gemm as convolve
        acts = {"relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh,
                "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "none": lambda v: v}
        x = np.asarray(x, dtype)
        specs = [ConvSpec.make(stride=l.stride, padding=l.padding, transposed=l.transposed) for l in self.layers]
        weights = [l.weight.astype(dtype, copy=False) for l in self.layers]
        biases = [None if l.bias is None else l.bias.astype(dtype, copy=False).reshape(1, -1, 1, 1)
                  for l in self.layers]
        outs = []
        for start in range(0, max(1, x.shape[0]), self.FORWARD_CHUNK):   # chunks stay in cache
            y = x[start:start + self.FORWARD_CHUNK]
            for layer, spec, w, b in zip(self.layers, specs, weights, biases):
                y = convolve(y, w, spec)
                if b is not None:
                    y = y + b
                y = acts[layer.act](y)
            outs.append(y)
        return np.concatenate(outs)

    def to_graph(self, input_chw: tuple[int, int, int]):
        """The deploy-form generator as an ``accelsim.graph`` Graph (one conv node and one activation
        node per layer) with input ``(1, *input_chw)``: what ``accelsim.runtime`` runs in a format."""
        from accelsim.graph.shipped import chain_graph
        weights = {f"{l.name}.weight": l.weight for l in self.layers}
        weights.update({f"{l.name}.bias": l.bias for l in self.layers if l.bias is not None})
        return chain_graph(self.name, [(l.name, l.transposed, l.stride, l.padding, l.act) for l in self.layers],
                           weights, (1, *input_chw), f"accelsim.compress {self.model} {self.name}")


def _square(node, key: str, default) -> int:
    v = tuple(node.attrs.get(key, default))
    if len(set(v)) != 1:
        raise ModelError(f"node {node.name!r}: compressions take square {key}, got {v}")
    return int(v[0])


def from_graph(model: str, graph) -> CompressedGenerator:
    """Deploy form of a generator graph that is a chain of convolutions / transposed convolutions, each
    optionally followed by one activation (relu, tanh, sigmoid), BatchNorm folded (``passes.deploy``):
    the shipped generators, a distilled student, a user's DCGAN-like chain. Anything else is an error
    naming the node."""
    from accelsim.graph.passes import deploy
    g = deploy(graph)
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise ModelError(f"{model}: compressions take a one-input, one-output chain of convolutions")
    layers: list[Layer] = []
    prev = g.inputs[0].name
    for n in g.nodes:
        if n.inputs != (prev,):
            raise ModelError(f"{model}: node {n.name!r} ({n.op}) does not read the previous node only: "
                             f"compressions take a chain of convolutions")
        if n.op in ("conv2d", "conv_transpose2d"):
            if n.attrs.get("groups", 1) != 1 or _square(n, "dilation", (1, 1)) != 1 or \
                    any(n.attrs.get("output_padding", (0, 0))):
                raise ModelError(f"{model}: node {n.name!r}: compressions take convolutions without groups, "
                                 f"dilation or output_padding")
            bias = n.params.get("bias")
            layers.append(Layer(n.name, n.op == "conv_transpose2d", _square(n, "stride", (1, 1)),
                                _square(n, "padding", (0, 0)), "none", np.asarray(n.params["weight"], np.float64),
                                None if bias is None else np.asarray(bias, np.float64)))
        elif n.op in ACTIVATIONS and n.op != "none" and layers and layers[-1].act == "none" and prev == layers[-1].name:
            layers[-1] = replace(layers[-1], act=n.op)
        else:
            raise ModelError(f"{model}: node {n.name!r} ({n.op}) is not a convolution or the activation right "
                             f"after one: compressions take a chain of convolutions")
        prev = n.name
    if not layers or prev != g.outputs[0]:
        raise ModelError(f"{model}: compressions take a chain of convolutions ending at the graph's output")
    return CompressedGenerator(model, tuple(layers), {l.name: float32_encoding(l.weight) for l in layers})


def from_weights(model: str, weights: dict[str, np.ndarray]) -> CompressedGenerator:
    """Deploy form of a state dict of registry model ``model`` (e.g. a distilled student's)."""
    from accelsim.graph.shipped import weights_graph
    return from_graph(model, weights_graph(model, weights))


def from_model(model: str) -> CompressedGenerator:
    """Deploy form of a shipped generator: ``from_model("dcgan-digits")``."""
    from accelsim.graph.shipped import shipped_graph
    return from_graph(model, shipped_graph(model))
