#!/usr/bin/env bash
# The bundled default model's figures for README: J&F on every bundled clip (held-out photos) with
# and without the Stable-SAM plugin, and the robustness sweep on held-out still images.
#   Scripts/measure-default.sh [HELDOUT_DIR [N]]   HELDOUT_DIR: images/ + masks/ from
#       Scripts/scenes/make_images.py --split heldout (train_base.py writes <run>/data/heldout);
#       the sweep uses its first N images by name (default 60: ~5 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product stablesam >/dev/null
bin=.build/release/stablesam
out=${MEASURE_OUT:-/tmp/stablesam-measure}
rm -rf "$out" && mkdir -p "$out"

echo "| clip | objects | J&F, plugin | J&F, no plugin | J, plugin | J, no plugin | consecutive IoU, plugin | no plugin |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for dir in Clips/*/; do
    clip=$(basename "$dir")
    for mode in default none; do
        "$bin" track "$dir/clip.mp4" --objects "$dir/boxes.json" --plugin "$mode" --quiet --out "$out/$clip-$mode" 2>/dev/null
        "$bin" eval --pred "$out/$clip-$mode" --gt "$dir/Annotations" --json "$out/$clip-$mode.json" >/dev/null
    done
    python3 - "$out/$clip-default.json" "$out/$clip-none.json" "$clip" <<'PY'
import json, sys
a, b = (json.load(open(p))["overall"] for p in sys.argv[1:3])
f = lambda g, k: f"{g[k]:.3f}" if g.get(k) is not None else "-"
print(f"| {sys.argv[3]} | {a['objects']} | {f(a, 'j_and_f')} | {f(b, 'j_and_f')} | {f(a, 'j_mean')} | {f(b, 'j_mean')} | "
      f"{f(a, 'consecutive_io_u')} | {f(b, 'consecutive_io_u')} |")
PY
done

if [ -n "${1:-}" ]; then
    echo
    mkdir -p "$out/heldout/images" "$out/heldout/masks"
    for img in $(ls "$1/images" | sort | head -n "${2:-60}"); do
        cp "$1/images/$img" "$out/heldout/images/"
        cp "$1/masks/${img%.*}.png" "$out/heldout/masks/"
    done
    "$bin" robustness --images "$out/heldout/images" --masks "$out/heldout/masks" \
        --json "$out/robustness.json" --html "$out/robustness.html" 2>/dev/null
fi
