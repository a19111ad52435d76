#!/usr/bin/env bash
# Times PyTorch, ONNX Runtime and StableSAM side by side on this machine, in one run, with the same
# seeded random weights, inputs and thread counts, interleaved, and checks that their outputs agree.
#
#   Scripts/bench-peers.sh [--models vit_b,vit_t] [--reps N] [--threads N] [--out DIR]
#                          [--decoder-runs N] [--no-ort-profile] [--bf16]
#
# --bf16 adds PyTorch under bf16 autocast (oneDNN's AVX512_BF16 kernels) and StableSAM
# --precision bf16 to the interleaved engines, with their ratios to ONNX Runtime fp32.
#
# Environment:
#   PYTHON=/path/to/python   reuse an existing environment that already has the pins of
#                            Scripts/requirements-bench.txt (skips making .venv-bench/)
#   BASE_PYTHON=python3.11   interpreter used to create .venv-bench/ (default python3.11)
#   STABLESAM=/path/stablesam  skip `swift build -c release --product stablesam`
#
# Writes models, ONNX files and check outputs to .build-bench/<model>/ (reused on later runs) and
# the summary to .build-bench/results/summary.{json,md} (or --out). Without PYTHON, the first run
# creates .venv-bench/ (about 3 GB: torch 2.15.0 on PyPI is a CUDA build; see PYTHON.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${PYTHON:-}" ]]; then
    BASE_PYTHON="${BASE_PYTHON:-python3.11}"
    if [[ ! -x .venv-bench/bin/python ]] || ! cmp -s Scripts/requirements-bench.txt .venv-bench/requirements-bench.txt \
        || ! cmp -s Scripts/requirements-fixtures.txt .venv-bench/requirements-fixtures.txt; then
        command -v "$BASE_PYTHON" >/dev/null || { echo "$BASE_PYTHON not found: install Python 3.11, set BASE_PYTHON, or PYTHON=/path/to/an/env/python" >&2; exit 1; }
        "$BASE_PYTHON" -m venv .venv-bench
        # --no-deps: the list is complete; resolving would pull a second torch and the CUDA toolkit.
        .venv-bench/bin/pip install --no-deps -r Scripts/requirements-bench.txt
        cp Scripts/requirements-bench.txt Scripts/requirements-fixtures.txt .venv-bench/
    fi
    PYTHON=.venv-bench/bin/python
fi
"$PYTHON" -W ignore -c "import torch, segment_anything, mobile_sam, onnx, onnxruntime, numpy, PIL" \
    || { echo "$PYTHON lacks the packages of Scripts/requirements-bench.txt" >&2; exit 1; }

if [[ -z "${STABLESAM:-}" ]]; then
    swift build -c release --product stablesam >&2
    STABLESAM="$(swift build -c release --show-bin-path)/stablesam"
fi

exec "$PYTHON" Scripts/bench_peers.py run --stablesam "$STABLESAM" "$@"
