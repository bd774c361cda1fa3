"""The generator graph: one representation of a generator for every job (DESIGN.md section 2).

``Graph`` / ``Node`` / ``Input`` (``ir``), the op vocabulary (``ops``), passes (``passes``), the
importers (``from_torch``: torch.export; ``from_onnx``: ONNX files), the shipped models
(``shipped``) and model references (``reference``: a shipped name, ``file.py:NAME``, ``file.onnx``).
"""
from accelsim.graph.ir import Graph, Input, Node
from accelsim.graph.ops import MAC_OPS, OPS

__all__ = ["MAC_OPS", "OPS", "Graph", "Input", "Node"]
