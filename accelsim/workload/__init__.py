"""Workloads: layers with shapes, numeric formats, compression, a zoo of published generator shapes,
and the pricing of a generator graph (``from_graph``; ``from_torch`` composes the graph importer with
it, importing torch lazily)."""
from accelsim.workload.graph import LayerPlan, Workload, plan
from accelsim.workload.layer import CONV_OPS, ELEMENTWISE_OPS, OPS, Layer
from accelsim.workload.precision import (DEFAULT_FORMATS, FORMATS, NO_COMPRESSION, Compression, Format,
                                         bits_to_bytes, get_format, parse_formats)
from accelsim.workload.zoo import ZOO, get_model


def from_torch(module, input_shape, name: str | None = None) -> Workload:
    """The Workload of a torch ``nn.Module`` taking one float input of ``input_shape`` (batch first):
    ``accelsim.graph.from_torch`` then ``from_graph`` (one importer, one pricing rule set)."""
    import torch

    from accelsim.graph.from_torch import from_torch as import_graph
    from accelsim.graph.passes import deploy
    from accelsim.workload.from_graph import from_graph
    g = deploy(import_graph(module, torch.zeros(tuple(input_shape)), name or type(module).__name__))
    return from_graph(g, name or type(module).__name__)


__all__ = ["CONV_OPS", "DEFAULT_FORMATS", "ELEMENTWISE_OPS", "FORMATS", "NO_COMPRESSION", "OPS", "ZOO",
           "Compression", "Format", "Layer", "LayerPlan", "Workload", "bits_to_bytes", "from_torch",
           "get_format", "get_model", "parse_formats", "plan"]
