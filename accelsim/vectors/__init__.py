"""Golden vectors for hardware testbenches: ``export_vectors`` writes, per layer of a quantized
generator, the input, weights, bias, requantization parameters, accumulators and expected output as
``$readmemh`` hex files and raw little-endian binaries, with a JSON manifest (shapes, layouts, word
formats, SHA-256 of every file) and a plain-text sidecar for C; ``check_vectors`` compares a device's
output dump with the expected output bit for bit. Workflow and layouts: docs/vectors.md.

Any model reference exports (``model="path/to/file.py:NAME"``, ``"model.onnx"``): the MAC nodes of its
graph that run the integer ``conv_int`` kernel, as ``accelsim.runtime`` runs them (``graph``); the
shipped DCGANs with the old format names keep the ``accelsim.qgen`` layer chain (``chain``).

Modules: ``hexfile`` (words on disk), ``layout`` (weight packing, tensor records), ``chain`` (the
layer-by-layer run, golden vs C++), ``graph`` (any graph model through the runtime), ``layers`` (what
is exported per layer), ``export``, ``sidecar``, ``manifest`` (reading it back), ``check``.
"""
from accelsim.vectors.check import check_vectors
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.export import CALIB_N, EXPORT_FORMATS, export_chain, is_chain_export
from accelsim.vectors.graph import export_graph


def export_vectors(out_dir: str, model: str = "dcgan-digits", fmt: str = "int8", layer="all", batch: int = 1,
                   seed: int = 0, command: str | None = None, force: bool = False, autoflex: bool = False,
                   generator=None, input_shapes=None, calib: int = CALIB_N) -> dict:
    """Write the vectors to ``out_dir`` (created atomically) and return the manifest.
    ``generator`` (an ``accelsim.qgen.QuantizedGenerator``) replaces the shipped model (tests, user
    chains). ``model`` is any model reference (``accelsim.graph.reference``; ``input_shapes`` for a
    file.py:NAME module): a shipped DCGAN with an old format name takes the ``accelsim.qgen`` layer
    chain (``export.export_chain``), anything else the graph runtime (``graph.export_graph``: the MAC
    nodes that run ``conv_int``). ``calib``: calibration inputs (seed 1234)."""
    if generator is None and not is_chain_export(model, fmt):
        return export_graph(out_dir, model, fmt, layer=layer, batch=batch, seed=seed, command=command,
                            force=force, autoflex=autoflex, input_shapes=input_shapes, calib=calib)
    return export_chain(out_dir, model, fmt, layer=layer, batch=batch, seed=seed, command=command, force=force,
                        autoflex=autoflex, generator=generator, input_shapes=input_shapes, calib=calib)


__all__ = ["EXPORT_FORMATS", "VectorsError", "check_vectors", "export_vectors"]
