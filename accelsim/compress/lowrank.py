"""Low-rank factorization of convolution filters by truncated SVD.

Which reshaping: a conv_transpose2d weight ``W[Cin, Cout, k, k]`` is viewed as the matrix
``M = W.reshape(Cin, Cout*k*k)`` (the scatter-GEMM form: each input pixel's Cin vector times M gives
its Cout*k*k output contributions). ``M ~ A @ B`` with ``A = U_r sqrt(S_r)`` (Cin, r) and
``B = sqrt(S_r) V_r^T`` (r, Cout*k*k). Since the layer is linear in its input channels, the layer
becomes two layers computing exactly ``convT(x, A @ B)``:

    name.u : conv_transpose2d 1x1, stride 1, pad 0, Cin -> r   (weight A as (Cin, r, 1, 1)), no bias
    name.v : conv_transpose2d k x k, original stride/pad, r -> Cout (weight B as (r, Cout, k, k)),
             original bias and activation

A conv2d weight ``W[Cout, Cin, k, k]`` uses ``M = W.reshape(Cout, Cin*k*k) ~ A @ B``: ``name.v`` is the
k x k conv Cin -> r (weight B as (r, Cin, k, k)) followed by ``name.u``, a 1x1 conv r -> Cout (A) with
the bias and activation.

Sizes are exact: ``r * (rows + cols)`` weights replace ``rows * cols``. A layer is factorized only if
that is smaller (``r < rows*cols / (rows + cols)``); otherwise it is left unchanged. The rank is
given directly (``rank``), as a fraction of full rank (``rank_fraction``), or as the smallest rank
keeping ``energy`` of the squared singular values.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from accelsim.blas import deterministic
from accelsim.compress.chain import CompressedGenerator, Layer
from accelsim.compress.storage import float32_encoding
from accelsim.errors import ConfigError

log = logging.getLogger(__name__)


@deterministic
def svd_factors(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A (rows, r), B (r, cols), singular values) with ``A @ B`` the best rank-r approximation."""
    u, s, vt = np.linalg.svd(np.asarray(matrix, np.float64), full_matrices=False)
    root = np.sqrt(s[:rank])
    return u[:, :rank] * root, root[:, None] * vt[:rank], s


def choose_rank(singular_values: np.ndarray, rank: int | None = None, rank_fraction: float | None = None,
                energy: float | None = None) -> int:
    if sum(v is not None for v in (rank, rank_fraction, energy)) != 1:
        raise ConfigError("give exactly one of rank, rank_fraction, energy")
    full = singular_values.size
    if rank is not None:
        r = rank
    elif rank_fraction is not None:
        r = math.ceil(rank_fraction * full)
    else:
        cum = np.cumsum(singular_values ** 2) / np.sum(singular_values ** 2)
        r = int(np.searchsorted(cum, energy - 1e-12) + 1)
    return max(1, min(int(r), full))


def factorize_layer(layer: Layer, rank: int) -> tuple[Layer, Layer]:
    """The two layers replacing ``layer`` at the given rank (see module docstring)."""
    w = layer.weight
    rows, k = w.shape[0], w.shape[2:]
    a, b, _ = svd_factors(w.reshape(rows, -1), rank)
    if layer.transposed:
        first = Layer(f"{layer.name}.u", True, 1, 0, "none", a.reshape(rows, rank, 1, 1), None)
        second = Layer(f"{layer.name}.v", True, layer.stride, layer.padding, layer.act,
                       b.reshape(rank, w.shape[1], *k), layer.bias)
    else:
        first = Layer(f"{layer.name}.v", False, layer.stride, layer.padding, "none", b.reshape(rank, w.shape[1], *k), None)
        second = Layer(f"{layer.name}.u", False, 1, 0, layer.act, a.reshape(rows, rank, 1, 1), layer.bias)
    return first, second


@deterministic
def lowrank(cg: CompressedGenerator, rank: int | None = None, rank_fraction: float | None = None,
            energy: float | None = None, layers=None, step_name: str | None = None) -> CompressedGenerator:
    """Factorize the selected float32 layers (default: all) where it saves weights."""
    names = set(cg.layer_names() if layers is None else layers)
    out, encodings = [], {}
    for layer in cg.layers:
        enc = cg.encodings[layer.name]
        if layer.name not in names:
            out.append(layer)
            encodings[layer.name] = enc
            continue
        if enc.value_kind != "float32" or enc.mask is not None:
            raise ConfigError(f"{layer.name}: factorize before quantizing, sharing or pruning")
        m = layer.weight.reshape(layer.weight.shape[0], -1)
        s = np.linalg.svd(m, compute_uv=False)
        r = choose_rank(s, rank, rank_fraction, energy)
        if r * (m.shape[0] + m.shape[1]) >= m.size:
            log.info("%s: rank %d does not save weights (%dx%d); left unfactorized", layer.name, r, *m.shape)
            out.append(layer)
            encodings[layer.name] = enc
            continue
        for part in factorize_layer(layer, r):
            out.append(part)
            encodings[part.name] = float32_encoding(part.weight)
    label = step_name or ("lowrank-r%d" % rank if rank is not None else
                          "lowrank-f%g" % rank_fraction if rank_fraction is not None else "lowrank-e%g" % energy)
    return cg.with_layers(out, encodings, step=label)
