"""House rules that are cheap to check: importing accelsim never imports torch (or numba), and
imports follow the data flow (DESIGN.md section 2): no module imports a layer above it."""
import ast
import pathlib
import subprocess
import sys

import accelsim

PKG = pathlib.Path(accelsim.__file__).parent

# Lower number = earlier in the flow. A module may import its own layer or lower ones.
LAYERS = {
    "accelsim.errors": -1, "accelsim.blas": 0, "accelsim.formats": 0, "accelsim.graph": 1, "accelsim._kernels": 0, "accelsim.native": 0,
    "accelsim.kernels": 1,
    "accelsim.workload": 2, "accelsim.compress": 2, "accelsim.arch": 1,
    "accelsim.mapping": 2, "accelsim.sim": 3, "accelsim.energy": 4,
    "accelsim.qgen": 2, "accelsim.runtime": 2, "accelsim.validate": 5, "accelsim.vectors": 5, "accelsim.quality": 5, "accelsim.api": 5, "accelsim.adc_sweep": 5,
    "accelsim.compare": 5, "accelsim.report": 6, "accelsim.sweep": 6, "accelsim.imageio": 6, "accelsim.cli": 7, "accelsim.models": -1,
}


def layer_of(module: str):
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return best


def test_import_accelsim_does_not_import_torch_or_numba():
    code = "import sys, accelsim, accelsim.kernels, accelsim.formats.reference; " \
           "print(sorted(m for m in ('torch', 'numba', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_imports_follow_the_data_flow():
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        mine = layer_of(module)
        if mine is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                theirs = layer_of(name)
                if theirs and theirs[1] > mine[1]:
                    bad.append(f"{module} (layer {mine[1]}) imports {name} (layer {theirs[1]})")
    assert not bad, "\n".join(bad)
