"""Exact storage size of one compressed weight tensor, in bits.

A tensor is stored as (structure) + (payload) + (side information) + (entropy-code table):

* **values**: every stored weight is either a float32 (32 bits) or an integer *code* of
  ``value_bits`` bits: int-N codes (N bits), ternary {-1,0,+1} (2 bits), binary {-1,+1} (1 bit),
  codebook indices (``ceil(log2 k)`` bits), flex16 mantissas (16 bits).
* **structure** (pruned tensors; which positions are stored). The tensor is viewed as a matrix
  ``rows = shape[0]`` (Cin for conv_transpose2d, Cout for conv2d) by ``cols = prod(shape[1:])``:
  - ``dense``: every position stored (pruned zeros included), no index;
  - ``bitmap``: one bit per position (1 = stored), ``rows * cols`` bits;
  - ``csr``: per stored value a column index of ``max(1, ceil(log2 cols))`` bits, plus ``rows + 1``
    row pointers of ``max(1, ceil(log2(nnz + 1)))`` bits each;
  - ``blockmap``: the tensor is tiled by blocks of shape ``block`` (a vector of 4 input channels, a
    k x k kernel, a whole output channel: set by ``pruning.prune(..., granularity=...)``); one bit per
    block (1 = stored), ``numel / prod(block)`` bits, and every position of a stored block is stored
    (zeros inside a kept block included).
* **payload**: ``value_bits`` per stored value (``fixed``), or the exact Huffman-coded length of the
  stored codes (``huffman``, see ``huffman.py``).
* **side information**: 32-bit float scales / alphas (one per output channel), codebook entries
  (32 bits each), a flex16 exponent (5 bits) -- set by the step that creates the codes.
* **Huffman table**: a canonical code is described by the code length of every symbol, in the
  smaller of two layouts: a dense table of ``HUFFMAN_LENGTH_FIELD_BITS`` (8) bits for each of the
  ``2**value_bits`` symbols of the alphabet, or a 32-bit count followed by (symbol, length) pairs of
  ``value_bits + 8`` bits for the symbols that occur.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from accelsim.compress import huffman
from accelsim.errors import ConfigError, FormatError

FLOAT_BITS = 32
HUFFMAN_LENGTH_FIELD_BITS = 8
SPARSE_FORMATS = ("dense", "bitmap", "csr", "blockmap")
ENTROPY_CODINGS = ("fixed", "huffman")


def index_bits(n: int) -> int:
    """Bits of an unsigned index able to hold values 0 .. n-1 (at least 1)."""
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1


def csr_index_bits(mask: np.ndarray) -> int:
    """Column indices + row pointers of the CSR form of ``mask`` viewed as (shape[0], rest)."""
    m = np.asarray(mask, bool).reshape(mask.shape[0], -1)
    rows, cols = m.shape
    nnz = int(m.sum())
    return nnz * index_bits(cols) + (rows + 1) * index_bits(nnz + 1)


def bitmap_index_bits(mask: np.ndarray) -> int:
    return int(np.asarray(mask).size)


def check_block(shape: tuple[int, ...], block: tuple[int, ...]) -> None:
    """ConfigError unless ``block`` has the tensor's rank and tiles ``shape`` exactly."""
    if len(block) != len(shape) or any(b < 1 or s % b for s, b in zip(shape, block)):
        raise ConfigError(f"block {tuple(block)} does not tile a tensor of shape {tuple(shape)}")


