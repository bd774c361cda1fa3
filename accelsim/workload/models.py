"""What ``--model`` names, as a Workload to price: a published shape of the zoo by name (these have
no weights), or any model reference that ``accelsim.graph.reference`` loads (shipped weights,
``file.py:NAME``, ``file.onnx``), lowered by ``from_graph``."""
from __future__ import annotations

from accelsim.workload.from_graph import from_graph
from accelsim.workload.graph import Workload
from accelsim.workload.zoo import ZOO, get_model


def resolve_workload(ref: str, input_shapes=None) -> Workload:
    from accelsim.models import registry
    if (ref in ZOO or ref in registry.GENERATORS) and not input_shapes:
        return get_model(ref)
    from accelsim.graph.reference import load
    loaded = load(ref, input_shapes)
    return from_graph(loaded.graph, loaded.name)


def model_listing() -> list[tuple[str, str]]:
    """(name, one line) of every shipped model: generators with weights, then published shapes."""
    from accelsim.models import registry
    rows = [(n, "shipped weights: runs in every format and prices") for n in registry.GENERATORS]
    rows += [(n, (ZOO[n].__doc__ or "").strip().splitlines()[0].rstrip(",") + " [shape only: prices]")
             for n in ZOO if n not in registry.GENERATORS]
    return rows
