"""Lower numeric precision of the weights (post-training): intN per output channel, ternary, binary
(definitions in ``qat.py`` / ``accelsim.formats``) and flex16+5 (int16 mantissas and one 5-bit
exponent per tensor, ``accelsim.formats.flexpoint``).

The result's ``weights`` are the dequantized values; its encodings hold the integer codes. Side
information: one float32 scale (alpha) per output channel for intN / ternary / binary, one 5-bit
exponent per tensor for flex16. Pruning masks stay (pruned weights have code 0; binary has no
zero code, so a pruned tensor cannot be binarized). A tensor already shared through a codebook
keeps its codebook encoding: the kernel's integer weights are a function of the stored indices and
centroids (per-channel scales recomputed as max|w|/qmax), so only its values change.

``fmt`` is set to the matching format of ``accelsim.formats.registry``: ``intN`` (= ``wNaN``),
``ternary`` (= ``w2a8``), ``w1a8`` (binary weights, int8 activations) or, with
``binary_activations=True``, ``w1a1,first=w1a8`` (XNOR-popcount after the first layer), ``flex16``.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from accelsim.compress.chain import CompressedGenerator
from accelsim.compress.qat import dequantize_codes, parse_kind, quantize_codes
from accelsim.compress.storage import FLOAT_BITS, TensorEncoding
from accelsim.errors import FormatError

FLEX_EXPONENT_BITS = 5
FLEX_MANTISSA_BITS = 16


def _quantize_layer(layer, enc: TensorEncoding, kind: str):
    if kind == "flex16":
        from accelsim.formats import flexpoint
        mant, exp = flexpoint.to_flex(layer.weight)
        values = flexpoint.from_flex(mant, exp)
        codes, value_kind, bits, side = np.asarray(mant, np.int64), "flex16", FLEX_MANTISSA_BITS, FLEX_EXPONENT_BITS
        levels = np.array([exp], np.int64)
    else:
        family, bits = parse_kind(kind)
        codes, scales = quantize_codes(layer.weight, kind, layer.transposed)
        values = dequantize_codes(codes, scales, layer.transposed)
        value_kind, side, levels = family, FLOAT_BITS * layer.out_channels, scales
    if enc.mask is not None:
        if value_kind == "binary" and not enc.mask.all():
            raise FormatError(f"{layer.name}: a pruned tensor cannot be binarized (no zero code); "
                              "binarize first or use ternary")
        values = np.where(enc.mask, values, 0.0)
        codes = np.where(enc.mask, codes, 0)
    if enc.value_kind == "codebook":
        return replace(layer, weight=values), enc
    new = TensorEncoding(enc.shape, value_kind, bits, codes, side, enc.mask, enc.sparse_format, "fixed", levels,
                         enc.block)
    return replace(layer, weight=values), new


def kernel_format(kind: str, binary_activations: bool = False) -> str:
    """The format (``accelsim.formats.registry``) the runtime executes weights of ``kind`` in. Binary
    activations (XNOR-Net) start after the first layer: it reads the real-valued latent at 8 bits."""
    if kind == "binary":
        return "w1a1,first=w1a8" if binary_activations else "w1a8"
    return kind


def quantize(cg: CompressedGenerator, kind: str, binary_activations: bool = False,
             step_name: str | None = None) -> CompressedGenerator:
    """Quantize every conv weight of ``cg`` to ``kind`` (``intN``, ``ternary``, ``binary``, ``flex16``)."""
    if kind != "flex16":
        parse_kind(kind)
    layers, encodings = [], dict(cg.encodings)
    for layer in cg.layers:
        new_layer, encodings[layer.name] = _quantize_layer(layer, cg.encodings[layer.name], kind)
        layers.append(new_layer)
    return cg.with_layers(layers, encodings, step=step_name or kind, fmt=kernel_format(kind, binary_activations))


def requantize_like(cg: CompressedGenerator, reference: CompressedGenerator) -> CompressedGenerator:
    """Re-derive the codes of ``cg``'s layers (after fine-tuning) with the quantizer each layer had in
    ``reference`` (same layer names and shapes); float32 and codebook layers are left as they are."""
    layers, encodings = [], dict(cg.encodings)
    for layer in cg.layers:
        ref = reference.encodings[layer.name]
        kind = {"int": f"int{ref.value_bits}", "ternary": "ternary", "binary": "binary",
                "flex16": "flex16"}.get(ref.value_kind)
        if kind is None:
            layers.append(layer)
            encodings[layer.name] = ref
            continue
        new_layer, new_enc = _quantize_layer(layer, ref, kind)
        layers.append(new_layer)
        encodings[layer.name] = replace(new_enc, entropy=ref.entropy)
    return cg.with_layers(layers, encodings)
