"""Build a Workload from a torch ``nn.Module`` with torch.fx (torch is imported here only).

Supported: Conv2d, ConvTranspose2d, Linear (-> layers); BatchNorm folded into the producing conv
(its affine parameters counted, a folded bias on hardware); InstanceNorm (affine parameters counted,
kept as a post-op); Reflection/Replication/Zero padding merged into the following conv;
Upsample/interpolate (nearest, integer factor), PixelShuffle, residual ``+`` (-> elementwise
layers); activations, dropout, view/reshape/flatten/cat/clamp are free. Anything else raises
ValueError naming the node.
"""
from __future__ import annotations

import operator

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from accelsim.workload.graph import Workload
from accelsim.workload.layer import Layer

_FREE_MODULES = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Dropout, nn.Identity, nn.ELU, nn.SiLU,
                 nn.GELU, nn.Hardtanh, nn.Flatten, nn.Unflatten, nn.Softplus)
_FREE_FUNCS = {torch.relu, torch.tanh, torch.sigmoid, torch.flatten, torch.cat, torch.clamp, torch.reshape,
               nn.functional.relu, nn.functional.leaky_relu, nn.functional.tanh, nn.functional.sigmoid,
               nn.functional.dropout, operator.getitem}
_FREE_METHODS = {"view", "reshape", "flatten", "clamp", "clamp_", "contiguous", "relu", "tanh", "sigmoid",
                 "size", "unsqueeze", "squeeze", "permute", "transpose", "chunk"}


