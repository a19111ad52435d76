#!/usr/bin/env python3
"""Video clips with exact per-frame masks, in DAVIS layout plus H.264 mp4.

    python Scripts/scenes/make_clips.py --out DIR --seed 7 [--preset NAME ...] [--random N]
                                        [--split heldout|train] [--size 480x270] [--frames 60]

Presets (each one clip): two_objects, occlusion, exit_reenter, shake_blur, lighting, morph.
--random N adds N clips with a random mix of all effects.

Layout of DIR (DAVIS 2017 conventions):
    JPEGImages/<seq>/00000.jpg ...   frames (JPEG quality 92)
    Annotations/<seq>/00000.png ...  8-bit indexed PNG, DAVIS palette, 0 = background, 1..N objects;
                                     the visible part of each object (an occluded or off-frame
                                     object has fewer or no pixels in that frame)
    Videos/<seq>.mp4                 the same frames, H.264 (libx264, yuv420p, crf 18), encoded from
                                     the uncompressed renders
    Meta/<seq>.json                  {"seq", "width", "height", "fps", "frames", "seed", "preset",
                                     "effects", "objects": [{"id", "first_frame", "initial_box":
                                     [x0, y0, x1, y1]}]}: box of the first frame's mask, x1/y1 exclusive
    ImageSets/clips.txt              one sequence name per line
Clip <seq> depends only on (seed, preset name, index): deterministic.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_images import save_indexed  # noqa: E402
from render import Layer, Look, Pose, Sprite, color_jitter, compose  # noqa: E402
from sources import load_sources  # noqa: E402

GENERATOR = "stablesam-scenes-clips/1"
PRESETS = {
    "two_objects": dict(n=2, occluder=False, exit=False, shake=1.0, blur=0.5, lighting=0.3, morph=True),
    "occlusion": dict(n=1, occluder=True, exit=False, shake=1.0, blur=0.5, lighting=0.3, morph=True),
    "exit_reenter": dict(n=2, occluder=False, exit=True, shake=1.0, blur=0.6, lighting=0.2, morph=True),
    "shake_blur": dict(n=1, occluder=False, exit=False, shake=4.0, blur=1.0, lighting=0.2, morph=False),
    "lighting": dict(n=2, occluder=False, exit=False, shake=0.5, blur=0.4, lighting=1.0, morph=True),
    "morph": dict(n=1, occluder=True, exit=False, shake=1.0, blur=0.5, lighting=0.4, morph=True),
}


def _smooth_noise(rng: np.random.Generator, n: int, amp: float, k: int = 4) -> np.ndarray:
    """Sum of k random sinusoids (per axis): camera shake [n, 2]."""
    t = np.arange(n)[:, None]
    out = np.zeros((n, 2))
    for _ in range(k):
        f = rng.uniform(0.05, 0.6)
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, 2))
    return amp * out / k * 2


def make_clip(seed: int, index: int, name: str, cfg: dict, photos: list[np.ndarray], W: int, H: int,
              F: int, fps: int, exposure: float = 0.5):
    rng = np.random.default_rng([seed, index, sum(map(ord, name))])
    # background: a photo crop larger than the frame, panned and shaken by the camera
    margin = 1.35
    bi = int(rng.integers(len(photos)))
    photo = photos[bi]
    BW, BH = int(W * margin), int(H * margin)
    from render import random_crop
    bgbig = color_jitter(rng, random_crop(rng, photo, BW, BH, scale=(0.5, 1.0)), 0.12)
    pan = rng.uniform(-1, 1, 2) * np.array([BW - W, BH - H]) * 0.4 / F
    start = np.array([(BW - W) / 2, (BH - H) / 2]) - pan * F / 2
    shake = _smooth_noise(rng, F, cfg["shake"]) + (rng.normal(0, cfg["shake"] * 0.3, (F, 2)) if cfg["shake"] > 2 else 0)
    cam = start[None] + pan[None] * np.arange(F)[:, None] + shake

    m = min(W, H)
    objs = []
    for k in range(cfg["n"]):
        sp = Sprite.random(rng, photos, exclude=bi, nonrigid=cfg["morph"])
        r0 = m * rng.uniform(0.13, 0.24)
        # world-space path (background coordinates): start inside the frame
        c0 = np.array([rng.uniform(0.25, 0.75) * W, rng.uniform(0.3, 0.7) * H]) + cam[0]
        if cfg["n"] == 2:  # keep two objects apart at the start
            c0[0] = (0.3 if k == 0 else 0.7) * W + cam[0][0] + rng.uniform(-0.05, 0.05) * W
        v = rng.uniform(-1, 1, 2) * m * 0.004
        amp = rng.uniform(0.05, 0.18, 2) * np.array([W, H])
        om = rng.uniform(0.5, 1.5, 2) * 2 * np.pi / F
        ph = rng.uniform(0, 2 * np.pi, 2)
        if cfg["exit"] and k == 0:  # goes out of one side and comes back
            v = np.zeros(2)
            amp = np.array([0.75 * W, 0.05 * H])
            om = np.array([2 * np.pi / F, 2 * np.pi / F])
            ph = np.zeros(2)
            c0[0] = W * 0.5 + cam[0][0]
        objs.append(dict(sp=sp, r0=r0, c0=c0, v=v, amp=amp, om=om, ph=ph,
                         a0=rng.uniform(0, 2 * np.pi), wa=rng.uniform(-0.04, 0.04),
                         sa=rng.uniform(0.05, 0.25), ws=rng.uniform(0.5, 2) * 2 * np.pi / F,
                         aspect=rng.uniform(0.8, 1.25)))
    occ = None
    if cfg["occluder"]:  # a bar or blob crossing in front of object 1 around mid-clip
        tgt = objs[0]
        tmid = F * rng.uniform(0.35, 0.6)
        pmid = tgt["c0"] + tgt["v"] * tmid + tgt["amp"] * (np.sin(tgt["om"] * tmid + tgt["ph"]) - np.sin(tgt["ph"]))
        d = rng.choice([-1, 1])
        speed = W * rng.uniform(1.2, 2.0) / F
        bar = rng.random() < 0.5
        occ = dict(sp=Sprite.random(rng, photos, exclude=bi), pmid=pmid, tmid=tmid, vel=np.array([d * speed, 0.0]),
                   r=m * (rng.uniform(0.45, 0.7) if bar else rng.uniform(0.15, 0.22)),
                   aspect=rng.uniform(3.5, 6) if bar else 1.0, angle=math.pi / 2 + rng.uniform(-0.3, 0.3) if bar else 0.0)

    light_amp = cfg["lighting"]
    lph = rng.uniform(0, 2 * np.pi)
    spot0 = rng.uniform(0.2, 0.8, 2)
    spotv = rng.uniform(-0.6, 0.6, 2) / F
    base_tint = (1 + rng.uniform(-0.05, 0.05, 3)).astype(np.float32)
    noise = float(rng.uniform(0.004, 0.015))

    def world(o, f):
        c = o["c0"] + o["v"] * f + o["amp"] * (np.sin(o["om"] * f + o["ph"]) - np.sin(o["ph"]))
        return c

    frames, labels = [], []
    for f in range(F):
        ox, oy = cam[f]
        ix, iy = int(round(np.clip(ox, 0, BW - W))), int(round(np.clip(oy, 0, BH - H)))
        bg = bgbig[iy:iy + H, ix:ix + W]
        fx, fy = ox - ix, oy - iy  # sub-pixel part handled by shifting objects
        layers = []
        for k, o in enumerate(objs):
            c = world(o, f)
            dc = (world(o, f + 0.5) - world(o, f - 0.5)) - (cam[min(f + 1, F - 1)] - cam[max(f - 1, 0)]) / 2
            pose = Pose(c[0] - ox + (ox - ix - fx), c[1] - oy + (oy - iy - fy),
                        o["r0"] * (1 + o["sa"] * math.sin(o["ws"] * f)), o["a0"] + o["wa"] * f,
                        aspect=o["aspect"], t=f / fps * 2.0,
                        vx=dc[0] * exposure * cfg["blur"], vy=dc[1] * exposure * cfg["blur"])
            layers.append(Layer(o["sp"], pose, k + 1))
        if occ is not None:
            p = occ["pmid"] + occ["vel"] * (f - occ["tmid"])
            layers.append(Layer(occ["sp"], Pose(p[0] - ox, p[1] - oy, occ["r"], occ["angle"], aspect=occ["aspect"],
                                               vx=occ["vel"][0] * exposure * cfg["blur"]), 0))
        s = spot0 + spotv * f
        look = Look(gain=float(1 + 0.25 * light_amp * math.sin(2 * np.pi * f / F * 1.3 + lph)),
                    tint=base_tint * (1 + 0.06 * light_amp * np.array(
                        [math.sin(f / F * 5 + lph), 0.0, -math.sin(f / F * 5 + lph)], np.float32)),
                    spot=(float(s[0]), float(s[1]), 0.6, 0.5 * light_amp), noise=noise)
        frng = np.random.default_rng([seed, index, f, 99])
        img, lab = compose(bg, layers, look, frng)
        frames.append(img)
        labels.append(lab)
    return frames, labels


def write_clip(out: str, seq: str, frames, labels, fps: int, meta: dict) -> None:
    for d in ("JPEGImages", "Annotations"):
        os.makedirs(f"{out}/{d}/{seq}", exist_ok=True)
    os.makedirs(f"{out}/Videos", exist_ok=True)
    os.makedirs(f"{out}/Meta", exist_ok=True)
    H, W = frames[0].shape[:2]
    objs = {}
    for f, (img, lab) in enumerate(zip(frames, labels)):
        Image.fromarray(img).save(f"{out}/JPEGImages/{seq}/{f:05d}.jpg", quality=92)
        save_indexed(f"{out}/Annotations/{seq}/{f:05d}.png", lab)
        for k in np.unique(lab):
            if k == 0 or int(k) in objs:
                continue
            ys, xs = np.nonzero(lab == k)
            objs[int(k)] = {"id": int(k), "first_frame": f,
                            "initial_box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]}
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", str(fps),
           "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p", "-threads", "1",
           "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart",
           f"{out}/Videos/{seq}.mp4"]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    meta = dict(meta, seq=seq, width=W, height=H, fps=fps, frames=len(frames),
                objects=[objs[k] for k in sorted(objs)])
    with open(f"{out}/Meta/{seq}.json", "w") as fp:
        json.dump(meta, fp, indent=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--preset", nargs="*", default=None, help=f"any of {list(PRESETS)}; default all")
    ap.add_argument("--random", type=int, default=0)
    ap.add_argument("--split", choices=["train", "heldout"], default="heldout")
    ap.add_argument("--size", default="480x270")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--fps", type=int, default=24)
    a = ap.parse_args()
    W, H = map(int, a.size.split("x"))
    src = load_sources(split=a.split)
    photos = [p for _, p in src]
    jobs = [(name, PRESETS[name]) for name in (list(PRESETS) if a.preset is None else a.preset)]
    for i in range(a.random):
        r = np.random.default_rng([a.seed, 1000 + i])
        jobs.append((f"random{i:03d}", dict(n=int(r.integers(1, 4)), occluder=bool(r.random() < 0.4),
                                            exit=bool(r.random() < 0.3), shake=float(r.uniform(0, 4)),
                                            blur=float(r.uniform(0, 1)), lighting=float(r.uniform(0, 1)),
                                            morph=bool(r.random() < 0.7))))
    names = []
    for i, (name, cfg) in enumerate(jobs):
        t0 = time.time()
        frames, labels = make_clip(a.seed, i, name, cfg, photos, W, H, a.frames, a.fps)
        seq = f"{name}_s{a.seed}"
        write_clip(a.out, seq, frames, labels, a.fps,
                   {"generator": GENERATOR, "seed": a.seed, "preset": name, "effects": cfg, "split": a.split})
        names.append(seq)
        print(f"{seq}: {len(frames)} frames {W}x{H}, {time.time() - t0:.1f}s", flush=True)
    os.makedirs(f"{a.out}/ImageSets", exist_ok=True)
    existing = []
    if os.path.exists(f"{a.out}/ImageSets/clips.txt"):
        existing = open(f"{a.out}/ImageSets/clips.txt").read().split()
    with open(f"{a.out}/ImageSets/clips.txt", "w") as fp:
        fp.write("".join(s + "\n" for s in sorted(set(existing) | set(names))))


if __name__ == "__main__":
    main()
