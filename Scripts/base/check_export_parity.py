#!/usr/bin/env python3
"""Checks that the Swift engine runs a base-model export exactly as PyTorch does: the same
safetensors file through Meta's `SamPredictor` and through `stablesam segment`, on one image and
box, compared pixel by pixel (and by predicted IoU).

    python Scripts/base/check_export_parity.py MODEL.safetensors IMAGE.jpg x0,y0,x1,y1 [--random]

--random first writes MODEL.safetensors with freshly initialised weights of train_base.CONFIG
(perturbed so that every layer matters), to check a new architecture before training it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import train_base  # noqa: E402
from segment_anything import SamPredictor  # noqa: E402


def write_random(path: str) -> None:
    torch.manual_seed(0)
    sam = train_base.build_sam(train_base.CONFIG)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in sam.named_parameters():
            p.add_(torch.randn(p.shape, generator=g) * (0.02 if p.ndim > 1 else 0.1))
        for m in sam.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
    sd = {k: v.detach().contiguous() for k, v in sam.state_dict().items()}
    c = train_base.CONFIG
    save_file(sd, path, metadata={"format": "pt", "config": json.dumps(c), "img_size": str(c["img_size"]),
                                  "decoder_num_heads": str(c["decoder_num_heads"])})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("box")
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "stablesam"))
    a = ap.parse_args()
    if a.random:
        write_random(a.model)
    with safe_open(a.model, "pt") as f:
        config = json.loads(f.metadata()["config"])
    sam = train_base.build_sam(config)
    sam.load_state_dict({k: v.float() for k, v in load_file(a.model).items()})
    sam.eval()
    image = np.asarray(Image.open(a.image).convert("RGB"))
    box = np.array([float(v) for v in a.box.split(",")])
    pred = SamPredictor(sam)
    with torch.no_grad():
        pred.set_image(image)
        masks, iou, _ = pred.predict(box=box, multimask_output=False)
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([a.binary, "segment", a.image, "--model", a.model, "--plugin", "none", "--box", a.box,
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
        swift = np.asarray(Image.open(os.path.join(out, "mask.png"))) > 127
        result = json.load(open(os.path.join(out, "result.json")))
    torch_mask = masks[0]
    differ = int((swift != torch_mask).sum())
    union = int((swift | torch_mask).sum())
    swift_iou = result.get("predicted_iou", result.get("score"))
    print(json.dumps({"pixels": int(torch_mask.size), "differ": differ,
                      "mask_iou": float((swift & torch_mask).sum()) / max(1, union),
                      "predicted_iou_torch": float(iou[0]), "predicted_iou_swift": swift_iou,
                      "mask_area_torch": int(torch_mask.sum())}))


if __name__ == "__main__":
    main()
