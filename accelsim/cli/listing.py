"""accelsim models / formats / archs: what exists, one line each."""
from __future__ import annotations

from accelsim.cli.options import examples

EXAMPLES = {"models": ("accelsim models", "accelsim energy --model dcgan-64"),
            "formats": ("accelsim formats", "accelsim energy --format w8a8,w4a8,w2a8,flex16+5"),
            "archs": ("accelsim archs", "accelsim energy --arch tpu-like --format w8a8")}


def register(sub) -> None:
    for name, text, func in (("models", "shipped generators (any file.py:NAME or .onnx works too)", _models),
                             ("formats", "numeric formats (one registry; old names are aliases)", _formats),
                             ("archs", "accelerator presets", _archs)):
        p = sub.add_parser(name, help=text, description=f"accelsim {name}: {text}", **examples(*EXAMPLES[name]))
        p.set_defaults(func=func)


def _table(rows) -> None:
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{width}}  {'  '.join(str(c) for c in r[1:])}")


def _models(args) -> int:
    from accelsim.workload.models import model_listing
    _table(model_listing())
    print("\nyour own: --model path/to/file.py:NAME [--input-shape C,H,W], or --model path/to/model.onnx")
    return 0


def _formats(args) -> int:
    from accelsim.formats.registry import listing
    _table([(n, d + (f" (alias: {a})" if a else "")) for n, a, d in listing()])
    print("\nany wNaM (N = weight bits 1..16, M = activation bits 1..16; w2 = ternary, w1 = binary); "
          "per layer: 'w4a8,first=w8a8,last=w8a8'")
    return 0


def _archs(args) -> int:
    from accelsim.arch import load_arch
    from accelsim.arch.loader import preset_names
    rows = []
    for n in preset_names():
        a = load_arch(n)
        what = (f"ReRAM crossbar {a.crossbar.rows}x{a.crossbar.cols}" if a.kind == "crossbar"
                else f"{a.array.rows}x{a.array.cols} {a.array.dataflow} array")
        rows.append((n, f"{what}, {a.clock_mhz:g} MHz, {a.tech_node_nm} nm, {a.dram.name}"))
    _table(rows)
    return 0
