"""Strict YAML loading of ArchSpec presets and user files.

PyYAML's SafeLoader silently keeps the last of two equal keys; ``StrictLoader`` rejects them. Every
mapping is checked against the dataclass fields: unknown and missing keys, wrong types and
out-of-range values raise ``ConfigError`` naming the key path (``buffers.ifmap.size_kib``); an unknown
key's message lists every key allowed at that place.
"""
from __future__ import annotations

import os
from dataclasses import MISSING, fields
from importlib import resources

import yaml

from accelsim.arch.crossbar import CrossbarSpec
from accelsim.arch.spec import BUFFER_ROLES, ArchSpec, ArraySpec, BufferSpec, DramSpec
from accelsim.errors import ConfigError


MAX_YAML_BYTES = 1 << 20     # an architecture file is a few KiB; refuse anything past 1 MiB
MAX_YAML_DEPTH = 32          # nesting levels (ArchSpec needs 4)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that raises on a repeated key in any mapping, on any alias (``*name``: no
    architecture needs one, and an alias bomb expands exponentially) and on nesting deeper than
    ``MAX_YAML_DEPTH`` (RecursionError otherwise)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise ConfigError(f"key {key!r} (line {key_node.start_mark.line + 1}) is not a plain name")
        if key in seen:
            raise ConfigError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1}, first at line {seen[key]})")
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, what: str):
    """Parse with ``StrictLoader``; a syntax error is a one-line ConfigError naming ``what``, line and column."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{what}: larger than {MAX_YAML_BYTES // 1024} KiB; not an architecture file")
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
        problem = " ".join(str(problem).split())
        raise ConfigError(f"{what}: not valid YAML{where}: {problem}") from None
    except ConfigError as exc:   # from StrictLoader (a repeated or non-scalar key): name the file too
        raise ConfigError(f"{what}: {exc}") from None


def _reject_unknown(data: dict, allowed, path: str) -> None:
    """ConfigError on the first key of ``data`` not in ``allowed``, listing every allowed key (sorted)."""
    unknown = sorted(set(data) - set(allowed), key=str)   # keys of any YAML scalar type (1: x), never a TypeError
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key; allowed: {', '.join(sorted(allowed))}")


def _build(cls, data, path: str, extra: dict | None = None, internal: frozenset = frozenset(),
           also: frozenset = frozenset()):
    """Construct dataclass ``cls`` from mapping ``data``; nested spec fields, already built from keys
    the caller took out of ``data``, are passed in ``extra``. ``internal``: fields that are not YAML
    keys (a buffer's role is its key under ``buffers``); ``also``: keys the caller accepted and removed
    (``dram.preset``), listed as allowed."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'top level'}: expected a mapping, got {type(data).__name__}")
    extra = extra or {}
    names = {f.name for f in fields(cls)} - set(internal)
    _reject_unknown(data, names | set(also), path)
    kwargs = dict(data)
    kwargs.update(extra)
    missing = [f.name for f in fields(cls) if f.name not in kwargs
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise ConfigError(f"{path + '.' if path else ''}{missing[0]}: missing required key")
    return cls(**kwargs)


def _presets_dir():
    return resources.files("accelsim.arch") / "presets"


def dram_presets() -> dict:
    return load_yaml((_presets_dir() / "_dram.yaml").read_text(), "presets/_dram.yaml")


def _dram(data, path="dram") -> DramSpec:
    presets = dram_presets()
    if isinstance(data, str):
        data = {"preset": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a preset name or a mapping")
    data = dict(data)
    name = data.pop("preset", None)
    if name is not None:
        if not isinstance(name, str) or name not in presets:
            raise ConfigError(f"{path}.preset: unknown DRAM preset {name!r}; known: {', '.join(presets)}")
        base = dict(presets[name])
        _reject_unknown(data, {f.name for f in fields(DramSpec)} | {"preset"}, path)
        base.update(data)
        base.setdefault("name", name)
        data = base
    data.setdefault("name", "custom")
    return _build(DramSpec, data, path, also=frozenset({"preset"}))


def arch_from_dict(data: dict, what: str = "arch") -> ArchSpec:
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: expected a mapping at the top level")
    data = dict(data)
    _reject_unknown(data, {f.name for f in fields(ArchSpec)}, "")
    if "array" not in data and "crossbar" not in data:
        raise ConfigError("array: missing required key (or crossbar: ReRAM tiles instead of a PE array)")
    if "array" in data and "crossbar" in data:
        raise ConfigError("array, crossbar: give exactly one of array (a PE array) or crossbar (ReRAM tiles)")
    for key in ("buffers", "dram"):
        if key not in data:
            raise ConfigError(f"{key}: missing required key")
    array = _build(ArraySpec, data.pop("array"), "array") if "array" in data else None
    crossbar = _build(CrossbarSpec, data.pop("crossbar"), "crossbar") if "crossbar" in data else None
    bufs = data.pop("buffers")
    if not isinstance(bufs, dict) or not bufs:
        raise ConfigError("buffers: expected a mapping of role -> buffer")
    buffers = []
    for role, spec in bufs.items():
        if role not in BUFFER_ROLES:
            raise ConfigError(f"buffers.{role}: unknown buffer role; allowed: {', '.join(sorted(BUFFER_ROLES))}")
        buffers.append(_build(BufferSpec, spec, f"buffers.{role}", {"role": role}, internal=frozenset({"role"})))
    dram = _dram(data.pop("dram"))
    return _build(ArchSpec, data, "", {"array": array, "buffers": tuple(buffers), "dram": dram,
                                       "crossbar": crossbar})


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in _presets_dir().iterdir()
                  if p.name.endswith(".yaml") and not p.name.startswith("_"))


def load_arch(name_or_path: str) -> ArchSpec:
    """A preset name (``edge-npu``) or the path of a YAML file."""
    if name_or_path in preset_names():
        path = _presets_dir() / f"{name_or_path}.yaml"
        return arch_from_dict(load_yaml(path.read_text(), name_or_path), name_or_path)
    if name_or_path.endswith((".yaml", ".yml")) or os.sep in name_or_path:
        if not os.path.exists(name_or_path):
            raise ConfigError(f"arch file {name_or_path} does not exist")
        if not os.path.isfile(name_or_path):
            raise ConfigError(f"arch file {name_or_path} is not a regular file")
        try:
            with open(name_or_path, "rb") as f:
                raw = f.read(MAX_YAML_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"arch file {name_or_path}: cannot read: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"arch file {name_or_path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                             f"{exc.start})") from None
        return arch_from_dict(load_yaml(text, name_or_path), name_or_path)
    raise ConfigError(f"unknown arch preset {name_or_path!r}; presets: {', '.join(preset_names())} "
                     "(or give a .yaml file)")
