"""Golden vectors for hardware testbenches: ``export_vectors`` writes, per layer of a quantized
generator, the input, weights, bias, requantization parameters, accumulators and expected output as
``$readmemh`` hex files and raw little-endian binaries, with a JSON manifest (shapes, layouts, word
formats, SHA-256 of every file) and a plain-text sidecar for C; ``check_vectors`` compares a device's
output dump with the expected output bit for bit. Workflow and layouts: docs/vectors.md.

Any model reference exports (a shipped name, ``"path/to/file.py:NAME"``, ``"model.onnx"``): the MAC
nodes of its graph, as ``accelsim.runtime`` runs them, through their integer kernels.

Modules: ``hexfile`` (words on disk), ``layout`` (weight packing, tensor records), ``graph`` (the run
through the runtime, golden vs C++), ``layers`` (what is exported per layer), ``export`` (writers),
``sidecar``, ``manifest`` (reading it back), ``check``.
"""
from accelsim.vectors.check import check_vectors
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.export import CALIB_N
from accelsim.vectors.graph import export_graph


def export_vectors(out_dir: str, model: str = "dcgan-digits", fmt: str = "w8a8", layer="all", batch: int = 1,
                   seed: int = 0, command: str | None = None, force: bool = False, autoflex: bool = False,
                   input_shapes=None, calib: int = CALIB_N) -> dict:
    """Write the vectors to ``out_dir`` (created atomically) and return the manifest. ``model`` is any
    model reference (``accelsim.graph.reference``; ``input_shapes`` for a file.py:NAME module),
    ``fmt`` a format or per-layer assignment of ``accelsim.formats.registry``; ``calib``: calibration
    inputs (seed 1234); ``autoflex``: static flex16+5 output exponents (``accelsim.runtime``)."""
    return export_graph(out_dir, model, fmt, layer=layer, batch=batch, seed=seed, command=command, force=force,
                        autoflex=autoflex, input_shapes=input_shapes, calib=calib)


__all__ = ["VectorsError", "check_vectors", "export_vectors"]
