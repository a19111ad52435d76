#!/usr/bin/env python3
"""Ships a trained base model as the package's default: float16 safetensors in
Sources/DefaultModel/Resources/ (half the size; the Swift loader widens to float32 on load).

    python Scripts/export_default.py /work/train-run/sam_stablesam_base.safetensors
    python Scripts/export_default.py SRC DEST     # elsewhere: a candidate to train a plugin on and measure

Metadata (config, decoder_num_heads, provenance) is carried over, with `dtype` and the source
file's SHA-256 added. Train the plugin on THIS file (Scripts/stable_sam/train.py --checkpoint ...):
plugin files record a fingerprint of the decoder weights they were trained on, as stored here.
"""
import hashlib
import json
import os
import sys

from safetensors import safe_open
from safetensors.torch import load_file, save_file
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEST = os.path.join(ROOT, "Sources", "DefaultModel", "Resources", "stablesam_base.safetensors")


def main() -> None:
    src = sys.argv[1]
    dest = sys.argv[2] if len(sys.argv) > 2 else DEST
    with safe_open(src, "pt") as f:
        meta = dict(f.metadata())
    tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(src).items()}
    meta["dtype"] = "float16"
    meta["exported_from_sha256"] = hashlib.sha256(open(src, "rb").read()).hexdigest()
    meta["exporter"] = "Scripts/export_default.py"
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    tmp = dest + ".tmp"
    save_file(tensors, tmp, metadata=meta)
    os.replace(tmp, dest)
    print(f"wrote {dest} ({os.path.getsize(dest) / 1e6:.1f} MB), provenance: {json.loads(meta.get('provenance', '{}')).get('steps')} steps")


if __name__ == "__main__":
    main()
