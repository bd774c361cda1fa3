"""Numeric format of a layer (bits per operand, what one MAC does) and how its tensors are compressed.

A ``Format`` says how many bits each operand occupies in memory and which arithmetic one MAC costs
(``mac_ops``: (op, kind, bits) tuples priced by ``accelsim.energy``). The named formats mirror the
golden models in ``accelsim.formats`` (DESIGN.md section 3).

A ``Compression`` says how weights and activations are stored; ``weight_storage_bits`` and
``act_storage_bits`` give the sizes that move over the DRAM bus (sub-byte values packed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.errors import ConfigError, FormatError
from accelsim.formats import registry
from accelsim.formats.registry import NumericFormat

WEIGHT_STORAGES = ("dense", "csr", "bitmap", "blockmap")


@dataclass(frozen=True)
class Format:
    name: str
    weight_bits: int
    act_bits: int
    acc_bits: int
    weight_kind: str          # float | int | ternary | binary | flex
    act_kind: str             # float | int | binary | flex
    mac_ops: tuple[tuple[str, str, int], ...]   # per MAC: ("mult"|"add", "fp"|"int", bits)
    tensor_overhead_bits: int = 0               # per stored tensor (flexpoint shared exponent)

    def __post_init__(self):
        for f in ("weight_bits", "act_bits", "acc_bits"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 64:
                raise FormatError(f"format {self.name!r}: {f} must be an integer in [1, 64], got {v!r}")
        for op, kind, bits in self.mac_ops:
            if op not in ("mult", "add") or kind not in ("fp", "int") or not 1 <= bits <= 64:
                raise FormatError(f"format {self.name!r}: bad mac op {(op, kind, bits)!r}")


def priced(nf: NumericFormat) -> Format:
    """The simulator's view of a registered format: operand bits and what one MAC costs.

    Integer MACs multiply at the wider operand's width and accumulate exactly (int32 up to 8-bit
    operands, int64 above, DESIGN.md section 3); fp16 multiplies in fp16 and accumulates in fp32
    (mixed precision); binary XNOR-popcount accumulates popcounts in a 16-bit counter and its
    per-bit cost is one 1-bit XNOR plus one 1-bit adder of the popcount tree; ternary and
    binary-weight MACs with integer activations are a sign-selected add (no multiplier); flexpoint
    multiplies int16 mantissas and accumulates exactly in int64."""
    acc = nf.acc_bits
    if nf.is_float:
        ops = (("mult", "fp", nf.weight_bits), ("add", "fp", acc))
    elif nf.act_kind == "binary":
        ops = (("mult", "int", 1), ("add", "int", 1))
    elif nf.weight_kind in ("ternary", "binary"):
        ops = (("add", "int", acc),)
    else:
        ops = (("mult", "int", max(nf.weight_bits, nf.act_bits)), ("add", "int", acc))
    return Format(nf.name, nf.weight_bits, nf.act_bits, acc, nf.weight_kind, nf.act_kind, ops,
                  tensor_overhead_bits=5 if nf.weight_kind == "flex" else 0)


FORMATS: dict[str, Format] = {n: priced(registry.get(n)) for n in registry.DEFAULT}
DEFAULT_FORMATS = registry.DEFAULT


def get_format(name) -> Format:
    """The priced format of any registered name or alias (``accelsim.formats.registry``)."""
    if isinstance(name, Format):
        return name
    return priced(registry.get(name))


@dataclass(frozen=True)
class Compression:
    """How a layer's tensors are stored.

    weight_density: fraction of weights that are non-zero (after pruning), in (0, 1].
    weight_storage: dense (zeros stored), csr (values + column indices + row pointers, one row per
        output channel), bitmap (one presence bit per weight + the non-zero values) or blockmap
        (one presence bit per block of ``weight_block_elems`` weights -- a vector, kernel or output
        channel pruned as a whole, ``accelsim.compress.pruning`` -- + every value of the kept blocks).
    weight_block_elems: weights per block of ``blockmap`` (the layer's weight count must be a multiple).
    codebook_bits: weights are indices into a 2^bits-entry codebook of format-width values
        (weight sharing, Han et al. 2016); None for none.
    exact_weight_bits: the exact stored size of one layer's weights when real compressed tensors
        are known (index + payload + side information + entropy-code table, as counted by
        ``accelsim.compress.storage``; Huffman-coded weights included); overrides the formula.
    act_density / act_zero_compression: activations stored as a bitmap plus non-zero values.
    """
    weight_density: float = 1.0
    weight_storage: str = "dense"
    codebook_bits: int | None = None
    exact_weight_bits: int | None = None
    act_density: float = 1.0
    act_zero_compression: bool = False
    weight_block_elems: int = 1

    def __post_init__(self):
        if not 0.0 < self.weight_density <= 1.0:
            raise ConfigError(f"compression.weight_density must be in (0, 1], got {self.weight_density}")
        if not 0.0 <= self.act_density <= 1.0:
            raise ConfigError(f"compression.act_density must be in [0, 1], got {self.act_density}")
        if self.weight_storage not in WEIGHT_STORAGES:
            raise ConfigError(f"compression.weight_storage must be one of {WEIGHT_STORAGES}, "
                              f"got {self.weight_storage!r}")
        if self.codebook_bits is not None and not 1 <= self.codebook_bits <= 16:
            raise ConfigError(f"compression.codebook_bits must be in [1, 16], got {self.codebook_bits}")
        if not isinstance(self.weight_block_elems, int) or self.weight_block_elems < 1:
            raise ConfigError(f"compression.weight_block_elems must be an integer >= 1, got {self.weight_block_elems!r}")
        if self.exact_weight_bits is not None and self.exact_weight_bits < 1:
            raise ConfigError(f"compression.exact_weight_bits must be >= 1, got {self.exact_weight_bits}")

    def weight_storage_bits(self, weight_elems: int, rows: int, fmt: Format) -> int:
        """Bits of one layer's weights as stored (no bias); ``rows`` = output channels."""
        if weight_elems == 0:
            return 0
        if self.exact_weight_bits is not None:
            return self.exact_weight_bits
        value_bits = self.codebook_bits or fmt.weight_bits
        nnz = max(1, round(weight_elems * self.weight_density))
        if self.weight_storage == "dense":
            bits = weight_elems * value_bits
        elif self.weight_storage == "bitmap":
            bits = weight_elems + nnz * value_bits
        elif self.weight_storage == "blockmap":
            block = self.weight_block_elems
            if weight_elems % block:
                raise ConfigError(f"compression.weight_block_elems {block} does not divide the layer's "
                                  f"{weight_elems} weights")
            blocks = weight_elems // block
            kept = max(1, round(blocks * self.weight_density))
            bits = blocks + kept * block * value_bits
        else:  # csr: per output channel row
            cols = weight_elems // rows
            index_bits = max(1, math.ceil(math.log2(cols)))
            pointer_bits = max(1, math.ceil(math.log2(nnz + 1)))
            bits = nnz * (value_bits + index_bits) + (rows + 1) * pointer_bits
        if self.codebook_bits:
            bits += (1 << self.codebook_bits) * fmt.weight_bits
        return bits + fmt.tensor_overhead_bits

    def act_storage_bits(self, elems: int, fmt: Format) -> int:
        if elems == 0:
            return 0
        if self.act_zero_compression:
            bits = elems + round(elems * self.act_density) * fmt.act_bits
        else:
            bits = elems * fmt.act_bits
        return bits + fmt.tensor_overhead_bits

    def act_bits_per_elem(self, fmt: Format) -> float:
        """Average stored bits of one activation (for sizing tiles)."""
        if self.act_zero_compression:
            return 1.0 + self.act_density * fmt.act_bits
        return float(fmt.act_bits)


NO_COMPRESSION = Compression()


def bits_to_bytes(bits: int) -> int:
    return (int(bits) + 7) // 8


def parse_formats(text: str, option: str | None = None) -> tuple[str, ...]:
    """Canonical format names from 'w8a8,ternary' (aliases accepted) or 'all' (the registry's defaults)."""
    return registry.parse_list(text, option)
