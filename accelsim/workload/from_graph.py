"""Price a generator graph: ``Graph`` -> ``Workload`` (the layers the simulator maps and costs).

Rules, node by node (nothing is dropped without a rule; an op without one is a ModelError):
* conv2d / conv_transpose2d / linear -> a conv layer with the node's name. A ``pad`` whose only
  consumer is a conv with no padding of its own, with equal pads on both sides, becomes that conv's
  padding (zeros / reflect / replicate); any other pad is a ``pad`` data layer. A linear over a
  token axis (N, T, D) is T rows of D -> D' (``in_hw = (T, 1)``), so its MACs are T x D x D'.
* An activation or normalization whose input comes straight from a layer that feeds nothing else
  is fused into that layer as a post-op (relu, tanh, ..., ``instance_norm``, ``batch_norm``);
  otherwise it is an ``elementwise`` layer of its own.
* add / sub / mul -> an elementwise layer reading one operand per tensor input.
* concat and reshape are free (tensors side by side in DRAM); permute, pixel shuffle, upsample
  (nearest with one integer factor, or any other resize as ``upsample_bilinear``/``output_hw``),
  pad and embedding (one table row read per output position) are streamed data layers.
"""
from __future__ import annotations

import math

from accelsim.errors import ModelError
from accelsim.graph.ir import Graph
from accelsim.graph.ops import ACTIVATIONS
from accelsim.workload.graph import Workload
from accelsim.workload.layer import Layer

FUSABLE = ACTIVATIONS + ("batch_norm", "instance_norm")
FREE = ("concat", "reshape")


def _chw(shape: tuple[int, ...]) -> tuple[int, tuple[int, int]]:
    """(channels, (h, w)) of a value: NCHW as is; (N, D) as D x 1 x 1; (N, T, .., D) as D x (T..) x 1."""
    if len(shape) == 4:
        return shape[1], (shape[2], shape[3])
    if len(shape) == 2:
        return shape[1], (1, 1)
    return shape[-1], (math.prod(shape[1:-1]), 1)


