#!/usr/bin/env python3
"""The best mIoU a SAM-architecture model can reach at a given input size and embedding stride, on a
scene set: each ground-truth mask is area-averaged onto the decoder's low-resolution grid (4x the
embedding grid), then brought back to the image exactly as SAM's postprocess does (bilinear to the
input size, crop the padding, bilinear to the original size, threshold 0.5). A model that were
perfect on its own grid would score this; boundaries finer than the grid are lost.

    python Scripts/base/resolution_ceiling.py DATA_DIR 320/16 320/8 512/16 ...
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def ceiling(root: str, size: int, stride: int, limit: int = 300) -> tuple[float, float]:
    idx = json.load(open(f"{root}/index.json"))["images"][:limit]
    ious, small = [], []
    for e in idx:
        lab = np.asarray(Image.open(f"{root}/masks/{e['stem']}.png"))
        H, W = lab.shape
        s = size / max(H, W)
        nh, nw = int(H * s + 0.5), int(W * s + 0.5)
        for o in e["objects"]:
            g = torch.from_numpy((lab == o["id"]).astype(np.float32))[None, None]
            x = F.interpolate(g, (nh, nw), mode="area" if s < 1 else "bilinear")
            x = F.pad(x, (0, size - nw, 0, size - nh))
            low = F.avg_pool2d(x, stride // 4)                      # the decoder's low-res grid
            up = F.interpolate(low, (size, size), mode="bilinear", align_corners=False)[..., :nh, :nw]
            up = F.interpolate(up, (H, W), mode="bilinear", align_corners=False)[0, 0] > 0.5
            gt = g[0, 0] > 0.5
            iou = float((up & gt).sum()) / max(1.0, float((up | gt).sum()))
            ious.append(iou)
            if o["area"] < 60 * 60:
                small.append(iou)
    return float(np.mean(ious)), float(np.mean(small)) if small else float("nan")


if __name__ == "__main__":
    root = sys.argv[1]
    for spec in sys.argv[2:]:
        size, stride = map(int, spec.split("/"))
        m, sm = ceiling(root, size, stride)
        print(f"input {size:4d} stride {stride:2d} (grid {size // stride:3d}, low-res {4 * size // stride:3d}): "
              f"ceiling mIoU {m:.4f}, objects under 60x60 px {sm:.4f}", flush=True)
