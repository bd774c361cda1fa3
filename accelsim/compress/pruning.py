"""Pruning: magnitude (unstructured or in groups) and channel (structured).

* ``prune``: in every selected layer keep exactly ``n - round(sparsity * n)`` weights of largest
  magnitude (``scope="layer"``), or rank all selected weights together (``scope="global"``). Ties
  break by position (stable sort), so the kept count is exact. The kept positions become the
  tensor's mask, stored as ``bitmap``, ``csr``, ``dense`` or the smallest of them (``best``); see
  ``storage.py`` for the exact index widths. Masks accumulate over repeated pruning.
* ``prune(..., granularity=g)`` prunes whole groups instead of single weights (Yu & Pool 2020 compare
  these granularities), ranked by the group's L1 norm, ``n - round(sparsity * n)`` of the ``n`` groups
  of every selected layer kept (``scope="layer"`` only):

  - ``fine``: single weights (the default; the same masks as above);
  - ``vector``: ``VECTOR`` (4) consecutive *input channels* at one (output channel, kernel position):
    the GEMM's reduction axis, so a kept/pruned vector is a unit a PE row group can skip;
  - ``kernel``: a whole k x k kernel of one (input channel, output channel) pair;
  - ``channel``: a whole output channel (all its input channels and kernel positions); by default
    every layer but the last, whose single output channel is the image (it stays dense).

  The group becomes the tensor's ``block``, so the ``blockmap`` format (one bit per group) is among
  the sparse formats ``best`` chooses from. A channel pruned this way keeps its bias: the layer keeps
  its shape and the channel outputs a constant (``channel_prune`` removes channels physically).
* ``channel_prune``: remove the ``round(fraction * Cout)`` output channels of smallest L1 weight norm
  from every layer but the last (which produces the image), with their biases and the matching
  input channels of the next layer. The generator becomes physically narrower (dense storage).

Fine-tuning (``finetune.finetune``) keeps masks fixed; ``prune(..., finetune_steps=n)`` runs it.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from accelsim.compress.chain import CompressedGenerator
from accelsim.compress.storage import FLOAT_BITS, TensorEncoding, block_expand, check_block
from accelsim.errors import ConfigError, FormatError


def _selected(cg: CompressedGenerator, layers) -> list[str]:
    names = cg.layer_names() if layers is None else list(layers)
    for n in names:
        cg.layer(n)
    return names


def magnitude_masks(cg: CompressedGenerator, sparsity: float, scope: str = "layer", layers=None) -> dict[str, np.ndarray]:
    """Boolean keep-masks (True = kept) of the selected layers."""
    if not 0.0 <= sparsity < 1.0:
        raise ConfigError(f"sparsity must be in [0, 1), got {sparsity}")
    names = _selected(cg, layers)
    if scope == "layer":
        masks = {}
        for n in names:
            w = np.abs(cg.layer(n).weight).ravel()
            keep = w.size - int(round(sparsity * w.size))
            mask = np.zeros(w.size, bool)
            mask[np.argsort(-w, kind="stable")[:keep]] = True
            masks[n] = mask.reshape(cg.layer(n).weight.shape)
        return masks
    if scope == "global":
        flat = np.concatenate([np.abs(cg.layer(n).weight).ravel() for n in names])
        keep = flat.size - int(round(sparsity * flat.size))
        mask = np.zeros(flat.size, bool)
        mask[np.argsort(-flat, kind="stable")[:keep]] = True
        out, start = {}, 0
        for n in names:
            shape = cg.layer(n).weight.shape
            size = int(np.prod(shape))
            out[n] = mask[start:start + size].reshape(shape)
            start += size
        return out
    raise ConfigError(f"scope must be 'layer' or 'global', got {scope!r}")


GRANULARITIES = ("fine", "vector", "kernel", "channel")
VECTOR = 4      # weights per vector (along the input-channel axis)


def group_block(layer, granularity: str) -> tuple[int, int, int, int]:
    """Block shape (in the weight's layout) of one pruning group of ``layer``."""
    shape = layer.weight.shape
    in_axis = 0 if layer.transposed else 1
    if granularity == "fine":
        return (1, 1, 1, 1)
    if granularity == "vector":
        block = [1, 1, 1, 1]
        block[in_axis] = VECTOR
        if shape[in_axis] % VECTOR:
            raise ConfigError(f"{layer.name}: {shape[in_axis]} input channels are not a multiple of the "
                              f"vector length {VECTOR}")
        return tuple(block)
    if granularity == "kernel":
        return (1, 1, shape[2], shape[3])
    if granularity == "channel":
        block = list(shape)
        block[layer.out_axis] = 1
        return tuple(block)
    raise ConfigError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")


def group_masks(cg: CompressedGenerator, sparsity: float, granularity: str, layers=None) -> dict[str, np.ndarray]:
    """Boolean keep-masks pruning whole groups (``granularity``) of every selected layer: exactly
    ``n - round(sparsity * n)`` of its ``n`` groups kept, those of largest L1 norm (ties by position)."""
    if not 0.0 <= sparsity < 1.0:
        raise ConfigError(f"sparsity must be in [0, 1), got {sparsity}")
    if layers is None and granularity == "channel":
        layers = cg.layer_names()[:-1]
    masks = {}
    for n in _selected(cg, layers):
        layer = cg.layer(n)
        block = group_block(layer, granularity)
        norms = block_sum(np.abs(layer.weight), block)
        keep = norms.size - int(round(sparsity * norms.size))
        kept = np.zeros(norms.size, bool)
        kept[np.argsort(-norms.ravel(), kind="stable")[:keep]] = True
        masks[n] = block_expand(kept.reshape(norms.shape), block)
    return masks


def block_sum(values: np.ndarray, block: tuple[int, ...]) -> np.ndarray:
    """Sum of ``values`` over each block (shape ``values.shape // block``)."""
    check_block(values.shape, block)
    split = [d for s, b in zip(values.shape, block) for d in (s // b, b)]
    return values.reshape(split).sum(axis=tuple(range(1, 2 * values.ndim, 2)))


def apply_masks(cg: CompressedGenerator, masks: dict[str, np.ndarray], sparse_format: str = "best",
                step_name: str | None = None, blocks: dict | None = None) -> CompressedGenerator:
    """Zero the weights outside ``masks`` and record the masks in the encodings (and the pruning
    group of each layer in ``blocks``, the ``blockmap`` format's block)."""
    blocks = blocks or {}
    layers, encodings = [], dict(cg.encodings)
    for layer in cg.layers:
        if layer.name not in masks:
            layers.append(layer)
            continue
        enc = cg.encodings[layer.name]
        mask = np.asarray(masks[layer.name], bool) & (np.ones(layer.weight.shape, bool) if enc.mask is None else enc.mask)
        if enc.value_kind == "binary" and not mask.all():
            raise FormatError(f"{layer.name}: binary weights have no zero code; prune before binarizing")
        codes = None if enc.codes is None else np.where(mask, enc.codes, 0)
        new_enc = replace(enc, mask=mask, codes=codes, sparse_format="dense", block=blocks.get(layer.name, enc.block))
        encodings[layer.name] = new_enc.with_sparse_format(sparse_format)
        layers.append(replace(layer, weight=np.where(mask, layer.weight, 0.0)))
    return cg.with_layers(layers, encodings, step=step_name)


def prune(cg: CompressedGenerator, sparsity: float, scope: str = "layer", sparse_format: str = "best",
          layers=None, finetune_steps: int = 0, step_name: str | None = None, granularity: str = "fine",
          **finetune_kwargs) -> CompressedGenerator:
    """Magnitude pruning to ``sparsity`` (fraction of weights, or of ``granularity`` groups, set to
    zero), optionally fine-tuned for ``finetune_steps`` against the unpruned generator
    (``finetune.finetune``; its keyword arguments pass through, e.g. the discriminator's weights)."""
    name = step_name or f"prune{int(round(100 * sparsity))}"
    if granularity == "fine":
        masks, blocks = magnitude_masks(cg, sparsity, scope, layers), {}
    else:
        if scope != "layer":
            raise ConfigError(f"granularity {granularity!r} prunes per layer: scope must be 'layer', got {scope!r}")
        masks = group_masks(cg, sparsity, granularity, layers)
        blocks = {n: group_block(cg.layer(n), granularity) for n in masks}
    out = apply_masks(cg, masks, sparse_format, step_name=name, blocks=blocks)
    if finetune_steps > 0:
        from accelsim.compress.finetune import finetune
        out = finetune(out, cg, finetune_steps, step_name=None, **finetune_kwargs)
    return out


def _slice(enc: TensorEncoding, keep: np.ndarray, axis: int, out_axis: int, layer_out_channels: int) -> TensorEncoding:
    shape = list(enc.shape)
    shape[axis] = int(keep.size)
    codes = None if enc.codes is None else np.take(enc.codes, keep, axis=axis)
    mask = None if enc.mask is None else np.take(enc.mask, keep, axis=axis)
    side, levels = enc.side_bits, enc.levels
    if axis == out_axis and enc.value_kind in ("int", "ternary", "binary"):
        side = FLOAT_BITS * layer_out_channels
        levels = None if levels is None else np.asarray(levels)[keep]
    new = replace(enc, shape=tuple(shape), codes=codes, mask=mask, side_bits=side, levels=levels)
    return new if mask is None else new.with_sparse_format(enc.sparse_format)


def channel_prune(cg: CompressedGenerator, fraction: float, finetune_steps: int = 0,
                  step_name: str | None = None, **finetune_kwargs) -> CompressedGenerator:
    """Structured pruning of ``fraction`` of the output channels of every layer but the last."""
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"fraction must be in [0, 1), got {fraction}")
    layers = list(cg.layers)
    encodings = dict(cg.encodings)
    for i in range(len(layers) - 1):
        layer, nxt = layers[i], layers[i + 1]
        axis = layer.out_axis
        other = tuple(a for a in range(4) if a != axis)
        norms = np.abs(layer.weight).sum(axis=other)
        n_remove = int(round(fraction * norms.size))
        keep = np.sort(np.argsort(-norms, kind="stable")[:norms.size - n_remove])
        layers[i] = replace(layer, weight=np.take(layer.weight, keep, axis=axis),
                            bias=None if layer.bias is None else layer.bias[keep])
        encodings[layer.name] = _slice(encodings[layer.name], keep, axis, axis, keep.size)
        in_axis = 0 if nxt.transposed else 1
        layers[i + 1] = replace(nxt, weight=np.take(nxt.weight, keep, axis=in_axis))
        encodings[nxt.name] = _slice(encodings[nxt.name], keep, in_axis, nxt.out_axis, nxt.out_channels)
    out = cg.with_layers(layers, encodings, step=step_name or f"chprune{int(round(100 * fraction))}")
    if finetune_steps > 0:
        from accelsim.compress.finetune import finetune
        out = finetune(out, cg, finetune_steps, step_name=None, **finetune_kwargs)
    return out
