"""Issue 13 item 6: `accelsim validate` can fail. The kernels carry test-only mutants of their arithmetic
(csrc/src/mutants.hpp: rounding ties, saturation bound, zero-point signs, popcount offset, flex
rounding); this test compiles the extension once with -DACCELSIM_MUTANTS into a temp dir (under another
module name, so it loads beside the real one), switches each mutant on in turn and asserts that
``accelsim.validate`` reports mismatches for it, and none with no mutant selected.

One build with a run-time switch instead of one build per mutant: a kernel build takes ~30 s on two
cores, eight of them would take minutes. A normal build compiles the switches out (constant false).
"""
import concurrent.futures as cf
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from accelsim import kernels
from accelsim.formats import reference
from accelsim.validate import runner

ROOT = Path(__file__).resolve().parents[1]
MODULE = "_kernels_mutants"

# mutant -> the formats whose cases exercise it (csrc/src/mutants.hpp lists what each one changes)
MUTANTS = {
    1: ("int8", "int4", "int16", "w3a3", "w8a12"),   # integer requant: rdpot ties toward +inf
    2: ("int8", "int4", "int16", "w3a3", "w8a12"),   # integer requant: srdhm ties toward zero
    3: ("int8", "int4", "w3a3"),                     # upper saturation bound qmax - 1
    4: ("int8", "int4", "w3a3"),                     # output zero point subtracted
    5: ("binary",),                                  # XNOR popcount offset
    6: ("int8", "int4", "int16", "w3a3", "w8a12"),   # torch requant: ties away from zero
    7: ("flex16",),                                  # flex output: round half up
    8: ("int8", "int4", "ternary", "w4a8"),          # conv: activation zero point added
}
CASES = 60   # per format; the first mismatch is enough, every mutant is caught well within this


def _compile(args):
    src, obj, flags = args
    subprocess.run(["g++", *flags, "-c", str(src), "-o", str(obj)], check=True, capture_output=True, text=True)
    return obj


@pytest.fixture(scope="module")
def mutant_kernels(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    pybind11 = pytest.importorskip("pybind11")
    out = tmp_path_factory.mktemp("mutants")
    flags = ["-O1", "-std=c++17", "-fPIC", "-ffp-contract=off", "-fvisibility=hidden", "-DACCELSIM_MUTANTS",
             f"-DACCELSIM_PYMODULE={MODULE}", f"-I{ROOT / 'csrc' / 'include'}", f"-I{pybind11.get_include()}",
             f"-I{sysconfig.get_paths()['include']}", f"-I{np.get_include()}"]
    sources = sorted((ROOT / "csrc" / "src").glob("*.cpp")) + [ROOT / "csrc" / "bindings.cpp"]
    jobs = [(s, out / (s.stem + ".o"), flags) for s in sources]
    with cf.ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as ex:
        try:
            objs = list(ex.map(_compile, jobs))
        except subprocess.CalledProcessError as e:
            pytest.fail(f"mutant build failed: {e.stderr[-2000:]}")
    so = out / (MODULE + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(["g++", "-shared", "-o", str(so), *map(str, objs), "-lpthread"], check=True)
    spec = importlib.util.spec_from_file_location(MODULE, so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[MODULE] = mod
    return mod


def _mismatches(mod, monkeypatch, mutant: int, formats) -> int:
    mod.set_mutant(mutant)
    monkeypatch.setattr(kernels, "_k", mod)
    try:
        summary = runner.validate(CASES, seed=13, formats=formats, isas=[kernels.active_isa()], jobs=1)
    finally:
        mod.set_mutant(0)
    return sum(r["mismatches"] for r in summary["formats"].values())


def test_no_mutant_no_mismatch(mutant_kernels, monkeypatch):
    formats = sorted({f for fs in MUTANTS.values() for f in fs})
    assert _mismatches(mutant_kernels, monkeypatch, 0, formats) == 0


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_validate_catches_mutant(mutant_kernels, monkeypatch, mutant):
    assert _mismatches(mutant_kernels, monkeypatch, mutant, MUTANTS[mutant]) > 0, f"mutant {mutant} survived"


@pytest.mark.parametrize("mutant, acc, shift", [
    (1, [-6, -10, -14, -2 * 101], 1),   # h = -3, -5, ...: rdpot ties of negative h (-1.5 -> -2)
    (2, [3, 5, 7, 2 * 99 + 1], 0),      # acc * 2^30 = odd * 2^30: srdhm ties of a positive product
])
def test_requant_row_mutants_on_every_isa(mutant_kernels, monkeypatch, mutant, acc, shift):
    """The explicit SIMD requantization row kernels (hot_avx512.cpp / hot_avx2.cpp requant_row; the amx
    table takes AVX-512's) carry mutants 1 and 2 in their own arithmetic: on every ISA a row of ties
    changes both in the vector body (elements 0..31) and in the tail (32..36) with the mutant on, and
    equals the golden model with it off."""
    monkeypatch.setattr(kernels, "_k", mutant_kernels)
    row = np.resize(np.array(acc, np.int32), 37).reshape(1, 1, 37)
    args = dict(zero_point=0, out_bits=8, out_signed=True)
    want = reference.requantize_integer(row, 1 << 30, shift, **args)
    for isa in kernels.available_isas():
        with kernels.use_isa(isa):
            try:
                mutant_kernels.set_mutant(mutant)
                got = kernels.requantize_integer(row, 1 << 30, shift, **args)
            finally:
                mutant_kernels.set_mutant(0)
            clean = kernels.requantize_integer(row, 1 << 30, shift, **args)
        np.testing.assert_array_equal(clean, want, err_msg=isa)
        diff = (got != want).reshape(-1)
        assert diff[:32].all() and diff[32:].all(), f"mutant {mutant} survived on {isa}: {got} vs {want}"
