#!/usr/bin/env python3
"""Still-image sets for training and evaluating the base model.

    python Scripts/scenes/make_images.py --out DIR --count 6000 --seed 1 [--split train|heldout]

Layout of DIR:
    images/<stem>.jpg     the photo-composite (JPEG, quality 88-96)
    masks/<stem>.png      one 8-bit indexed-palette PNG per image: 0 = background, 1..N = objects
                          (the visible part of each object; occluders and background are 0)
    index.json            {"generator", "seed", "split", "sources", "images": [{"stem", "width",
                          "height", "objects": [{"id", "box": [x0, y0, x1, y1] (inclusive-exclusive
                          pixel box of the visible mask), "area"}]}]}
Image i depends only on (seed, i): any subset can be regenerated, and the set is byte-identical
across runs with the same pinned packages.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import Layer, Pose, Sprite, compose, random_crop, color_jitter, random_look  # noqa: E402
from sources import load_sources  # noqa: E402

GENERATOR = "stablesam-scenes-images/2"  # 2: more photos, look-alike twins and distractors
SIZES = [(480, 270), (480, 270), (400, 300), (360, 360), (320, 400), (512, 288)]


def davis_palette() -> list[int]:
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


PALETTE = davis_palette()


def save_indexed(path: str, lab: np.ndarray) -> None:
    im = Image.fromarray(lab, mode="P")
    im.putpalette(PALETTE)
    im.save(path, optimize=True)


def make_image(seed: int, i: int, photos: list[np.ndarray]):
    rng = np.random.default_rng([seed, i])
    W, H = SIZES[int(rng.integers(len(SIZES)))]
    bi = int(rng.integers(len(photos)))
    bg = color_jitter(rng, random_crop(rng, photos[bi], W, H, scale=(0.25, 1.0)), 0.15)
    n = int(rng.choice([1, 2, 2, 3, 3, 4, 4, 5, 6]))
    m = min(W, H)
    layers = []
    textures: list[int] = []   # source photo of each object, for look-alike distractors
    for k in range(n):
        if textures and rng.random() < 0.3:   # a twin: textured from the same photo as an earlier object
            pi = textures[int(rng.integers(len(textures)))]
        else:
            pool = [j for j in range(len(photos)) if j != bi] if rng.random() < 0.9 else list(range(len(photos)))
            pi = pool[int(rng.integers(len(pool)))]
        textures.append(pi)
        sp = Sprite.random(rng, photos, photo=pi)
        # sizes log-uniform from small to large objects; some cross the frame edge
        r = m * math.exp(rng.uniform(math.log(0.07), math.log(0.45)))
        cx = rng.uniform(-0.1, 1.1) * W if rng.random() < 0.15 else rng.uniform(0.1, 0.9) * W
        cy = rng.uniform(0.1, 0.9) * H
        sp_blur = rng.uniform(0, 6) if rng.random() < 0.15 else 0.0
        ang = rng.uniform(0, 2 * np.pi)
        pose = Pose(cx, cy, r, rng.uniform(0, 2 * np.pi), aspect=float(rng.uniform(0.75, 1.33)),
                    t=float(rng.uniform(0, 10)), vx=sp_blur * math.cos(ang), vy=sp_blur * math.sin(ang))
        layers.append(Layer(sp, pose, k + 1))
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):  # unannotated occluders (poles, leaves...)
        # often textured like an annotated object: a distractor the box prompt must exclude
        sp = Sprite.random(rng, photos, photo=textures[int(rng.integers(len(textures)))] if rng.random() < 0.4 else None)
        if rng.random() < 0.5:
            pose = Pose(rng.uniform(0, W), rng.uniform(0, H), m * rng.uniform(0.2, 0.6), rng.uniform(0, np.pi),
                        aspect=float(rng.uniform(3, 6)))
        else:
            pose = Pose(rng.uniform(0, W), rng.uniform(0, H), m * rng.uniform(0.05, 0.15), 0.0)
        layers.insert(int(rng.integers(0, len(layers) + 1)), Layer(sp, pose, 0))
    img, lab = compose(bg, layers, random_look(rng), rng)
    objs = []
    # renumber visible objects 1..K, dropping ones mostly hidden or tiny
    out = np.zeros_like(lab)
    nid = 0
    for k in range(1, n + 1):
        mk = lab == k
        area = int(mk.sum())
        if area < 64:
            continue
        nid += 1
        out[mk] = nid
        ys, xs = np.nonzero(mk)
        objs.append({"id": nid, "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                     "area": area})
    q = int(rng.integers(88, 97))
    return img, out, objs, q


_JOB = None


def _write_one(i: int) -> dict:
    out, seed, split, photos = _JOB
    img, lab, objs, q = make_image(seed, i, photos)
    stem = f"{split}_{seed}_{i:06d}"
    Image.fromarray(img).save(f"{out}/images/{stem}.jpg", quality=q)
    save_indexed(f"{out}/masks/{stem}.png", lab)
    return {"stem": stem, "width": img.shape[1], "height": img.shape[0], "objects": objs}


def _progress(it, n, t0):
    for k, e in enumerate(it, 1):
        if k % 500 == 0:
            print(f"{k}/{n} images, {time.time() - t0:.0f}s", flush=True)
        yield e


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", choices=["train", "heldout"], default="train")
    ap.add_argument("--start", type=int, default=0, help="first index (to extend a set)")
    ap.add_argument("--workers", type=int, default=1, help="processes (output is identical for any count)")
    a = ap.parse_args()
    src = load_sources(split=a.split)
    photos = [p for _, p in src]
    os.makedirs(f"{a.out}/images", exist_ok=True)
    os.makedirs(f"{a.out}/masks", exist_ok=True)
    index = {"generator": GENERATOR, "seed": a.seed, "split": a.split, "sources": [s for s, _ in src], "images": []}
    t0 = time.time()
    global _JOB
    _JOB = (a.out, a.seed, a.split, photos)
    idx = range(a.start, a.start + a.count)
    if a.workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(a.workers) as pool:
            entries = list(_progress(pool.imap(_write_one, idx, chunksize=16), a.count, t0))
    else:
        entries = list(_progress(map(_write_one, idx), a.count, t0))
    index["images"] = entries
    tmp = f"{a.out}/index.json.tmp"
    with open(tmp, "w") as f:
        json.dump(index, f)
    os.replace(tmp, f"{a.out}/index.json")
    print(f"wrote {a.count} images to {a.out} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
