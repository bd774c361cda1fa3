"""Mapping: lower each layer to GEMMs (three ways for transposed convolution) and tile it to the
buffers, minimizing DRAM traffic, energy or latency."""
from accelsim.mapping.geometry import AxisTiling, axis_tiling, tile_candidates, tile_sizes
from accelsim.mapping.lowering import DEFAULT_LOWERING, LOWERINGS, Gemm, Lowered, lower, zero_inserted_hw
from accelsim.mapping.tiling import (OBJECTIVES, ORDERS, MapperCosts, Mapping, OperandSizes, compulsory_bits,
                                     compulsory_bytes, search, shortlist)

__all__ = ["DEFAULT_LOWERING", "LOWERINGS", "OBJECTIVES", "ORDERS", "AxisTiling", "Gemm", "Lowered",
           "MapperCosts", "Mapping", "OperandSizes", "axis_tiling", "compulsory_bits", "compulsory_bytes",
           "lower", "search", "shortlist", "tile_candidates", "tile_sizes", "zero_inserted_hw"]