def from_graph(g: Graph, name: str | None = None) -> Workload:
    consumers = g.consumers()
    layers: list[Layer] = []
    index_of: dict[str, int] = {}        # value -> index of the layer whose output it is
    merged_pads: dict[str, tuple] = {}   # pad value -> (source value, (ph, pw), mode)
    inputs: list[tuple[int, ...] | None] = []   # per layer: the layers it reads (Workload.inputs)
    parts: dict[str, tuple[str, ...]] = {}      # a free value (concat, reshape) -> the values it is made of
    graph_inputs = {i.name for i in g.inputs}

    def producers(values) -> tuple[int, ...] | None:
        """The layers (-1: a graph input) whose outputs ``values`` are, through free ops; None if unknown."""
        out: list[int] = []
        for v in values:
            if v in index_of:
                out.append(index_of[v])
            elif v in parts:
                sub = producers(parts[v])
                if sub is None:
                    return None
                out += sub
            elif v in graph_inputs:
                out.append(-1)
            else:
                return None
        return tuple(dict.fromkeys(out))

    def emit(value: str, layer: Layer, reads=None) -> None:
        layers.append(layer)
        inputs.append(None if reads is None else producers(reads))
        index_of[value] = len(layers) - 1

    for n in g.nodes:
        users = consumers[n.name]
        if n.op == "pad":
            t, b, l, r = n.attrs["pads"]
            if (len(users) == 1 and users[0].op == "conv2d" and tuple(users[0].attrs["padding"]) == (0, 0)
                    and t == b and l == r and n.name not in g.outputs):
                merged_pads[n.name] = (n.inputs[0], (t, l), n.attrs["mode"])
                continue
            c, hw = _chw(g.shape_of(n.inputs[0]))
            emit(n.name, Layer(n.name, "pad", c, c, hw, output_hw=n.shape[2:]), n.inputs[:1])
        elif n.op in ("conv2d", "conv_transpose2d"):
            src, padding, mode = n.inputs[0], tuple(n.attrs["padding"]), "zeros"
            if src in merged_pads:
                src, padding, mode = merged_pads[src]
            c, hw = _chw(g.shape_of(src))
            w = n.params["weight"]
            folded = "folded_bn" in n.attrs
            cout = n.shape[1]
            emit(n.name, Layer(n.name, n.op, c, n.shape[1], hw, kernel_hw=tuple(w.shape[2:]),
                               stride_hw=tuple(n.attrs["stride"]), padding_hw=padding,
                               output_padding_hw=tuple(n.attrs.get("output_padding", (0, 0))),
                               dilation_hw=tuple(n.attrs["dilation"]), groups=n.attrs["groups"],
                               bias="bias" in n.params and not folded, bias_folded=folded, padding_mode=mode,
                               norm_params=2 * cout if folded else 0), (src,))   # norm_params: BN's affine
        elif n.op == "linear":
            c, hw = _chw(g.shape_of(n.inputs[0]))
            emit(n.name, Layer(n.name, "linear", c, n.shape[-1], hw, bias="bias" in n.params), n.inputs[:1])
        elif n.op in FUSABLE:
            src = n.inputs[0]
            idx = index_of.get(src)
            if n.op == "identity" and idx is not None:
                index_of[n.name] = idx
            elif idx is not None and layers[idx].is_conv and len(consumers[src]) == 1 and src not in g.outputs:
                from dataclasses import replace
                extra = sum(int(p.size) for p in n.params.values())   # affine norm, PReLU slopes
                layers[idx] = replace(layers[idx], post_ops=layers[idx].post_ops + (n.op,),
                                      norm_params=layers[idx].norm_params + extra)
                index_of[n.name] = idx
            else:
                c, hw = _chw(n.shape)
                emit(n.name, Layer(n.name, "elementwise", c, c, hw), n.inputs[:1])
        elif n.op in ("add", "sub", "mul"):
            c, hw = _chw(n.shape)
            emit(n.name, Layer(n.name, n.op, c, c, hw, operands=len(n.inputs)), n.inputs)
        elif n.op in FREE:
            if n.inputs[0] in index_of and n.op == "reshape":
                index_of[n.name] = index_of[n.inputs[0]]
            else:
                parts[n.name] = tuple(n.inputs)
        elif n.op == "permute":
            c, hw = _chw(n.shape)
            emit(n.name, Layer(n.name, "permute", c, c, hw), n.inputs[:1])
        elif n.op == "pixel_shuffle":
            c, hw = _chw(g.shape_of(n.inputs[0]))
            r = n.attrs["factor"]
            emit(n.name, Layer(n.name, "pixel_shuffle", c, c // (r * r), hw, scale_factor=r), n.inputs[:1])
        elif n.op == "upsample":
            c, (h, w) = _chw(g.shape_of(n.inputs[0]))
            oh, ow = n.attrs["size"]
            if n.attrs["mode"] == "nearest" and oh % h == 0 and ow % w == 0 and oh // h == ow // w:
                emit(n.name, Layer(n.name, "upsample_nearest", c, c, (h, w), scale_factor=oh // h), n.inputs[:1])
            else:
                op = "upsample_bilinear" if n.attrs["mode"] == "bilinear" else "upsample_nearest"
                emit(n.name, Layer(n.name, op, c, c, (h, w), output_hw=(oh, ow)), n.inputs[:1])
        elif n.op == "embedding":
            c, hw = _chw(n.shape)
            emit(n.name, Layer(n.name, "embedding", c, c, hw))
        else:
            raise ModelError(f"node {n.name!r} ({n.op}): no pricing rule")
    if not any(l.is_conv for l in layers):
        raise ModelError(f"graph {g.name!r} has no conv, transposed conv or linear layer to price")
    first = g.inputs[0].shape
    c0, hw0 = _chw(first)
    outs = producers(g.outputs)
    outs = tuple(j for j in outs if j >= 0) if outs is not None else None
    return Workload(name or g.name, tuple(layers), (c0, *hw0), g.source or "accelsim.graph", tuple(inputs),
                    outs or tuple(range(len(layers))))   # unknown outputs: every layer's output leaves


__all__ = ["from_graph"]
