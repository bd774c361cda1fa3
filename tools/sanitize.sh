#!/usr/bin/env bash
# Build the kernels with AddressSanitizer + UndefinedBehaviorSanitizer in a scratch copy of the
# repo and run the kernel test suite against that build. Any sanitizer report fails the run
# (-fno-sanitize-recover, halt_on_error). Uses the current Python environment (needs numpy,
# pybind11, setuptools, pytest, hypothesis, cffi); torch-based tests are not part of the subset.
#
# usage: tools/sanitize.sh [extra pytest args]      env: ACCELSIM_SANITIZE (default address,undefined)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
san="${ACCELSIM_SANITIZE:-address,undefined}"
work="$(mktemp -d /tmp/accelsim-sanitize.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# a clean copy of the sources: tracked and new (not ignored) files, no in-tree build products; a tracked
# file deleted in the work tree is skipped (--ignore-failed-read)
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | (cd "$repo" && tar cf - --null -T - --ignore-failed-read 2>/dev/null) | tar xf - -C "$work"
cd "$work"
# The build needs pybind11 and setuptools in this environment (pip install builds in an isolated one).
python -c "import pybind11, setuptools" 2>/dev/null || python -m pip install -q "pybind11>=2.13" "setuptools>=68" wheel
echo "== strict aliasing: every C++ source compiles clean with -fstrict-aliasing -Wstrict-aliasing=1 -Werror"
# Python's, pybind11's and numpy's headers are system headers here (as in setup.py): their own puns are not ours.
sys_inc=$(python -c 'import sysconfig, numpy, pybind11; print(" ".join("-isystem " + d for d in sorted({sysconfig.get_paths()["include"], sysconfig.get_paths()["platinclude"], pybind11.get_include(), numpy.get_include()})))')
for src in csrc/src/*.cpp csrc/capi.cpp csrc/bindings.cpp; do
  # shellcheck disable=SC2086
  g++ -std=c++17 -O3 -fstrict-aliasing -Wstrict-aliasing=1 -Werror=strict-aliasing $sys_inc -Icsrc/include -c "$src" -o /dev/null
done
echo "== building accelsim with -fsanitize=$san in $work"
ACCELSIM_SANITIZE="$san" python setup.py -q build_ext --inplace >build.log 2>&1 || { tail -30 build.log; exit 1; }
if grep -n "\[-Wstrict-aliasing" build.log; then echo "strict-aliasing warnings in the build (above)"; exit 1; fi
preload=""
case "$san" in *address*) preload="$(gcc -print-file-name=libasan.so)";; esac
case "$san" in *undefined*) preload="${preload:+$preload:}$(gcc -print-file-name=libubsan.so)";; esac
echo "== running the kernel tests under the sanitizers (LD_PRELOAD=$preload)"
# Python itself is not instrumented: leak checking would report the interpreter's own allocations.
env LD_PRELOAD="$preload" \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    PYTHONPATH="$work" \
    python -m pytest -q -p no:cacheprovider \
      tests/test_kernels_bitexact.py tests/test_kernels_errors.py tests/test_capi.py tests/test_vector_ops.py \
      tests/test_validate_cli.py tests/test_fuzz_regressions.py tests/test_kernels_tiles.py tests/test_phase_convt.py \
      tests/test_implicit_conv.py tests/test_requant_row.py tests/test_frozen_weights.py tests/test_xnor_f64.py \
      tests/test_array_cache.py tests/test_dense_convt.py tests/test_dequantize_add.py "$@"
