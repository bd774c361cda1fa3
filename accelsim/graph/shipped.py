"""The shipped models as generator graphs.

Generators with shipped weights (``accelsim.models.registry.GENERATORS``) are built from their
weights, torch-free: each layer of the chain (``accelsim.models.chains``) becomes a conv node, a
batch_norm node and an activation node, and ``passes.deploy`` folds the BatchNorm. The published
shapes of ``accelsim.workload.zoo`` have no weights and are not graphs: ``accelsim.workload.models``
resolves those names for pricing.
"""
from __future__ import annotations

from accelsim.errors import ModelError
from accelsim.graph.ir import Graph, Input, Node
from accelsim.graph.passes import deploy

SR_INPUT_HW = (32, 32)     # the shipped sr-x4 evaluation crop: 32x32 LR -> 128x128 HR


def chain_graph(name: str, chain: list[dict], input_shape: tuple[int, ...], origin: str) -> Graph:
    """A graph from a layer chain (dicts with name, transposed, stride, padding, act, weight, bias, bn)."""
    nodes, prev = [], "x"
    for layer in chain:
        attrs = {"stride": (layer["stride"],) * 2, "padding": (layer["padding"],) * 2, "dilation": (1, 1),
                 "groups": 1}
        if layer["transposed"]:
            attrs["output_padding"] = (0, 0)
        params = {"weight": layer["weight"]}
        if layer.get("bias") is not None:
            params["bias"] = layer["bias"]
        op = "conv_transpose2d" if layer["transposed"] else "conv2d"
        nodes.append(Node(layer["name"], op, (prev,), attrs, params, source=origin))
        prev = layer["name"]
        if layer.get("bn") is not None:
            g, b, mean, var, eps = layer["bn"]
            nodes.append(Node(f"{layer['name']}.bn", "batch_norm", (prev,), {"eps": float(eps)},
                              {"weight": g, "bias": b, "running_mean": mean, "running_var": var}, source=origin))
            prev = nodes[-1].name
        if layer["act"] != "none":
            nodes.append(Node(f"{layer['name']}.{layer['act']}", layer["act"], (prev,), source=origin))
            prev = nodes[-1].name
    return Graph(name, (Input("x", input_shape),), tuple(nodes), (prev,), origin)


def shipped_graph(name: str) -> Graph:
    """The deploy-form graph of a generator with shipped weights."""
    from accelsim.models import chains, registry
    if name not in registry.GENERATORS:
        raise ModelError(f"no shipped weights for {name!r}; shipped generators: {', '.join(registry.GENERATORS)}")
    chain = chains.layer_chain(name, registry.load_weights(name))
    first = chain[0]["weight"]
    shape = (1, first.shape[1], *SR_INPUT_HW) if name == "sr-x4" else (1, first.shape[0], 1, 1)
    return deploy(chain_graph(name, chain, shape, f"shipped weights {registry.weights_path(name)}"))
