#!/usr/bin/env bash
# Benchmark-only venvs for the peer engines of benchmarks/bench_runtime.py. None of these packages is
# a dependency of accelsim: each engine gets a venv of its own, outside the repository.
#
#   bash benchmarks/peers/setup_venvs.sh [ROOT]      (default ROOT: /work/bench-venvs, or $BENCH_VENVS)
#
#   ROOT/ov     openvino + nncf + onnx   (openvino-fp32, openvino-int8: NNCF post-training quantization)
#   ROOT/ort    onnxruntime + onnx       (ort-fp32, ort-int8: QDQ model from quantize_static)
#   ROOT/torch  torch                    (torch-fp32, torch-int8: FX post-training quantization, fbgemm)
#   ROOT/zigzag zigzag-dse 3.9.1         (benchmarks/vs_zigzag.py; numpy 2.3.5, as 2.4 breaks it; it imports
#                                         six without declaring it)
#
# Pin versions with OV_PKGS / ORT_PKGS / TORCH_PKGS; the versions installed end up in the benchmark's JSON.
set -euo pipefail
ROOT="${1:-${BENCH_VENVS:-/work/bench-venvs}}"
PY="${PYTHON:-python3}"
OV_PKGS="${OV_PKGS:-openvino nncf onnx numpy}"
ORT_PKGS="${ORT_PKGS:-onnxruntime onnx numpy}"
TORCH_PKGS="${TORCH_PKGS:-torch==2.13.0 numpy}"
ZIGZAG_PKGS="${ZIGZAG_PKGS:-zigzag-dse==3.9.1 numpy==2.3.5 six}"
mkdir -p "$ROOT"
make_venv() {  # name, packages...
    local name="$1"; shift
    if [ ! -x "$ROOT/$name/bin/python" ]; then
        "$PY" -m venv "$ROOT/$name"
    fi
    "$ROOT/$name/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    "$ROOT/$name/bin/python" -m pip install -q "$@"
    echo "$ROOT/$name: $("$ROOT/$name/bin/python" -m pip freeze 2>/dev/null | grep -i -E '^(openvino|nncf|onnx|onnxruntime|torch|numpy|zigzag-dse)==' | tr '\n' ' ')"
}
make_venv ort $ORT_PKGS
make_venv ov $OV_PKGS
make_venv torch $TORCH_PKGS
make_venv zigzag $ZIGZAG_PKGS