def _shape(node) -> tuple:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        raise ValueError(f"node {node.name!r}: no tensor shape (tuple outputs are not supported)")
    return tuple(meta.shape)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def from_torch(module: nn.Module, input_shape, name: str | None = None) -> Workload:
    input_shape = tuple(input_shape)
    gm = fx.symbolic_trace(module)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros(input_shape))
    finally:
        module.train(was_training)
    mods = dict(gm.named_modules())
    layers: list[Layer] = []
    produced_by: dict = {}     # fx node -> index of the layer producing it
    pads: dict = {}            # fx node -> (pad node input, (ph, pw), mode)

    def emit(node, layer: Layer):
        layers.append(layer)
        produced_by[node] = len(layers) - 1

    def producer(node, what):
        src = node.args[0]
        while src not in produced_by and src.op in ("call_module", "call_function", "call_method") \
                and src not in pads and src.args and isinstance(src.args[0], fx.Node) and _is_free(src):
            src = src.args[0]
        if src not in produced_by:
            raise ValueError(f"node {node.name!r}: {what} must follow a conv/linear layer")
        return produced_by[src]

    def _is_free(n):
        if n.op == "call_module":
            return isinstance(mods[n.target], _FREE_MODULES)
        if n.op == "call_function":
            return n.target in _FREE_FUNCS
        return n.op == "call_method" and n.target in _FREE_METHODS

    def update(idx, **kw):
        from dataclasses import replace
        layers[idx] = replace(layers[idx], **kw)

    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        lname = node.name
        if node.op == "call_module":
            m = mods[node.target]
            lname = str(node.target).replace(".", "_")
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                src = node.args[0]
                padding, mode = _pair(m.padding), m.padding_mode
                if src in pads:
                    src, extra, mode = pads[src]
                    if any(padding):
                        raise ValueError(f"node {node.name!r}: explicit pad followed by a padded conv")
                    padding = extra
                if mode not in ("zeros", "reflect", "replicate"):
                    raise ValueError(f"node {node.name!r}: padding_mode {mode!r} not supported")
                if isinstance(padding[0], str):
                    raise ValueError(f"node {node.name!r}: string padding not supported")
                n, _, h, w = _shape(src)
                transposed = isinstance(m, nn.ConvTranspose2d)
                emit(node, Layer(lname, "conv_transpose2d" if transposed else "conv2d", m.in_channels,
                                 m.out_channels, (h, w), kernel_hw=_pair(m.kernel_size), stride_hw=_pair(m.stride),
                                 padding_hw=padding, dilation_hw=_pair(m.dilation),
                                 output_padding_hw=_pair(m.output_padding) if transposed else (0, 0),
                                 groups=m.groups, batch=n, bias=m.bias is not None, padding_mode=mode))
            elif isinstance(m, nn.Linear):
                shape = _shape(node.args[0])
                batch = 1
                for d in shape[:-1]:
                    batch *= d
                emit(node, Layer(lname, "linear", m.in_features, m.out_features, (1, 1), batch=batch,
                                 bias=m.bias is not None))
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                idx = producer(node, "BatchNorm")
                update(idx, bias_folded=True, norm_params=layers[idx].norm_params + (2 * m.num_features if m.affine else 0))
                produced_by[node] = idx
            elif isinstance(m, (nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)):
                idx = producer(node, type(m).__name__)
                affine = getattr(m, "affine", False) or getattr(m, "elementwise_affine", False)
                extra = sum(p.numel() for p in m.parameters()) if affine else 0
                update(idx, norm_params=layers[idx].norm_params + extra,
                       post_ops=layers[idx].post_ops + ("instance_norm",))
                produced_by[node] = idx
            elif isinstance(m, (nn.ReflectionPad2d, nn.ReplicationPad2d, nn.ZeroPad2d)):
                l, r, t, b = m.padding if isinstance(m.padding, tuple) else (m.padding,) * 4
                if l != r or t != b:
                    raise ValueError(f"node {node.name!r}: asymmetric padding not supported")
                mode = {nn.ReflectionPad2d: "reflect", nn.ReplicationPad2d: "replicate"}.get(type(m), "zeros")
                pads[node] = (node.args[0], (t, l), mode)
            elif isinstance(m, nn.Upsample):
                _upsample(node, m.mode, lname, emit)
            elif isinstance(m, nn.PixelShuffle):
                n, c, h, w = _shape(node.args[0])
                r = m.upscale_factor
                emit(node, Layer(lname, "pixel_shuffle", c, c // (r * r), (h, w), batch=n, scale_factor=r))
            elif isinstance(m, nn.PReLU):
                idx = producer(node, "PReLU")
                update(idx, norm_params=layers[idx].norm_params + m.weight.numel())
                produced_by[node] = idx
            elif isinstance(m, _FREE_MODULES):
                _pass_through(node, produced_by)
            else:
                raise ValueError(f"node {node.name!r}: module {type(m).__name__} is not supported")
        elif node.op == "call_function" and node.target in (operator.add, torch.add) or \
                node.op == "call_method" and node.target == "add":
            tensors = [a for a in node.args if isinstance(a, fx.Node)]
            if len(tensors) == 2:
                n, c, h, w = _shape(node)
                emit(node, Layer(lname, "add", c, c, (h, w), batch=n))
            else:
                _pass_through(node, produced_by)
        elif node.op == "call_function" and node.target is nn.functional.interpolate:
            _upsample(node, node.kwargs.get("mode", "nearest"), lname, emit)
        elif node.op == "call_function" and node.target is nn.functional.pixel_shuffle:
            n, c, h, w = _shape(node.args[0])
            r = node.args[1] if len(node.args) > 1 else node.kwargs["upscale_factor"]
            emit(node, Layer(lname, "pixel_shuffle", c, c // (r * r), (h, w), batch=n, scale_factor=r))
        elif (node.op == "call_function" and node.target in _FREE_FUNCS) or \
                (node.op == "call_method" and node.target in _FREE_METHODS):
            _pass_through(node, produced_by)
        else:
            raise ValueError(f"node {node.name!r}: {node.op} {node.target} is not supported")
    if not layers:
        raise ValueError("the module has no supported layers")
    c_in = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    hw = input_shape[2:4] if len(input_shape) == 4 else (1, 1)
    return Workload(name or type(module).__name__, tuple(layers), (c_in, *hw), "torch.fx import")


def _pass_through(node, produced_by):
    src = node.args[0] if node.args and isinstance(node.args[0], fx.Node) else None
    if src is not None and src in produced_by:
        produced_by[node] = produced_by[src]


def _upsample(node, mode, lname, emit):
    if mode != "nearest":
        raise ValueError(f"node {node.name!r}: only nearest upsampling is supported, got {mode!r}")
    n, c, h, w = _shape(node.args[0])
    _, _, ho, wo = _shape(node)
    if ho % h or wo % w or ho // h != wo // w:
        raise ValueError(f"node {node.name!r}: upsampling must be by one integer factor")
    emit(node, Layer(lname, "upsample_nearest", c, c, (h, w), batch=n, scale_factor=ho // h))
