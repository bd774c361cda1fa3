"""House rules that are cheap to check: importing accelsim never imports torch (or numba), and
imports follow the data flow (DESIGN.md section 2, docs/design.md): no module imports a layer above
it, no two packages import each other, no cycle between modules, over accelsim/ and models/ (installed
as accelsim.models). Imports under ``if TYPE_CHECKING:`` do not run and do not count."""
import ast
import pathlib
import subprocess
import sys

import pytest

import accelsim
import accelsim.models

PKG = pathlib.Path(accelsim.__file__).parent
MODELS = pathlib.Path(accelsim.models.__file__).parent

# Lower number = earlier in the flow. A module may import its own layer or lower ones.
LAYERS = {
    "accelsim.errors": -1, "accelsim.models": -1,
    "accelsim.blas": 0, "accelsim.jit": 0, "accelsim.files": 0, "accelsim.formats": 0, "accelsim._kernels": 0, "accelsim.native": 0,
    "accelsim.graph": 1, "accelsim.kernels": 1, "accelsim.arch": 1,
    "accelsim.workload": 2, "accelsim.compress": 2, "accelsim.mapping": 2, "accelsim.runtime": 2,
    "accelsim.sim": 3, "accelsim.energy": 4,
    "accelsim.validate": 5, "accelsim.vectors": 5, "accelsim.quality": 5, "accelsim.api": 5, "accelsim.adc_sweep": 5,
    "accelsim.compare": 5, "accelsim.search": 5,
    "accelsim.report": 6, "accelsim.sweep": 6, "accelsim.rtl": 6, "accelsim.imageio": 6, "accelsim.cli": 7,
}


def layer_of(module: str):
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return best


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _runtime_nodes(tree):
    """Every AST node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(module: str, source: str, is_package: bool) -> set[str]:
    out = set()
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                name = ".".join(base + ([node.module] if node.module else []))
                out |= {name} | ({f"{name}.{a.name}" for a in node.names} if not node.module else set())
            elif node.module:
                out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {i for i in out if i.startswith("accelsim")}


def sources() -> dict[str, tuple[str, bool]]:
    """module name -> (source, is_package) for accelsim/ and models/."""
    out = {}
    for root, prefix in ((PKG, "accelsim"), (MODELS, "accelsim.models")):
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("").parts
            module = ".".join((prefix,) + rel).removesuffix(".__init__")
            if root == PKG and rel[0] == "models":
                continue
            out[module] = (path.read_text(), path.name == "__init__.py")
    return out


def violations(srcs: dict[str, tuple[str, bool]]) -> list[str]:
    """Upward imports, packages importing each other, and module cycles."""
    bad = []
    edges: dict[str, set[str]] = {}

    def resolve(name):   # the module (or package __init__) an import names
        while name and name not in srcs:
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return name

    for module, (text, is_pkg) in srcs.items():
        mine = layer_of(module)
        targets = set()
        for name in imports_of(module, text, is_pkg):
            theirs = layer_of(name)
            if mine and theirs and theirs[1] > mine[1]:
                bad.append(f"upward: {module} (layer {mine[1]}) imports {name} (layer {theirs[1]})")
            target = resolve(name)
            if target and target != module and not module.startswith(target + "."):
                targets.add(target)
        edges[module] = targets
    pkg_edges = {}
    for a, targets in edges.items():
        for b in targets:
            if package_of(a) != package_of(b):
                pkg_edges.setdefault(package_of(a), set()).add(package_of(b))
    for a, bs in sorted(pkg_edges.items()):
        for b in sorted(bs):
            if a < b and a in pkg_edges.get(b, set()):
                bad.append(f"packages import each other: {a} <-> {b}")
    # module cycles (Tarjan-free: DFS with colours)
    colour, stack = {}, []

    def visit(m):
        colour[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if t.startswith(m + "."):      # a package's __init__ importing its own modules
                continue
            if colour.get(t) == 1:
                bad.append("cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            elif t not in colour:
                visit(t)
        stack.pop()
        colour[m] = 2

    for m in sorted(edges):
        if m not in colour:
            visit(m)
    return bad


def test_import_accelsim_does_not_import_torch_or_numba():
    code = "import sys, accelsim, accelsim.kernels, accelsim.formats.reference, accelsim.graph, accelsim.runtime; " \
           "print(sorted(m for m in ('torch', 'numba', 'matplotlib', 'onnx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_imports_follow_the_data_flow():
    srcs = sources()
    assert "accelsim.models.registry" in srcs and "accelsim.graph.ir" in srcs
    bad = violations(srcs)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module, source, expected", [
    ("accelsim.formats.evil", "from accelsim.cli import main", "upward: accelsim.formats.evil"),
    ("accelsim.models.evil", "import accelsim.sim.engine", "upward: accelsim.models.evil"),
    ("accelsim.sim.dram", "from accelsim.sim import engine", "cycle: "),
    ("accelsim.arch.evil", "def f():\n    from accelsim.graph import ir\n", "packages import each other"),
])
def test_each_injected_violation_is_caught(module, source, expected):
    srcs = sources()
    assert not violations(srcs)
    if module in srcs:
        text, is_pkg = srcs[module]
        srcs[module] = (text + "\n" + source + "\n", is_pkg)
    else:
        srcs[module] = (source, False)
    if expected == "packages import each other":   # graph -> arch as well, for the pair
        text, is_pkg = srcs["accelsim.graph.ir"]
        srcs["accelsim.graph.ir"] = (text + "\nfrom accelsim.arch import spec\n", is_pkg)
    bad = violations(srcs)
    assert any(b.startswith(expected) for b in bad), bad
