#!/usr/bin/env bash
# Plugin training speed: `stablesam train-plugin` against the PyTorch trainer
# (Scripts/stable_sam/train.py) on the same data, model, batch size and thread count, in one run.
#
#   Scripts/bench-train-plugin.sh DATA [CHECKPOINT] [THREADS] [MAX_STEPS]
#
# DATA: an images/ + masks/ folder (train.py's layout). CHECKPOINT defaults to the bundled model's
# safetensors export (Sources/DefaultModel/Resources/stablesam_base.safetensors); an official .pth
# needs MODEL_TYPE=vit_b|vit_l|vit_h for the Python side. THREADS (default 1) goes to
# `--threads` and to OMP_NUM_THREADS / torch's intra-op threads. MAX_STEPS (default 50) caps both
# runs (train.py --max-steps; the Swift run gets --epochs 1 on a copy of DATA cut to the same
# number of samples). Prints prompts/s for: Python (it encodes every step's images), Swift cold
# (empty embedding cache: encoder + decoder steps) and Swift warm (cache filled: decoder steps only).
# Needs .venv-scripts (Scripts/setup_python.sh). STABLESAM=/path/stablesam skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:?usage: Scripts/bench-train-plugin.sh DATA [CHECKPOINT] [THREADS] [MAX_STEPS]}"
MODEL="${2:-Sources/DefaultModel/Resources/stablesam_base.safetensors}"
THREADS="${3:-1}"
MAX_STEPS="${4:-50}"
BATCH=4
PY=.venv-scripts/bin/python
[[ -x "$PY" ]] || { echo "no $PY: run Scripts/setup_python.sh first" >&2; exit 1; }
[[ -d "$DATA/images" && -d "$DATA/masks" ]] || { echo "$DATA needs images/ and masks/" >&2; exit 1; }
if [[ -z "${STABLESAM:-}" ]]; then
    swift build -c release --product stablesam >&2
    STABLESAM="$(swift build -c release --show-bin-path)/stablesam"
fi
WORK=.build-bench/train-plugin
rm -rf "$WORK" && mkdir -p "$WORK"
ABS_DATA="$(cd "$DATA" && pwd)" ABS_MODEL="$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), threads $THREADS, batch $BATCH, at most $MAX_STEPS steps"

start=$(date +%s.%N)
(cd Scripts && OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" "../$PY" -c "
import sys, torch; torch.set_num_threads($THREADS)
from stable_sam.train import main; sys.exit(main(sys.argv[1:]))" \
    --checkpoint "$ABS_MODEL" --model-type "${MODEL_TYPE:-vit_b}" --data "$ABS_DATA" --out "../$WORK/python.safetensors" \
    --batch-size "$BATCH" --max-steps "$MAX_STEPS" --log "../$WORK/python.jsonl" >/dev/null)
py_s="$start $(date +%s.%N)"
prompts=$("$PY" -c "import json; print(sum(len(json.loads(l)['prompts']) for l in open('$WORK/python.jsonl')))")

# The same number of samples for Swift: the first images in name order until `prompts` objects.
"$PY" - "$ABS_DATA" "$WORK/data" "$prompts" <<'PYCUT'
import os, sys
import numpy as np
from PIL import Image
src, dst, need = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(f"{dst}/images"); os.makedirs(f"{dst}/masks")
have = 0
for name in sorted(os.listdir(f"{src}/images")):
    if have >= need: break
    stem = os.path.splitext(name)[0]
    have += int((np.unique(np.asarray(Image.open(f"{src}/masks/{stem}.png"))) != 0).sum())
    os.symlink(f"{src}/images/{name}", f"{dst}/images/{name}")
    os.symlink(f"{src}/masks/{stem}.png", f"{dst}/masks/{stem}.png")
PYCUT
run_swift() {
    local s
    s=$(date +%s.%N)
    "$STABLESAM" train-plugin --model "$MODEL" --data "$WORK/data" --out "$WORK/swift.safetensors" --threads "$THREADS" \
        --batch-size "$BATCH" --log "$WORK/swift.jsonl" --quiet
    echo "$s $(date +%s.%N)"
}
cold_s=$(run_swift)
warm_s=$(run_swift)
swift_prompts=$("$PY" -c "import json; print(sum(len(json.loads(l)['prompts']) for l in open('$WORK/swift.jsonl')))")
"$PY" - "$prompts" "$py_s" "$swift_prompts" "$cold_s" "$warm_s" <<'PYOUT'
import sys
def span(s):
    a, b = (float(v) for v in s.split())
    return b - a
n, py, m, cold, warm = int(sys.argv[1]), span(sys.argv[2]), int(sys.argv[3]), span(sys.argv[4]), span(sys.argv[5])
print(f"{'trainer':<28}{'prompts':>8}{'seconds':>10}{'prompts/s':>11}{'vs Python':>11}")
for name, p, s in [("Python (train.py)", n, py), ("Swift, cold cache", m, cold), ("Swift, warm cache", m, warm)]:
    print(f"{name:<28}{p:>8}{s:>10.2f}{p / s:>11.2f}{(p / s) / (n / py):>10.2f}x")
PYOUT
