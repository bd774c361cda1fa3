"""Encoding (the survey's least explored family): weight sharing with a k-means codebook and
Huffman coding of integer codes (Han et al. 2016, "Deep Compression").

* ``kmeans_1d``: Lloyd's algorithm on scalars with linear initialisation (centroids evenly spaced
  over [min, max], the initialisation Han et al. found best), assignment to the nearest centroid
  (ties to the lower one), empty clusters keep their centroid; deterministic.
* ``share_weights(cg, k)``: per tensor, cluster the stored (unpruned) weights into ``k`` centroids;
  each weight becomes an index of ``ceil(log2 k)`` bits; the codebook (``k`` float32 entries) is side
  information. When a tensor has fewer than ``k`` distinct values, ``k`` shrinks to that count
  (and the index width with it).
* ``huffman_code(cg)``: replace fixed-length codes (int, ternary, binary, codebook indices, flex16
  mantissas) by the tensor's Huffman code; the exact stream length plus a code-length table are
  counted (``storage.py``).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from accelsim.compress.chain import CompressedGenerator
from accelsim.compress.storage import FLOAT_BITS, TensorEncoding, index_bits
from accelsim.errors import ConfigError, FormatError, ModelError


def kmeans_1d(values, k: int, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ascending (k_eff,), index of each value's centroid) of the 1-D values."""
    v = np.asarray(values, np.float64).ravel()
    if v.size == 0:
        raise ModelError("kmeans_1d: no values")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    distinct = np.unique(v)
    if distinct.size <= k:
        return distinct, np.searchsorted(distinct, v)
    centroids = np.linspace(v.min(), v.max(), k)
    for _ in range(iterations):
        idx = np.searchsorted((centroids[:-1] + centroids[1:]) / 2.0, v, side="left")
        sums = np.bincount(idx, weights=v, minlength=k)
        counts = np.bincount(idx, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        new = np.sort(new)
        if np.array_equal(new, centroids):
            break
        centroids = new
    idx = np.searchsorted((centroids[:-1] + centroids[1:]) / 2.0, v, side="left")
    return centroids, idx


def share_weights(cg: CompressedGenerator, k: int, layers=None, step_name: str | None = None) -> CompressedGenerator:
    """Weight sharing: each selected tensor's stored weights replaced by the nearest of its ``k``
    k-means centroids."""
    names = set(cg.layer_names() if layers is None else layers)
    new_layers, encodings = [], dict(cg.encodings)
    for layer in cg.layers:
        if layer.name not in names:
            new_layers.append(layer)
            continue
        enc = cg.encodings[layer.name]
        stored = np.ones(layer.weight.shape, bool) if enc.mask is None else enc.mask
        centroids, idx = kmeans_1d(layer.weight[stored], k)
        values = np.zeros_like(layer.weight)
        values[stored] = centroids[idx]
        codes = np.zeros(layer.weight.shape, np.int64)
        codes[stored] = idx
        encodings[layer.name] = TensorEncoding(enc.shape, "codebook", index_bits(centroids.size), codes,
                                               FLOAT_BITS * centroids.size, enc.mask, enc.sparse_format, "fixed",
                                               centroids, enc.block)
        new_layers.append(replace(layer, weight=values))
    return cg.with_layers(new_layers, encodings, step=step_name or f"codebook{k}")


def huffman_code(cg: CompressedGenerator, layers=None, skip_float: bool = False,
                 step_name: str = "huffman") -> CompressedGenerator:
    """Huffman-code the integer codes of every selected tensor. Float32 tensors have no codes: an
    error, unless ``skip_float`` (then they stay as they are)."""
    names = cg.layer_names() if layers is None else list(layers)
    encodings = dict(cg.encodings)
    for name in names:
        enc = encodings[name]
        if enc.codes is None:
            if skip_float:
                continue
            raise FormatError(f"{name}: float32 weights have no integer codes to Huffman-code; "
                              "quantize or share weights first (or pass skip_float=True)")
        # Huffman symbols are the codes offset to be non-negative (the alphabet of 2**value_bits).
        encodings[name] = replace(enc, entropy="huffman")
    return cg.with_layers(cg.layers, encodings, step=step_name)
