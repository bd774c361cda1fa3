"""The same command with the same seed writes byte-identical files, for any thread count and any SIMD path.

Subprocesses each run the same five commands in their own directory with the same relative output
paths, with ACCELSIM_NUM_THREADS / OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS = 1, 2 and
3 (read at start-up: kernel threads, BLAS threads), and with ACCELSIM_ISA forced to every SIMD path the
CPU has; every output file must be identical byte for byte: validate --json, energy --json, compare
--json (float BLAS: the digit-FID features and the float generators), vectors export (every file),
sweep --json. Float BLAS results depend on the thread count with some OpenBLAS kernels (Haswell, Zen:
issue 13 item 8), which is why ``accelsim.blas`` runs every reported float product on one thread; the
tests below also pin that mechanism itself, so they fail on any machine if it breaks.
"""
import filecmp
import json
import os
import subprocess
import sys

import numpy as np

from accelsim import kernels

COMMANDS = [
    ["validate", "--cases", "6", "--seed", "11", "--json", "validate.json"],
    ["energy", "--format", "int8,ternary,flex16", "--no-layers", "--json", "energy.json"],
    ["compare", "--recipes", "fp32,int8,lowrank50", "--images", "8", "--fid-images", "64", "--no-cache",
     "--json", "compare.json"],
    ["vectors", "export", "--format", "int4", "--layer", "3", "--seed", "3", "--out", "vec"],
    ["sweep", "--buffer", "64KiB:256KiB", "--format", "int8", "--jobs", "1", "--no-progress", "--out", "s.db",
     "--json", "sweep.json"],
]
DRIVER = "import sys, json; from accelsim.cli import main; " \
         "sys.exit(max(main(argv) for argv in json.loads(sys.argv[1])))"
THREAD_VARS = ("ACCELSIM_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _env(threads: int, isa: str | None = None) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env.pop("ACCELSIM_ISA", None)
    # the subprocesses run in a temp dir: import the tree under test, not whatever accelsim is installed
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if isa:
        env["ACCELSIM_ISA"] = isa
    return env


def _run_all(tmp_path, variants: dict) -> None:
    """Run COMMANDS once per variant (name -> env), two at a time, and assert all outputs equal."""
    names = list(variants)
    for i in range(0, len(names), 2):   # two at once: the machine has two cores
        procs = {}
        for name in names[i:i + 2]:
            d = tmp_path / name
            d.mkdir()
            procs[name] = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(COMMANDS)], cwd=d,
                                           env=variants[name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, p in procs.items():
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, f"{name}: {err[-2000:]}"
    first = tmp_path / names[0]
    files = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file() and p.suffix != ".db")
    assert {"validate.json", "energy.json", "compare.json", "sweep.json", "vec/manifest.json"} <= set(files)
    for name in names[1:]:
        match, mismatch, errors = filecmp.cmpfiles(first, tmp_path / name, files, shallow=False)
        if "vec/manifest.json" in mismatch:   # it names the SIMD path that checked the vectors; nothing else may differ
            a, b = (json.loads((d / "vec/manifest.json").read_text()) for d in (first, tmp_path / name))
            if a["kernel_check"].pop("isa") != b["kernel_check"].pop("isa") and a == b:
                mismatch.remove("vec/manifest.json")
        assert not mismatch and not errors, f"{names[0]} and {name} differ: {mismatch + errors}"


def test_outputs_identical_with_1_2_and_3_threads_and_every_isa(tmp_path):
    variants = {f"threads{t}": _env(t) for t in (1, 2, 3)}
    variants.update({f"isa-{isa}": _env(2, isa) for isa in kernels.available_isas()})
    _run_all(tmp_path, variants)


# The mechanism, checked where it can fail on any machine (the outputs above differ only where
# OpenBLAS picks a thread-dependent kernel, which this machine's CPU may not do).
PROBE = """
import json, sys
from accelsim.blas import one_thread, blas_threads
with one_thread():              # entered before numpy is imported: numpy's BLAS must still be limited
    import numpy as np
    from threadpoolctl import threadpool_info
    inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with one_thread():
        nested = blas_threads()
    still = blas_threads()
after = blas_threads()
print(json.dumps({"inside": inside, "nested": nested, "still": still, "after": after}))
"""


def test_one_thread_limits_blas_even_when_numpy_is_imported_inside():
    env = _env(2)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    assert got["inside"] and set(got["inside"]) == {1}, got
    assert set(got["nested"]) == {1} and set(got["still"]) == {1}, got
    assert set(got["after"]) == {min(2, os.cpu_count())}, got   # the user's setting is restored on the way out


def test_cli_and_float_paths_run_blas_on_one_thread(monkeypatch):
    """The CLI runs every command under the limit, and each float path of a reported figure holds it
    itself (for library callers)."""
    from accelsim import blas, quality
    from accelsim.compress import lowrank
    from accelsim.formats import fastconv
    from accelsim.formats.conv import ConvSpec

    seen = []
    real = blas.blas_threads

    def spy_matmul(fn):
        def wrapped(*a, **k):
            seen.append((fn.__name__, tuple(real())))
            return fn(*a, **k)
        return wrapped

    # The innermost float work of each path, observed while it runs.
    monkeypatch.setattr(quality._features, "digit_features", spy_matmul(quality._features.digit_features))
    monkeypatch.setattr(np.linalg, "svd", spy_matmul(np.linalg.svd))
    monkeypatch.setattr(np, "matmul", spy_matmul(np.matmul))
    rng = np.random.default_rng(0)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    fastconv.conv_transpose2d_gemm(rng.standard_normal((1, 4, 3, 3)), rng.standard_normal((4, 2, 4, 4)), spec)
    lowrank.svd_factors(rng.standard_normal((6, 5)), 2)
    quality.digit_fid(rng.uniform(-1, 1, (4, 1, 32, 32)))
    names = {name for name, _ in seen}
    assert {"matmul", "svd", "digit_features"} <= names, names
    assert all(set(threads) == {1} for _, threads in seen), seen
