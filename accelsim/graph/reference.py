"""Model references: what ``--model`` takes in every command, turned into a ``LoadedModel``.

A reference is one of
  * a shipped generator (``dcgan-digits``, ``dcgan-fashion``, ``sr-x4``: the graph is built from the
    shipped weights, no torch); the published shapes without weights (``dcgan-64``, ...) are resolved
    for pricing by ``accelsim.workload.models``;
  * ``path/to/file.py:NAME`` where NAME is an ``nn.Module`` subclass constructible with no arguments,
    a zero-argument callable returning a module, or one returning ``(module, example_inputs)`` (a
    tensor or a tuple of tensors); when only a module is given, ``input_shapes`` (one ``C,H,W`` per
    input, batch excluded) says what it takes;
  * ``path/to/model.onnx``.
Every failure is a ``ModelError`` of one line naming the file and NAME (or node).
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

import numpy as np

from accelsim.errors import ModelError
from accelsim.graph.ir import Graph
from accelsim.graph.passes import deploy

INPUT_SEED = 0       # example inputs of a user model: standard normal (labels uniform), this seed


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A generator ready for every job: its deploy-form graph (BatchNorm folded, identities removed)
    and where it came from."""
    name: str
    graph: Graph
    origin: str

    @property
    def shipped_dcgan(self) -> bool:
        from accelsim.models import registry
        return self.name in registry.GENERATORS and self.name.startswith("dcgan") and self.origin.startswith("shipped")

    @property
    def input_source(self) -> str:
        """Where ``example_inputs`` comes from (recorded in manifests)."""
        return ("accelsim.models.registry.latents" if self.shipped_dcgan
                else "accelsim.graph.reference.LoadedModel.example_inputs")

    def example_inputs(self, n: int, seed: int = INPUT_SEED) -> tuple[np.ndarray, ...]:
        """``n`` inputs of the graph's shapes, what every command feeds the model: the shipped DCGANs'
        fixed latents (``registry.latents``); else floats N(0, 1) and integer inputs uniform over the
        range of the embedding that reads them."""
        if self.shipped_dcgan:
            from accelsim.models import registry
            return (registry.latents(n, seed, z_dim=self.graph.inputs[0].shape[1]).astype(np.float64),)
        rng = np.random.default_rng(seed)
        consumers = self.graph.consumers()
        out = []
        for i in self.graph.inputs:
            shape = (n, *i.shape[1:])
            if i.dtype == "int":
                emb = [c for c in consumers[i.name] if c.op == "embedding"]
                hi = min(c.params["weight"].shape[0] for c in emb) if emb else 2
                out.append(rng.integers(0, hi, shape))
            else:
                out.append(rng.standard_normal(shape))
        return tuple(out)


def parse_input_shapes(values) -> tuple[tuple[int, ...], ...]:
    """``["3,256,256", "10"]`` -> ((3, 256, 256), (10,)): one shape per model input, batch excluded."""
    shapes = []
    for v in values or ():
        parts = [p.strip() for p in str(v).split(",")]
        if not parts or not all(re.fullmatch(r"[0-9]{1,6}", p) for p in parts) or min(int(p) for p in parts) < 1:
            raise ModelError(f"input shape {v!r}: expected positive integers such as 3,256,256 (batch excluded)")
        shape = tuple(int(p) for p in parts)
        from accelsim.graph.ir import MAX_VALUE_ELEMS
        n = 1
        for d in shape:
            n *= d
        if n > MAX_VALUE_ELEMS:
            raise ModelError(f"input shape {v!r}: {n:,} elements per image, more than 2^28")
        shapes.append(shape)
    return tuple(shapes)


def load(ref: str, input_shapes=None) -> LoadedModel:
    """The model a reference names (see the module docstring)."""
    if not isinstance(ref, str) or not ref.strip():
        raise ModelError(f"model reference must be a non-empty string, got {ref!r}")
    shapes = parse_input_shapes(input_shapes)
    if ref.lower().endswith(".onnx"):
        if shapes:
            raise ModelError(f"{ref}: input shapes come from the ONNX file; drop the input shape")
        from accelsim.graph.from_onnx import from_onnx
        _check_file(ref)
        g = from_onnx(ref)
        return LoadedModel(g.name, deploy(g), ref)
    m = re.fullmatch(r"(.+\.py):([A-Za-z_][A-Za-z0-9_]*)", ref)
    if m:
        return _load_python(m.group(1), m.group(2), shapes)
    if ref.endswith(".py") or ":" in ref:
        raise ModelError(f"model reference {ref!r}: expected path/to/file.py:NAME (NAME a module class or factory)")
    if shapes:
        raise ModelError(f"{ref}: a shipped model has fixed inputs; drop the input shape")
    from accelsim.graph.shipped import shipped_graph
    from accelsim.models import registry
    if ref in registry.GENERATORS:
        return LoadedModel(ref, shipped_graph(ref), f"shipped: {ref}")
    raise ModelError(f"unknown model {ref!r}; shipped generators: {', '.join(registry.GENERATORS)}; or give "
                     "path/to/file.py:NAME or path/to/model.onnx")


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise ModelError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise ModelError(f"{path}: not a regular file")


def _load_python(path: str, name: str, shapes) -> LoadedModel:
    import importlib.util
    _check_file(path)
    where = f"{path}:{name}"
    try:
        import torch
    except ImportError:
        raise ModelError(f"{where}: importing a torch model needs torch (pip install 'accelsim[torch]')") from None
    mod_name = f"accelsim_user_{abs(hash(os.path.abspath(path)))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:   # noqa: BLE001 - the user's file: one line naming it
        raise ModelError(f"{path}: importing the file failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    if not hasattr(module, name):
        found = sorted(k for k, v in vars(module).items() if not k.startswith("_") and callable(v)
                       and getattr(v, "__module__", None) == mod_name)
        raise ModelError(f"{where}: the file has no {name!r}" + (f"; it defines {', '.join(found[:12])}" if found else ""))
    obj = getattr(module, name)
    if not callable(obj):
        raise ModelError(f"{where}: {name!r} is not a class or a function")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(INPUT_SEED)
            made = obj()
    except Exception as exc:   # noqa: BLE001
        raise ModelError(f"{where}: calling {name}() failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], torch.nn.Module):
        net, inputs = made
        if shapes:
            raise ModelError(f"{where}: {name}() returns its example inputs; drop the input shape")
    elif isinstance(made, torch.nn.Module):
        net = made
        if not shapes:
            raise ModelError(f"{where}: {name}() returns only a module; give its input shape (C,H,W per input, "
                             "batch excluded), or return (module, example_inputs)")
        import inspect
        try:
            params = [p for p in inspect.signature(net.forward).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = None
        if params is not None and not any(p.kind == p.VAR_POSITIONAL for p in
                                          inspect.signature(net.forward).parameters.values()):
            required = [p for p in params if p.default is p.empty]
            if not len(required) <= len(shapes) <= len(params):
                raise ModelError(f"{where}: forward() takes {len(required)} input(s) "
                                 f"({', '.join(p.name for p in params)}), {len(shapes)} input shape(s) given")
        gen = torch.Generator().manual_seed(INPUT_SEED)
        inputs = tuple(torch.randn((1, *s), generator=gen) for s in shapes)
    else:
        raise ModelError(f"{where}: {name}() returned {type(made).__name__}; expected an nn.Module or "
                         "(module, example_inputs)")
    from accelsim.graph.from_torch import from_torch
    g = from_torch(net, inputs, name=name, origin=where)
    return LoadedModel(name, deploy(g), where)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
