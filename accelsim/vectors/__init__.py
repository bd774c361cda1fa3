"""Golden vectors for hardware testbenches: ``export_vectors`` writes, per layer of a quantized
generator, the input, weights, bias, requantization parameters, accumulators and expected output as
``$readmemh`` hex files and raw little-endian binaries, with a JSON manifest (shapes, layouts, word
formats, SHA-256 of every file) and a plain-text sidecar for C; ``check_vectors`` compares a device's
output dump with the expected output bit for bit. Workflow and layouts: docs/vectors.md.

Modules: ``hexfile`` (words on disk), ``layout`` (weight packing, tensor records), ``chain`` (the
layer-by-layer run, golden vs C++), ``layers`` (what is exported per layer), ``export``, ``sidecar``,
``manifest`` (reading it back), ``check``.
"""
from accelsim.vectors.check import check_vectors
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.export import EXPORT_FORMATS, export_vectors

__all__ = ["EXPORT_FORMATS", "VectorsError", "check_vectors", "export_vectors"]