def block_any(mask: np.ndarray, block: tuple[int, ...]) -> np.ndarray:
    """Per block of shape ``block``: True where any position of the block is set (shape
    ``shape // block``)."""
    m = np.asarray(mask, bool)
    check_block(m.shape, block)
    split = [d for s, b in zip(m.shape, block) for d in (s // b, b)]
    return m.reshape(split).any(axis=tuple(range(1, 2 * m.ndim, 2)))


def block_expand(per_block: np.ndarray, block: tuple[int, ...]) -> np.ndarray:
    """The per-position map of a per-block map (each block's value repeated over the block)."""
    out = np.asarray(per_block)
    for axis, b in enumerate(block):
        out = np.repeat(out, b, axis=axis)
    return out


@dataclass(frozen=True)
class TensorEncoding:
    """How one weight tensor is stored. ``codes`` (int64, tensor shape) is None for float32 values;
    ``mask`` (bool, tensor shape) is None when every position is stored."""

    shape: tuple[int, ...]
    value_kind: str = "float32"        # float32 | int | ternary | binary | codebook | flex16
    value_bits: int = FLOAT_BITS
    codes: np.ndarray | None = field(default=None, repr=False, compare=False)
    side_bits: int = 0
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)
    sparse_format: str = "dense"
    entropy: str = "fixed"
    # what the codes index: per-output-channel scales (int, ternary, binary), the centroids
    # (codebook) or [exponent] (flex16); None for float32
    levels: np.ndarray | None = field(default=None, repr=False, compare=False)
    # the block that one ``blockmap`` bit stands for (tensor rank, tiles the shape); None otherwise
    block: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.sparse_format not in SPARSE_FORMATS:
            raise ConfigError(f"sparse_format must be one of {SPARSE_FORMATS}, got {self.sparse_format!r}")
        if self.entropy not in ENTROPY_CODINGS:
            raise ConfigError(f"entropy must be one of {ENTROPY_CODINGS}, got {self.entropy!r}")
        if self.entropy == "huffman" and self.codes is None:
            raise FormatError("Huffman coding needs integer codes: quantize or share the weights first")
        if self.sparse_format != "dense" and self.mask is None:
            raise ConfigError(f"sparse_format {self.sparse_format!r} needs a mask")
        if self.block is not None:
            object.__setattr__(self, "block", tuple(int(b) for b in self.block))
            check_block(self.shape, self.block)
        elif self.sparse_format == "blockmap":
            raise ConfigError("sparse_format 'blockmap' needs a block shape")
        for name in ("codes", "mask"):
            a = getattr(self, name)
            if a is not None and tuple(a.shape) != tuple(self.shape):
                raise ConfigError(f"{name} shape {a.shape} != tensor shape {self.shape}")

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape))

    @property
    def stored(self) -> np.ndarray:
        """Boolean map of the stored positions."""
        if self.mask is None or self.sparse_format == "dense":
            return np.ones(self.shape, bool)
        if self.sparse_format == "blockmap":
            return block_expand(block_any(self.mask, self.block), self.block)
        return np.asarray(self.mask, bool)

    @property
    def stored_count(self) -> int:
        return int(self.stored.sum())

    @property
    def density(self) -> float:
        """Fraction of nonzero weights kept by pruning (1.0 when unpruned)."""
        return 1.0 if self.mask is None else float(np.asarray(self.mask).mean())

    def index_bits(self) -> int:
        if self.sparse_format == "bitmap":
            return bitmap_index_bits(self.mask)
        if self.sparse_format == "csr":
            return csr_index_bits(self.mask)
        if self.sparse_format == "blockmap":
            return self.numel // int(np.prod(self.block))
        return 0

    def payload_bits(self) -> int:
        if self.entropy == "huffman":
            return huffman.encoded_bits(np.asarray(self.codes)[self.stored])
        return self.stored_count * self.value_bits

    def table_bits(self) -> int:
        if self.entropy != "huffman":
            return 0
        present = np.unique(np.asarray(self.codes)[self.stored]).size
        dense = (1 << self.value_bits) * HUFFMAN_LENGTH_FIELD_BITS
        listed = FLOAT_BITS + present * (self.value_bits + HUFFMAN_LENGTH_FIELD_BITS)
        return min(dense, listed)

    def breakdown_bits(self) -> dict[str, int]:
        return {"index_bits": self.index_bits(), "payload_bits": self.payload_bits(),
                "side_bits": self.side_bits, "table_bits": self.table_bits()}

    def size_bits(self) -> int:
        return sum(self.breakdown_bits().values())

    def with_sparse_format(self, sparse_format: str) -> "TensorEncoding":
        """``best`` picks the smallest of dense / bitmap / csr (and blockmap when a block is set) for
        this mask."""
        if sparse_format == "best":
            if self.mask is None:
                return self
            options = [replace(self, sparse_format=f) for f in SPARSE_FORMATS
                       if f != "blockmap" or self.block is not None]
            return min(options, key=lambda e: (e.size_bits(), SPARSE_FORMATS.index(e.sparse_format)))
        return replace(self, sparse_format=sparse_format)


def float32_encoding(weight: np.ndarray) -> TensorEncoding:
    return TensorEncoding(tuple(weight.shape))
