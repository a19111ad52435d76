#!/usr/bin/env bash
# Creates .venv-scripts/ in the repository root with the exact pins of
# Scripts/requirements-fixtures.txt, for regenerating fixtures with Scripts/make_fixtures.py.
# Downloads about 3 GB (torch 2.15.0 on PyPI is a CUDA build; see the requirements file).
# Everything is installed with --no-deps: the list is complete, and letting pip resolve would
# pull a second torch and the whole CUDA toolkit through timm/torchvision.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || { echo "$PYTHON not found: install Python 3.11 or set PYTHON=/path/to/python3.11" >&2; exit 1; }

"$PYTHON" -m venv .venv-scripts
.venv-scripts/bin/pip install --no-deps -r Scripts/requirements-fixtures.txt

# Smoke test: the imports make_fixtures.py needs, on CPU.
.venv-scripts/bin/python -c "import torch, torchvision, segment_anything, mobile_sam, safetensors, PIL, numpy; \
print('torch', torch.__version__, '| segment_anything ok | cpu matmul', float(torch.ones(2, 2).matmul(torch.ones(2, 2)).sum()))"
echo "ready: GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 .venv-scripts/bin/python Scripts/make_fixtures.py"
