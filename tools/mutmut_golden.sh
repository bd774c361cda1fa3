#!/usr/bin/env bash
# Mutation testing of the golden model (issue 13 item 6): mutmut mutates one file of accelsim/formats/
# in a scratch copy of the repo and runs the tests that pin it: the golden model against the C++
# kernels, exact rational arithmetic and torch, bit for bit, plus the focused tests written against
# the mutants (tests/test_requant_mutants.py, tests/test_golden_mutants.py).
#
#   MUTMUT_FILE (default accelsim/formats/requant.py) is the file mutated, one of
#     requant.py    requantization and rounding (srdhm_rndnu, rdpot_rndna, quantize_multiplier, fma32, ...)
#     fixed.py      int2..int16 codes, quantize, weight scales (minmax/mse/em), bias, accumulator bounds
#     binary.py     sign codes, pack_signs bit order, the xnor convolution and its int32 bound
#     ternary.py    TWN threshold, alpha, the mse/em mask search
#     flexpoint.py  flex16+5 conversion, exponent search, output shift, saturation, Autoflex
#     conv.py       ConvSpec (every refusal and bound), output sizes, conv2d and the scatter and gather
#                   forms of conv_transpose2d (tests/test_conv_golden_mutants.py: brute force per definition)
#     fastconv.py   the float runtime's GEMM convolutions (exact on int64 inputs: the same brute force)
#     reference.py  the golden kernels' one signature: argument checks, accumulator dtype, act and LUT
#     vector.py     the vector unit's ops on codes: instance norm (+ add), pad, quantize, dequantize
#   (a bare name like "fixed" or "fixed.py" means accelsim/formats/fixed.py). Each file has its own default
#   test set (below): the fast tests that exercise it, so one mutant runs in a few seconds.
#
# Every mutant must be caught: killed by a test, or a timeout, or listed with a one-line reason in
# tools/mutmut_equivalent.txt (mutants that cannot change any result: equivalent code, or the text of
# an error message). The script exits 1 if a surviving mutant is not listed there, and names listed
# mutants of the mutated file that were killed or no longer exist (stale entries) so the list is kept
# exact. A timeout is only caught if the mutant really loops forever: look at them (mutmut show NAME).
# Too slow for CI (one pytest run per mutant): run by hand, under nice.
#
# usage: [MUTMUT_FILE=fixed] tools/mutmut_golden.sh [MUTANT_GLOB ...]
#        e.g. 'accelsim.formats.requant.x_fma32*'
#        needs: mutmut 3.x importable (pip install mutmut), a built extension in place.
#        env MUTMUT_MAX_CHILDREN (default 1): parallel mutant runs; MUTMUT_TESTS: test files to run
#        instead of the file's default set; MUTMUT_KEEP=1 keeps the scratch copy (for mutmut show/apply);
#        MUTMUT_TIMEOUT_MULTIPLIER (default mutmut's 15): a mutant's CPU-time limit is about
#        2 x multiplier x (its tests' time + 1 s). flexpoint.py's exponent-search loops have mutants that
#        loop forever (e -= 1, e = 1): with 2 each costs ~40 CPU s instead of ~5 min.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
allow="$repo/tools/mutmut_equivalent.txt"
work="$(mktemp -d /tmp/accelsim-mutmut.XXXXXX)"
if [ -n "${MUTMUT_KEEP:-}" ]; then echo "scratch copy kept: $work"; else trap 'rm -rf "$work"' EXIT; fi
python -c "import mutmut" 2>/dev/null || { echo "mutmut is not installed: pip install mutmut" >&2; exit 2; }
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | (cd "$repo" && tar cf - --null -T - --ignore-failed-read 2>/dev/null) | tar xf - -C "$work"
cp "$repo"/accelsim/*.so "$work/accelsim/"   # the built kernels the tests compare against, and the C header
mkdir -p "$work/accelsim/include" && cp "$repo"/csrc/include/accelsim/accelsim.h "$work/accelsim/include/"
cd "$work"
# forkserver: mutmut's default forks each mutant's pytest from its own process, which has run the tests
# once (torch's thread pools included); the forked torch tests then spin until mutmut's CPU-time limit
# and every surviving mutant they reach is reported as a "timeout" (seen on fbgemm_params mutants).
# MUTMUT_TESTS overrides the test files (e.g. the fast pure-numpy ones for a first triage run).
target="${MUTMUT_FILE:-accelsim/formats/requant.py}"
case "$target" in */*) ;; *.py) target="accelsim/formats/$target" ;; *) target="accelsim/formats/$target.py" ;; esac
[ -f "$target" ] || { echo "MUTMUT_FILE: no such file $target" >&2; exit 2; }
module="$(echo "${target%.py}" | tr / .)"
golden="tests/test_formats_golden.py tests/test_ranges.py tests/test_golden_mutants.py"
case "$target" in
  accelsim/formats/requant.py)
    default="tests/test_formats_golden.py tests/test_ranges.py tests/test_requant_mutants.py tests/test_torch_crosscheck.py tests/test_kernels_bitexact.py" ;;
  accelsim/formats/fixed.py)
    default="$golden tests/test_weight_quantizers.py tests/test_conv_requant.py tests/test_kernels_bitexact.py tests/test_kernels_errors.py tests/test_fuzz_regressions.py" ;;
  accelsim/formats/binary.py|accelsim/formats/flexpoint.py)
    default="$golden tests/test_kernels_bitexact.py tests/test_kernels_errors.py tests/test_fuzz_regressions.py tests/test_kernels_tiles.py" ;;
  accelsim/formats/conv.py|accelsim/formats/fastconv.py)
    default="tests/test_conv_golden_mutants.py $golden tests/test_kernels_bitexact.py tests/test_fastconv.py" ;;
  accelsim/formats/reference.py)
    default="tests/test_reference_mutants.py $golden tests/test_conv_requant.py tests/test_kernels_bitexact.py tests/test_kernels_errors.py" ;;
  accelsim/formats/vector.py)
    default="tests/test_reference_mutants.py $golden tests/test_vector_ops.py" ;;
  accelsim/formats/ternary.py)
    default="$golden tests/test_weight_quantizers.py tests/test_kernels_bitexact.py" ;;
  *) default="$golden tests/test_kernels_bitexact.py" ;;
