"""Fuzz the strict YAML arch loader (accelsim.arch.loader) on mutations of the shipped presets.

Each input picks a preset (accelsim/arch/presets/*.yaml) and either mutates its parsed tree
(delete, duplicate, rename or add a key; replace a value by another type, NaN, inf, a huge or
negative number, a list, a mapping, null) and re-emits it, or splices fuzzer bytes into its text.
The text is loaded from a file with ``load_arch(path)``. The outcome must be an ``ArchSpec`` or a
one-line ``ValueError`` that names the mutated key (structured mutations), a key of the schema or
the file (text mutations). A spec that loads must also simulate (dcgan-digits, int8) or raise a
one-line ValueError: a loadable spec that crashes the simulator is a finding too.

usage: python tools/fuzz/fuzz_arch.py --seconds 120     (summary: fuzz-out/arch/summary.json)
"""
from __future__ import annotations

import copy
import dataclasses
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import COUNTS, Finding, main  # noqa: E402

PRESETS: dict[str, str] = {}
KEYS: set[str] = set()
TMP = tempfile.mkdtemp(prefix="accelsim-fuzz-arch-")
VALUES = [None, True, False, 0, -1, 1, 3, 2 ** 31, 2 ** 63, 10 ** 30, -1e300, 0.5, 1e-300, float("nan"),
          float("inf"), -float("inf"), "", "x", "lpddr4-3200", "hbm2", "os", "global", [], [1, 2], {}, {"a": 1},
          "1e3", "0x10", 1.0e6, 64, 128, 16, 8, 2]


def setup() -> None:
    import accelsim.api  # noqa: F401  (the simulator, for loadable specs)
    from accelsim.arch import crossbar, loader, spec
    for p in loader._presets_dir().iterdir():
        if p.name.endswith(".yaml"):
            PRESETS[p.name] = p.read_text()
    for cls in (spec.ArchSpec, spec.DramSpec, spec.BufferSpec, spec.ArraySpec, crossbar.CrossbarSpec):
        KEYS.update(f.name for f in dataclasses.fields(cls))
    KEYS.update(["buffers", "dram", "preset", "array", "crossbar", "ifmap", "weight", "ofmap", "global"])


def _paths(node, prefix=()):
    """Every (path, mapping-or-list) in the tree."""
    if isinstance(node, dict):
        yield prefix, node
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def mutate_tree(fdp, tree):
    """Apply one to three structural mutations; returns (new tree, names of the keys touched, duplicate)."""
    touched, dup = [], None
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        maps = [(p, m) for p, m in _paths(tree) if isinstance(m, dict)]
        path, m = maps[fdp.ConsumeIntInRange(0, len(maps) - 1)]
        keys = list(m)
        op = fdp.ConsumeIntInRange(0, 5)
        if not keys or op == 0:   # add an unknown or a known key
            k = fdp.PickValueInList(sorted(KEYS) + ["bogus_key", "Size_KiB", "size_kib ", 7])
            m[k] = fdp.PickValueInList(VALUES)
            touched.extend(str(c) for c in path + (k,))
            continue
        k = keys[fdp.ConsumeIntInRange(0, len(keys) - 1)]
        touched.extend(str(c) for c in path + (k,))   # the key and its ancestors: either may be named
        if op == 1:
            del m[k]
        elif op == 2:
            m[k] = copy.deepcopy(fdp.PickValueInList(VALUES))
        elif op == 3:   # rename
            m[str(k) + fdp.PickValueInList(["_", "s", "X"])] = m.pop(k)
        elif op == 4:   # numeric nudge
            v = m[k]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                m[k] = fdp.PickValueInList([v * 2, -v, v + 1, v - 1, v * 1e9,
                                            int(v) if isinstance(v, float) else float(v)])
        else:
            dup = k   # emit this key twice at its level
    return tree, touched, dup


def emit(tree, dup) -> str:
    import yaml
    text = yaml.safe_dump(tree, sort_keys=False, default_flow_style=False)
    if dup is not None:
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.lstrip().startswith(f"{dup}:"):
                indent = line[:len(line) - len(line.lstrip())]
                lines.insert(i + 1, f"{indent}{dup}: 1")
                break
        text = "\n".join(lines) + "\n"
    return text


def check(data: bytes) -> None:
    import atheris

    from accelsim.arch import ArchSpec, load_arch
    from accelsim.arch.loader import load_yaml
    fdp = atheris.FuzzedDataProvider(data)
    name = fdp.PickValueInList(sorted(PRESETS))
    text = PRESETS[name]
    touched = []
    if fdp.ConsumeBool() and name != "_dram.yaml":
        tree = load_yaml(text, name)
        tree, touched, dup = mutate_tree(fdp, tree)
        text = emit(tree, dup)
        raw = text.encode()
    else:   # splice fuzzer bytes into the text
        pos = fdp.ConsumeIntInRange(0, len(text))
        cut = fdp.ConsumeIntInRange(0, 40)
        raw = text[:pos].encode() + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)) + text[pos + cut:].encode()
    path = os.path.join(TMP, "arch.yaml")
    with open(path, "wb") as f:
        f.write(raw)
    try:
        spec = load_arch(path)
    except ValueError as exc:
        msg = str(exc)
        COUNTS["ValueError"] += 1
        if "\n" in msg or not msg:
            raise Finding("multi-line-error", f"{name}: {msg[:200]!r}",
                          f"multi-line: {msg.splitlines()[0][:60] if msg else ''}")
        named = [k for k in touched if k in msg] if touched else [k for k in KEYS if k in msg]
        if path in msg and ("line" in msg or not touched):   # a file-level error names the file (and line)
            named.append(path)
        if not named and "top level" not in msg:
            raise Finding("unnamed-key", f"{name} (touched {touched}): {msg[:200]}",
                          f"unnamed: {''.join(ch for ch in msg if not ch.isdigit())[:60]}")
        return
    except Exception as exc:  # noqa: BLE001
        raise Finding("unclean-exception", f"{name} (touched {touched}): {type(exc).__name__}: {str(exc)[:200]}",
                      f"{type(exc).__name__}: {str(exc)[:50]}") from exc
    if not isinstance(spec, ArchSpec):
        raise Finding("wrong-type", f"load_arch returned {type(spec).__name__}")
    COUNTS["loaded"] += 1
    if fdp.ConsumeIntInRange(0, 3) == 0:
        import accelsim
        try:
            accelsim.simulate("dcgan-digits", spec, "int8")
            COUNTS["loaded and simulated"] += 1
        except ValueError as exc:
            COUNTS["loaded, simulator refused (ValueError)"] += 1
            if "\n" in str(exc):
                raise Finding("multi-line-error", f"simulate: {str(exc)[:200]!r}", "multi-line simulate")
        except Exception as exc:  # noqa: BLE001
            raise Finding("simulate-crash", f"{name} (touched {touched}): {type(exc).__name__}: {str(exc)[:200]}",
                          f"simulate {type(exc).__name__}: {str(exc)[:50]}") from exc


if __name__ == "__main__":
    sys.exit(main("arch", setup, check))
