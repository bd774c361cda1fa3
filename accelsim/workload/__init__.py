"""Workloads: layers with shapes, numeric formats, compression, a zoo of published generators and an
importer from torch modules (``from_torch``, imports torch lazily)."""
from accelsim.workload.graph import LayerPlan, Workload, plan
from accelsim.workload.layer import CONV_OPS, ELEMENTWISE_OPS, OPS, Layer
from accelsim.workload.precision import (DEFAULT_FORMATS, FORMATS, NO_COMPRESSION, Compression, Format,
                                         bits_to_bytes, get_format, parse_formats)
from accelsim.workload.zoo import ZOO, get_model


def from_torch(module, input_shape, name: str | None = None) -> Workload:
    """Trace a torch ``nn.Module`` with torch.fx and return its Workload (see ``accelsim.workload.fx``)."""
    from accelsim.workload.fx import from_torch as _from_torch
    return _from_torch(module, input_shape, name)


__all__ = ["CONV_OPS", "DEFAULT_FORMATS", "ELEMENTWISE_OPS", "FORMATS", "NO_COMPRESSION", "OPS", "ZOO",
           "Compression", "Format", "Layer", "LayerPlan", "Workload", "bits_to_bytes", "from_torch",
           "get_format", "get_model", "parse_formats", "plan"]
