#!/usr/bin/env python3
"""Writes Tests/TestSupport/Fixtures/rle_cases.json: masks with pycocotools' COCO RLE.

Pinned: pycocotools==2.0.11, numpy==2.4.6 (Python 3.11). Seed 20240611.
Run:    /work/venv/sam/bin/pip install pycocotools==2.0.11 numpy==2.4.6
        /work/venv/sam/bin/python Scripts/make_rle_fixtures.py

Each case stores the mask independently of any RLE: row-major (mask[y, x]) bits packed
with numpy.packbits (most significant bit first), as hex. pycocotools gives the compressed
counts string, area and toBbox. Swift tests (Tests/MetricsTests) must reproduce them exactly.
"""
import json
import pathlib
from importlib.metadata import version

import numpy as np
import pycocotools.mask as mask_utils

SEED = 20240611
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/TestSupport/Fixtures/rle_cases.json"


def blobs(rng, h, w, n):
    """Union of n random discs: smooth shapes with several runs per column."""
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), dtype=bool)
    for _ in range(n):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(1, max(2.0, min(h, w) / 3))
        m |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return m


def make_cases(rng):
    cases = {}
    cases["empty 5x4"] = np.zeros((5, 4), dtype=bool)
    cases["full 6x3"] = np.ones((6, 3), dtype=bool)
    one = np.zeros((7, 13), dtype=bool)
    one[2, 3] = True
    cases["one pixel 7x13"] = one
    last = np.zeros((7, 13), dtype=bool)
    last[6, 12] = True
    cases["last pixel only 7x13"] = last
    first = np.zeros((13, 7), dtype=bool)
    first[0, 0] = True
    cases["first pixel only 13x7"] = first
    wrap = np.zeros((9, 5), dtype=bool)
    wrap[7:, 1] = True  # bottom of column 1 ...
    wrap[:2, 2] = True  # ... runs on into the top of column 2
    cases["run wrapping a column 9x5"] = wrap
    cases["noise 13x7"] = rng.random((13, 7)) < 0.5
    cases["noise 1x17"] = rng.random((1, 17)) < 0.5
    cases["noise 17x1"] = rng.random((17, 1)) < 0.5
    cases["blobs 24x31"] = blobs(rng, 24, 31, 4)
    cases["blobs 61x47"] = blobs(rng, 61, 47, 6)
    # Long runs: multi-character counts and negative deltas in the string form.
    cases["blobs 200x300"] = blobs(rng, 200, 300, 5)
    big = np.zeros((200, 300), dtype=bool)
    big[10:190, 20:280] = True
    big[50:60, 100:220] = False
    cases["box with hole 200x300"] = big
    return cases


def encode(m):
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


def main():
    rng = np.random.default_rng(SEED)
    cases = make_cases(rng)
    out = []
    for name, m in cases.items():
        rle = encode(m)
        h, w = m.shape
        assert (mask_utils.decode(rle) == m).all()
        out.append({
            "name": name,
            "height": int(h),
            "width": int(w),
            "mask_hex": np.packbits(m.reshape(-1)).tobytes().hex(),
            "counts": rle["counts"].decode("ascii"),
            "area": int(mask_utils.area(rle)),
            "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        })
    # IoU between same-size non-empty masks, as pycocotools computes it (iscrowd = 0).
    ious = []
    names = [("blobs 200x300", "box with hole 200x300"), ("one pixel 7x13", "last pixel only 7x13")]
    for a, b in names:
        ra, rb = encode(cases[a]), encode(cases[b])
        ious.append({"a": a, "b": b, "iou": float(mask_utils.iou([ra], [rb], [0])[0, 0])})
    fixture = {
        "generator": "Scripts/make_rle_fixtures.py",
        "versions": {"pycocotools": version("pycocotools"), "numpy": np.__version__},
        "seed": SEED,
        "cases": out,
        "ious": ious,
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(out)} cases)")


if __name__ == "__main__":
    main()
