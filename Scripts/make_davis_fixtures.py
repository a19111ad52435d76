#!/usr/bin/env python3
"""Writes Tests/TestSupport/Fixtures/davis_f_cases.json: mask pairs with the DAVIS boundary F-measure.

The reference is `f_measure` of davisinteractive 1.0.4 (the DAVIS challenge's own package; its
metrics/jaccard.py carries davis2017-evaluation's `f_measure` and `_seg2bmap`: same boundary map,
same skimage `disk`, same cv2.dilate and empty-mask rules; only void pixels are absent, and the
Swift tests cover those by hand). davis2017-evaluation itself is not on PyPI. Nothing is
re-implemented here: the expected values come from calling the installed package.

Pinned (Python 3.11): davisinteractive==1.0.4 numpy==2.4.6 scikit-image==0.26.0 scipy==1.17.1
    opencv-python-headless==5.0.0.93 lazy-loader==0.6 imageio==2.38.1 tifffile==2026.3.3
    packaging==26.4, all with --no-deps; davisinteractive builds from source, so first
    cython==3.3.1 wheel==0.48.0 and then `pip install --no-deps --no-build-isolation davisinteractive==1.0.4`.
Seed 20240612.
Run:    /work/venv/sam/bin/python Scripts/make_davis_fixtures.py

Masks are stored row-major (mask[y, x]) as numpy.packbits hex, as in rle_cases.json.
"""
import json
import pathlib
from importlib.metadata import version

import numpy as np
from davisinteractive.metrics.jaccard import f_measure

SEED = 20240612
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/TestSupport/Fixtures/davis_f_cases.json"


def blobs(rng, h, w, n):
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), dtype=bool)
    for _ in range(n):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(1, max(2.0, min(h, w) / 4))
        m |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return m


def jitter(rng, m, shift):
    """The same shape moved by up to `shift` pixels, with a few pixels flipped: a near miss."""
    dy, dx = rng.integers(-shift, shift + 1, size=2)
    out = np.roll(np.roll(m, dy, axis=0), dx, axis=1)
    flip = rng.random(m.shape) < 0.01
    return out ^ flip


def make_pairs(rng):
    pairs = []
    # Small images: radius 1 (ceil(0.008 * diag) for any diagonal up to 125 px).
    pairs.append(("blobs vs shifted 24x31", *(lambda m: (jitter(rng, m, 2), m))(blobs(rng, 24, 31, 3))))
    # Touching the right and bottom edges: the reference's last-row / last-column quirk.
    edge = np.zeros((20, 20), dtype=bool)
    edge[12:, 12:] = True
    pairs.append(("square on the bottom-right edges 20x20", edge, np.roll(edge, -1, axis=1)))
    # Larger images: radius 2, 3 and 8 (DAVIS 480p).
    pairs.append(("blobs vs shifted 150x200", *(lambda m: (jitter(rng, m, 4), m))(blobs(rng, 150, 200, 4))))
    pairs.append(("blobs vs other blobs 240x320", blobs(rng, 240, 320, 5), blobs(rng, 240, 320, 5)))
    pairs.append(("blobs vs shifted 480x854", *(lambda m: (jitter(rng, m, 12), m))(blobs(rng, 480, 854, 5))))
    noise = rng.random((40, 50)) < 0.3
    pairs.append(("noise vs noise 40x50", noise, rng.random((40, 50)) < 0.3))
    return pairs


def main():
    rng = np.random.default_rng(SEED)
    cases = []
    for name, pred, gt in make_pairs(rng):
        cases.append({
            "name": name, "height": int(gt.shape[0]), "width": int(gt.shape[1]),
            "prediction_hex": np.packbits(pred.astype(np.uint8).ravel()).tobytes().hex(),
            "ground_truth_hex": np.packbits(gt.astype(np.uint8).ravel()).tobytes().hex(),
            "f": float(f_measure(gt, pred)),
        })
    meta = {
        "generator": "Scripts/make_davis_fixtures.py", "seed": SEED,
        "versions": {p: version(p) for p in ["davisinteractive", "numpy", "scikit-image", "opencv-python-headless"]},
        "reference": "davisinteractive.metrics.jaccard.f_measure(true_mask, pred_mask, bound_th=0.008)",
    }
    OUT.write_text(json.dumps({"meta": meta, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", [round(c["f"], 4) for c in cases])


if __name__ == "__main__":
    main()
