#!/usr/bin/env bash
# Mutation testing of the golden model's requantization and rounding (issue 13 item 6): mutmut mutates
# accelsim/formats/requant.py (srdhm_rndnu, rdpot_rndna, quantize_multiplier, requantize_integer,
# requantize_torch, ...) in a scratch copy of the repo and runs the tests that pin it: the golden model
# against the C++ kernels and against torch, bit for bit. (flexpoint.py too is slow: its exponent
# search loops make many mutants run into mutmut's timeout.)
# Too slow for CI (one pytest run per mutant): run by hand, prints mutmut's summary and the survivors.
#
# usage: tools/mutmut_golden.sh            needs: pip install mutmut (3.x), a built extension in place
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/accelsim-mutmut.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python -c "import mutmut" 2>/dev/null || { echo "mutmut is not installed: pip install mutmut" >&2; exit 2; }
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | (cd "$repo" && tar cf - --null -T - --ignore-failed-read 2>/dev/null) | tar xf - -C "$work"
cp "$repo"/accelsim/*.so "$work/accelsim/"   # the built kernels the tests compare against, and the C header
mkdir -p "$work/accelsim/include" && cp "$repo"/csrc/include/accelsim/accelsim.h "$work/accelsim/include/"
cd "$work"
cat >> pyproject.toml <<'EOF'

[tool.mutmut]
source_paths = ["accelsim"]
only_mutate = ["accelsim/formats/requant.py"]
also_copy = ["accelsim", "models", "tests", "csrc", "accelsim/include"]
pytest_add_cli_args_test_selection = ["tests/test_kernels_bitexact.py", "tests/test_formats_golden.py", "tests/test_ranges.py",
             "tests/test_torch_crosscheck.py"]
pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider"]
EOF
mutmut run || true
mutmut results || true
