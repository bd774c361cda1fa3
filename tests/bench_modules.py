"""Loading a script of benchmarks/ as a module, for the tests that check a benchmark's logic or the
tables it generates into docs/ (the scripts are not a package)."""
import importlib.util
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def load_benchmark(name: str):
    """benchmarks/<name>.py, executed as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
