#!/usr/bin/env python3
"""Regenerates the bundled clips in Clips/ from the scene generator (held-out photos only).

    python Scripts/scenes/bundle_clips.py            # writes Clips/<name>/{clip.mp4, boxes.json, meta.json, Annotations/}

Each clip comes from `make_clips.py --split heldout --seed 7 --preset <name>`: deterministic, and
made only of photos the default model never trained on. boxes.json is the `--objects` file of
`stablesam track` (the first frame's mask box per object, x1/y1 exclusive).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

CLIPS = ["two_objects", "occlusion", "exit_reenter", "shake_blur"]
SEED = 7
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "make_clips.py"), "--out", tmp, "--seed", str(SEED),
                        "--split", "heldout", "--preset", *CLIPS], check=True)
        for name in CLIPS:
            seq = f"{name}_s{SEED}"
            dest = os.path.join(ROOT, "Clips", name)
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            shutil.copy(os.path.join(tmp, "Videos", f"{seq}.mp4"), os.path.join(dest, "clip.mp4"))
            shutil.copytree(os.path.join(tmp, "Annotations", seq), os.path.join(dest, "Annotations"))
            meta = json.load(open(os.path.join(tmp, "Meta", f"{seq}.json")))
            json.dump(meta, open(os.path.join(dest, "meta.json"), "w"), indent=1)
            boxes = [{"id": o["id"], "name": f"object {o['id']}", "box": o["initial_box"]}
                     for o in meta["objects"] if o["first_frame"] == 0]
            json.dump(boxes, open(os.path.join(dest, "boxes.json"), "w"), indent=1)
            print(f"Clips/{name}: {meta['frames']} frames {meta['width']}x{meta['height']} @ {meta['fps']} fps, "
                  f"{len(boxes)} object(s)")


if __name__ == "__main__":
    main()
