#!/usr/bin/env bash
# Checks `stablesam batch` against the hand route on a DAVIS-layout dataset: runs the batch, then
# for every sequence `stablesam track --prompts <out>/<seq>/prompts.json` and `stablesam eval`, and
# compares each sequence's J&F, J mean and F mean in report.json with eval's, exactly.
# Usage: Scripts/batch-by-hand.sh DATASET WORKDIR [batch flags...]   (STABLESAM: the binary)
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 DATASET WORKDIR [batch flags...]" >&2; exit 2; }
data=$1 work=$2; shift 2
bin=${STABLESAM:-.build/release/stablesam}
rm -rf "$work/batch" "$work/hand"
mkdir -p "$work/hand"
start=$(date +%s)
"$bin" batch "$data" --out "$work/batch" --quiet "$@"
echo "batch: $(( $(date +%s) - start )) s" >&2
skip=()
for flag in "$@"; do [[ $flag == --skip-ends ]] && skip=(--skip-ends); done
for seq in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["sequences"]))' "$work/batch/batch-plan.json"); do
    "$bin" track "$data/JPEGImages/$seq" --prompts "$work/batch/$seq/prompts.json" --out "$work/hand/$seq" --quiet
    "$bin" eval --pred "$work/hand/$seq" --gt "$data/Annotations/$seq" --json "$work/hand/$seq.eval.json" "${skip[@]}" >/dev/null
done
python3 - "$work" <<'PY'
import json, sys, os
work = sys.argv[1]
report = json.load(open(os.path.join(work, "batch", "report.json")))
groups = {g["name"]: g for g in report["evaluation"]["sequences"]}
rows, bad = [], 0
for entry in report["sequences"]:
    name = entry["sequence"]
    hand = json.load(open(os.path.join(work, "hand", name + ".eval.json")))["overall"]
    mine = groups[name]
    same = all(mine[k] == hand[k] for k in ("j_and_f", "j_mean", "f_mean"))
    bad += not same
    rows.append(f"{name:24s} batch J&F {mine['j_and_f']:.6f}  by hand {hand['j_and_f']:.6f}  {'equal' if same else 'DIFFERENT'}")
print("\n".join(rows))
o = report["evaluation"]["overall"]
print(f"overall: {len(rows)} sequences, {o['objects']} objects, J&F {o['j_and_f']:.4f}; {len(rows) - bad} of {len(rows)} equal")
sys.exit(1 if bad else 0)
PY
