#!/usr/bin/env python3
"""What correction keyframes buy (`track --prompts`, issue 14): per clip, J&F from the first box
alone, then with one and with two correction keyframes, each the ground-truth box of the frame
where that object's track is worst (per-frame J, keyframes excluded), applied with `--update`.
Checks that a correction never lowers J on the frames outside its neighbouring keyframes (it can
change them only through another object, since a sweep propagates all objects together), and
reports J&F per merge rule (agreement, nearer by default), and for reference plain `track` from the same boxes.
With --mask-fallback J, a correction whose box answer scores below J on its own frame is replaced
by the ground-truth mask, as a person who sees a bad answer paints the matte instead.

    .venv-scripts/bin/python Scripts/measure_keyframes.py Clips
    .venv-scripts/bin/python Scripts/measure_keyframes.py /work/val --merge surer nearer --json out.json

Needs Pillow and numpy (Scripts/setup_python.sh) for the ground-truth boxes; runs the release
`stablesam` (or --binary).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_tracking import clips  # noqa: E402  (same clip folders)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gt_masks(annotations):
    return [np.array(Image.open(os.path.join(annotations, n))) for n in sorted(os.listdir(annotations))]


def gt_box(masks, frame, obj):
    ys, xs = np.nonzero(masks[frame] == obj)
    if len(xs) == 0:
        return None
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def visible(masks, obj):
    """Frames where the object shows at least a quarter of its median area: where a person
    would correct it (a sliver at the frame edge is not worth a box)."""
    areas = np.array([(m == obj).sum() for m in masks])
    present = areas[areas > 0]
    if len(present) == 0:
        return set()
    return {t for t, a in enumerate(areas) if a >= 0.25 * np.median(present)}


def evaluate(binary, out, gt, work):
    report = os.path.join(work, "eval.json")
    subprocess.run([binary, "eval", "--pred", out, "--gt", gt, "--json", report, "--allow-missing"],
                   check=True, stdout=subprocess.DEVNULL)
    r = json.load(open(report))
    per = {int(o["object"]): o["j_per_frame"] for o in r["objects"]}
    return r["overall"]["j_and_f"], per


def mean_j(per, frames):
    """Mean J over every object on these frames."""
    values = [js[f] for js in per.values() for f in frames if f < len(js)]
    return float(np.mean(values)) if values else 1.0


def track(binary, video, prompts, out, merge, update, extra):
    cmd = [binary, "track", video, "--prompts", prompts, "--out", out, "--quiet", "--merge", merge] + extra
    if update:
        cmd.append("--update")
    subprocess.run(cmd, check=True)
    return json.load(open(os.path.join(out, "summary.json")))["keyframes"]


def frames_json(out):
    d = os.path.join(out, "frames")
    return {n: json.load(open(os.path.join(d, n)))["objects"] for n in sorted(os.listdir(d))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "stablesam"))
    ap.add_argument("--merge", nargs="+", default=["agreement", "nearer"])
    ap.add_argument("--corrections", type=int, default=2)
    ap.add_argument("--track-args", default="", help="extra track flags, e.g. \"--plugin none\"")
    ap.add_argument("--json", default=None)
    ap.add_argument("--mask-fallback", type=float, default=None, metavar="J",
                    help="a correction whose box answer scores J below this on its own frame is replaced by the "
                         "ground-truth mask, as a person who sees a bad answer paints the matte instead")
    a = ap.parse_args()
    extra = a.track_args.split()
    rows, problems = [], []
    for clip in clips(a.folder):
        name, video, gt, objs = clip
        masks = gt_masks(gt)
        work = tempfile.mkdtemp(prefix=f"kf-{name}-")
        boxes = os.path.join(work, "boxes.json")
        json.dump(objs, open(boxes, "w"))
        plain = os.path.join(work, "plain")
        subprocess.run([a.binary, "track", video, "--objects", boxes, "--out", plain, "--quiet"] + extra, check=True)
        row = {"clip": name, "track": evaluate(a.binary, plain, gt, work)[0]}
        for merge in a.merge:
            plan = {"objects": [{"id": o["id"], "keyframes": [{"frame": 0, "box": o["box"]}]} for o in objs]}
            prompts = os.path.join(work, f"prompts-{merge}.json")
            out = os.path.join(work, f"run-{merge}")
            json.dump(plan, open(prompts, "w"))
            track(a.binary, video, prompts, out, merge, False, extra)
            jf, per = evaluate(a.binary, out, gt, work)
            scores, recomputed, others_changed, masked, changed_outside, untouched = [jf], [], 0, 0, 0, []
            for _ in range(a.corrections):
                # The worst frame over all objects, keyframes excluded.
                worst = None
                for o in plan["objects"]:
                    keyed = {k["frame"] for k in o["keyframes"]}
                    shown = visible(masks, o["id"])
                    for t, j in enumerate(per.get(o["id"], [])):
                        if t not in keyed and t in shown and (worst is None or j < worst[0]):
                            worst = (j, o, t)
                if worst is None:
                    break
                _, o, t = worst
                before = frames_json(out)
                o["keyframes"].append({"frame": t, "box": gt_box(masks, t, o["id"])})
                o["keyframes"].sort(key=lambda k: k["frame"])
                json.dump(plan, open(prompts, "w"))
                k = track(a.binary, video, prompts, out, merge, True, extra)
                recomputed.append(k["tracked_forward"] + k["tracked_backward"])
                if a.mask_fallback is not None:
                    answer = np.array(Image.open(os.path.join(out, "masks", str(o["id"]), f"{t:06d}.png"))) > 127
                    truth = masks[t] == o["id"]
                    j = (answer & truth).sum() / max(1, (answer | truth).sum())
                    if j < a.mask_fallback:
                        path = os.path.join(work, f"mask-{o['id']}-{t}.png")
                        Image.fromarray((truth * 255).astype(np.uint8)).save(path)
                        o["keyframes"] = [x for x in o["keyframes"] if x["frame"] != t] + [{"frame": t, "mask": path}]
                        o["keyframes"].sort(key=lambda k: k["frame"])
                        json.dump(plan, open(prompts, "w"))
                        k = track(a.binary, video, prompts, out, merge, True, extra)
                        recomputed[-1] += k["tracked_forward"] + k["tracked_backward"]
                        masked += 1
                frames = sorted(x["frame"] for x in o["keyframes"])
                lo = max([f for f in frames if f < t], default=-1)
                hi = min([f for f in frames if f > t], default=10**9)
                after = frames_json(out)
                outside = [int(n.split(".")[0]) for n in after if not lo < int(n.split(".")[0]) < hi]
                for n, objects in after.items():
                    f = int(n.split(".")[0])
                    if lo < f < hi:
                        continue
                    mine = [x for x in objects if x["id"] == o["id"]]
                    if mine != [x for x in before[n] if x["id"] == o["id"]]:
                        changed_outside += 1  # through another object: sweeps propagate all objects together
                    elif objects != before[n]:
                        others_changed += 1
                jf_before_outside = mean_j(per, outside)
                jf, per = evaluate(a.binary, out, gt, work)
                scores.append(jf)
                untouched.append([jf_before_outside, mean_j(per, outside)])
                if untouched[-1][1] < untouched[-1][0] - 0.005:
                    problems.append(f"{name} {merge}: correction of {o['id']} at {t} lowered mean J on the frames outside "
                                    f"its neighbouring keyframes ({lo}, {hi}): {untouched[-1][0]:.3f} -> {untouched[-1][1]:.3f}")
            row[merge] = scores
            row[f"{merge}_recomputed"] = recomputed
            row[f"{merge}_other_objects_changed_outside"] = others_changed
            row[f"{merge}_corrected_object_changed_outside"] = changed_outside
            row[f"{merge}_untouched_j_before_after"] = untouched
            if a.mask_fallback is not None:
                row[f"{merge}_mask_corrections"] = masked
        rows.append(row)
        print(json.dumps(row), flush=True)
    means = {"clip": "mean", "track": float(np.mean([r["track"] for r in rows]))}
    for merge in a.merge:
        n = min(len(r[merge]) for r in rows)
        means[merge] = [float(np.mean([r[merge][i] for r in rows])) for i in range(n)]
    print(json.dumps(means))
    for p in problems:
        print("PROBLEM:", p)
    if a.json:
        json.dump({"clips": rows, "mean": means, "problems": problems}, open(a.json, "w"), indent=1)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
