#!/usr/bin/env python3
"""Tracking quality from the first-frame box, with and without the Stable-SAM plugin: J&F, J, F,
flicker and consecutive-frame IoU per clip and their means (standard library only; runs the
release `stablesam` binary).

    python3 Scripts/measure_tracking.py Clips                      # the bundled clips
    python3 Scripts/measure_tracking.py /work/val                  # a DAVIS-layout folder (make_clips.py)
    python3 Scripts/measure_tracking.py /work/val --model M.safetensors --plugin P.safetensors \\
        --track-args "--margin 0.15" --json out.json

A bundled-style folder has <clip>/{clip.mp4, boxes.json, Annotations/}; a DAVIS-layout folder has
Videos/<seq>.mp4, Annotations/<seq>/, Meta/<seq>.json (initial boxes of the objects seen on frame 0).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clips(folder):
    """[(name, video, annotations, objects JSON path or list)]"""
    out = []
    if os.path.isdir(os.path.join(folder, "Videos")):
        for name in sorted(os.listdir(os.path.join(folder, "Videos"))):
            seq = name.rsplit(".", 1)[0]
            meta = json.load(open(os.path.join(folder, "Meta", f"{seq}.json")))
            objs = [{"id": o["id"], "box": o["initial_box"]} for o in meta["objects"] if o["first_frame"] == 0]
            out.append((seq, os.path.join(folder, "Videos", name), os.path.join(folder, "Annotations", seq), objs))
    else:
        for name in sorted(os.listdir(folder)):
            d = os.path.join(folder, name)
            if os.path.exists(os.path.join(d, "clip.mp4")):
                out.append((name, os.path.join(d, "clip.mp4"), os.path.join(d, "Annotations"),
                            json.load(open(os.path.join(d, "boxes.json")))))
    return out


def run(binary, clip, plugin, work, model, extra):
    name, video, gt, objs = clip
    tag = "plugin" if plugin != "none" else "none"
    out = os.path.join(work, f"{name}-{tag}")
    boxes = os.path.join(work, f"{name}-boxes.json")
    json.dump(objs, open(boxes, "w"))
    cmd = [binary, "track", video, "--objects", boxes, "--plugin", plugin, "--quiet", "--out", out] + extra
    if model:
        cmd += ["--model", model]
    t = time.time()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    wall = time.time() - t
    report = os.path.join(work, f"{name}-{tag}.json")
    subprocess.run([binary, "eval", "--pred", out, "--gt", gt, "--json", report], check=True, stdout=subprocess.DEVNULL)
    overall = json.load(open(report))["overall"]
    summary = json.load(open(os.path.join(out, "summary.json")))
    frames = summary.get("timings", {}).get("frames_processed") or 0
    overall["fps"] = frames / wall if wall > 0 else None
    return overall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--model", default=None, help="--model for track (default: the bundled model)")
    ap.add_argument("--plugin", default="default", help="plugin for the 'plugin' column (default: the bundled one)")
    ap.add_argument("--track-args", default="", help="extra arguments for every track run")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "stablesam"))
    ap.add_argument("--json", default=None, help="write every figure here")
    ap.add_argument("--no-baseline", action="store_true", help="skip the --plugin none runs")
    a = ap.parse_args()
    extra = shlex.split(a.track_args)
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        for clip in clips(a.folder):
            rows[clip[0]] = {"plugin": run(a.binary, clip, a.plugin, work, a.model, extra)}
            if not a.no_baseline:
                rows[clip[0]]["none"] = run(a.binary, clip, "none", work, a.model, extra)
    f = lambda v: "-" if v is None else f"{v:.3f}"
    modes = ["plugin"] + ([] if a.no_baseline else ["none"])
    print("| clip | objects | " + " | ".join(f"J&F {m} | J {m} | F {m} | flicker {m} | cons. IoU {m}" for m in modes)
          + " | fps |")
    print("|---|---:|" + "---:|" * (5 * len(modes) + 1))
    keys = ["j_and_f", "j_mean", "f_mean", "flicker", "consecutive_io_u"]
    means = {m: {k: [] for k in keys} for m in modes}
    for name, r in rows.items():
        cells = []
        for m in modes:
            for k in keys:
                v = r[m].get(k)
                cells.append(f(v))
                if v is not None:
                    means[m][k].append(v)
        print(f"| {name} | {r['plugin']['objects']} | " + " | ".join(cells) + f" | {f(r['plugin']['fps'])} |")
    mean_cells = [f(sum(v) / len(v) if v else None) for m in modes for v in means[m].values()]
    print("| **mean** | | " + " | ".join(mean_cells) + " | |")
    if a.json:
        json.dump({"clips": rows, "mean": {m: {k: (sum(v) / len(v) if v else None) for k, v in means[m].items()}
                                           for m in modes}}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
