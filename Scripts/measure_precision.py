#!/usr/bin/env python3
"""How far `--precision bf16` moves tracking from fp32: per clip, the mean IoU of bf16's masks with
fp32's (every object and frame; `stablesam eval` with the fp32 run as ground truth) and both runs'
J&F against the real ground truth, with their frame rates (standard library only; runs the
release `stablesam` binary, default model and plugin unless told otherwise).

    python3 Scripts/measure_precision.py Clips                   # the bundled clips
    python3 Scripts/measure_precision.py /work/val --model M.safetensors --json out.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_tracking import ROOT, clips  # noqa: E402


def track(binary, clip, precision, work, model):
    name, video, _, objs = clip
    out = os.path.join(work, f"{name}-{precision}")
    boxes = os.path.join(work, f"{name}-boxes.json")
    json.dump(objs, open(boxes, "w"))
    cmd = [binary, "track", video, "--objects", boxes, "--precision", precision, "--quiet", "--out", out]
    if model:
        cmd += ["--model", model]
    t = time.time()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    frames = json.load(open(os.path.join(out, "summary.json")))["timings"]["frames_processed"]
    return out, frames / (time.time() - t)


def evaluate(binary, pred, gt, work, tag):
    report = os.path.join(work, tag + ".json")
    subprocess.run([binary, "eval", "--pred", pred, "--gt", gt, "--json", report], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(report))["overall"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--model", default=None)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "stablesam"))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        for clip in clips(a.folder):
            name, _, gt, _ = clip
            fp32, fps32 = track(a.binary, clip, "fp32", work, a.model)
            bf16, fps16 = track(a.binary, clip, "bf16", work, a.model)
            rows[name] = {
                "iou_bf16_vs_fp32": evaluate(a.binary, bf16, os.path.join(fp32, "palette"), work, name + "-agree")["j_mean"],
                "jf_fp32": evaluate(a.binary, fp32, gt, work, name + "-fp32")["j_and_f"],
                "jf_bf16": evaluate(a.binary, bf16, gt, work, name + "-bf16")["j_and_f"],
                "fps_fp32": fps32, "fps_bf16": fps16,
            }
    keys = ["iou_bf16_vs_fp32", "jf_fp32", "jf_bf16", "fps_fp32", "fps_bf16"]
    print("| clip | mask IoU bf16 vs fp32 | J&F fp32 | J&F bf16 | fps fp32 | fps bf16 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{r[k]:.3f}" if k.startswith(("iou", "jf")) else f"{r[k]:.1f}" for k in keys) + " |")
    mean = {k: sum(r[k] for r in rows.values()) / len(rows) for k in keys}
    print("| **mean** | " + " | ".join(f"{mean[k]:.3f}" if k.startswith(("iou", "jf")) else f"{mean[k]:.1f}" for k in keys) + " |")
    print(f"J&F change: {mean['jf_bf16'] - mean['jf_fp32']:+.4f}")
    if a.json:
        json.dump({"clips": rows, "mean": mean}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
