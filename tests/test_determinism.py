"""The same command with the same seed writes byte-identical files, with 1 or 2 threads.

Two subprocesses, one with ACCELSIM_NUM_THREADS / OMP_NUM_THREADS / OPENBLAS_NUM_THREADS /
MKL_NUM_THREADS = 1 and one with 2 (the variables are read at start-up: kernel threads, BLAS threads),
each run the same five commands in their own directory with the same relative output paths; every
output file must be identical byte for byte: validate --json, energy --json, compare --json (float
BLAS: the digit-FID features and the float generators), vectors export (every file), sweep --json.
"""
import filecmp
import os
import subprocess
import sys

COMMANDS = [
    ["validate", "--cases", "6", "--seed", "11", "--json", "validate.json"],
    ["energy", "--format", "int8,ternary,flex16", "--no-layers", "--json", "energy.json"],
    ["compare", "--recipes", "fp32,int8", "--images", "8", "--fid-images", "64", "--json", "compare.json"],
    ["vectors", "export", "--format", "int4", "--layer", "3", "--seed", "3", "--out", "vec"],
    ["sweep", "--buffer", "64KiB:256KiB", "--format", "int8", "--jobs", "1", "--no-progress", "--out", "s.db",
     "--json", "sweep.json"],
]
DRIVER = "import sys, json; from accelsim.cli import main; " \
         "sys.exit(max(main(argv) for argv in json.loads(sys.argv[1])))"


def _env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("ACCELSIM_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env.pop("ACCELSIM_ISA", None)
    return env


def test_outputs_identical_with_1_and_2_threads(tmp_path):
    import json
    procs = {}
    for threads in (1, 2):   # both at once: the test takes one run's time on two cores
        d = tmp_path / f"t{threads}"
        d.mkdir()
        procs[threads] = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(COMMANDS)], cwd=d,
                                          env=_env(threads), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for threads, p in procs.items():
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, f"threads={threads}: {err[-2000:]}"
    a, b = tmp_path / "t1", tmp_path / "t2"
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file() and p.suffix != ".db")
    assert {"validate.json", "energy.json", "compare.json", "sweep.json", "vec/manifest.json"} <= set(files)
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors, f"differ between 1 and 2 threads: {mismatch + errors}"
