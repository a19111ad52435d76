#!/usr/bin/env bash
# Opt-in full-size parity check: a random-weight SAM ViT-B written by the official code
# (Scripts/make_fixtures.py --full vit_b) segmented by `stablesam segment`, compared with the
# official SamPredictor's mask and IoU. Needs the Python env of Scripts/setup_python.sh.
#   Scripts/check_full_parity.sh [OUT_DIR]      (default /tmp/sam_vit_b; ~1 GB of disk, ~1 min)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/sam_vit_b}
py=${PYTHON:-.venv-scripts/bin/python}
export GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
[ -f "$out/sam_vit_b_random.pth" ] || "$py" Scripts/make_fixtures.py --full vit_b --out "$out"
swift build -c release --product stablesam >/dev/null
box=$("$py" -c "
from safetensors import safe_open
f = safe_open('$out/stages.safetensors', 'np'); print(','.join(repr(float(v)) for v in f.get_tensor('box.box').reshape(-1)))")
/usr/bin/time -f "segment: %e s wall, %M KB peak" .build/release/stablesam segment "$out/image.png" \
    --model "$out/sam_vit_b_random.pth" --box "$box" --out "$out/swift"
"$py" - "$out" <<'PY'
import json, sys
import numpy as np
from PIL import Image
from safetensors import safe_open
out = sys.argv[1]
ours = np.array(Image.open(f"{out}/swift/mask.png")) > 0
ref = np.array(Image.open(f"{out}/expected_mask_box.png")) > 0
inter, union = (ours & ref).sum(), (ours | ref).sum()
iou = inter / union if union else 1.0
res = json.load(open(f"{out}/swift/result.json"))
ref_iou = float(safe_open(f"{out}/stages.safetensors", "np").get_tensor("box.iou").reshape(-1)[0])
print(f"mask IoU vs official: {iou:.6f} ({(ours != ref).sum()} of {ours.size} pixels differ)")
print(f"predicted IoU: ours {res['masks'][0]['predicted_iou']:.6f}, official {ref_iou:.6f}")
sys.exit(0 if iou >= 0.999 else 1)
PY