esac
tests="${MUTMUT_TESTS:-$default}"
cat >> pyproject.toml <<EOF

[tool.mutmut]
source_paths = ["accelsim"]
only_mutate = ["$target"]
also_copy = ["accelsim", "models", "tests", "csrc", "accelsim/include"]
pytest_add_cli_args_test_selection = [$(printf '"%s", ' $tests)]
pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider"]
process_isolation = "forkserver"
timeout_multiplier = ${MUTMUT_TIMEOUT_MULTIPLIER:-15}
EOF
echo "mutmut: mutating $target, tests: $tests, scope: ${*:-all mutants}"
mutmut run --max-children "${MUTMUT_MAX_CHILDREN:-1}" "$@" || true
mutmut results --all true > results.txt 2>&1 || mutmut results > results.txt 2>&1 || true
rc=0
python - "$allow" results.txt "$module" "$@" <<'EOF' || rc=$?
import fnmatch, re, sys
allow_path, results_path, module, globs = sys.argv[1], sys.argv[2], sys.argv[3] + ".", sys.argv[4:]
scoped = bool(globs)
allowed = {}
for line in open(allow_path):
    line = line.strip()
    if line and not line.startswith("#"):
        name, _, reason = line.partition(" ")
        allowed[name] = reason.strip()
status = {}
for line in open(results_path):
    m = re.match(r"\s*([\w.]+__mutmut_\d+):\s*(.+?)\s*$", line)
    if m and m.group(1).startswith(module) and (not scoped or any(fnmatch.fnmatchcase(m.group(1), g) for g in globs)):
        status[m.group(1)] = m.group(2)   # in a scoped run, only the mutants in scope
counts = {}
for s in status.values():
    counts[s] = counts.get(s, 0) + 1
print("mutants:", len(status), " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
caught = ("killed", "timeout", "segfault", "caught by type check")   # anything else is not caught,
uncaught = [n for n, s in status.items() if s not in caught]           # "not checked" included
unlisted = [n for n in uncaught if n not in allowed]
killed_listed = [n for n, s in status.items() if n in allowed and s in caught]
print(f"not killed: {len(uncaught)}, listed as equivalent: {len(uncaught) - len(unlisted)}")
with open("timeouts.txt", "w") as f:
    for n, s in sorted(status.items()):
        if s == "timeout":            # caught only if it really loops forever: its diff is shown below
            print(f"TIMEOUT: {n}")
            f.write(n + "\n")
for n in killed_listed:
    print(f"stale allowlist entry (now {status[n]}): {n}")
if not scoped:
    for n in sorted(n for n in set(allowed) - set(status) if n.startswith(module)):
        print(f"stale allowlist entry (no such mutant): {n}")
with open("unlisted.txt", "w") as f:
    for n in unlisted:
        print(f"UNCAUGHT: {n} ({status[n]})")
        f.write(n + "\n")
sys.exit(1 if unlisted else 0)
EOF
while read -r name; do mutmut show "$name" || true; done < unlisted.txt   # the diff of each uncaught mutant
while read -r name; do mutmut show "$name" || true; done < timeouts.txt   # and of each timeout
exit "$rc"
