"""Smoke test of RTS on a tiny generated dataset and a tiny random SAM (nothing big is trained):

    cd Scripts && ../.venv-scripts/bin/python -m unittest stable_sam.test_train
"""

import json
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from make_fixtures import TINY_CONFIGS, build_tiny_sam, perturb  # noqa: E402
from stable_sam import load_plugin  # noqa: E402
from stable_sam.eval_temporal import evaluate_temporal  # noqa: E402
from stable_sam.plugins import StableSAMPlugin  # noqa: E402
from stable_sam.train import (PROMPT_TYPES, TEMPORAL_OFFSETS, epoch_stream, list_clip_samples, list_samples,  # noqa: E402
                              noisy_box, temporal_prompt, train)

# What the code before temporal prompts (29af8e2) gave for test_a_few_steps...: seed 3, batch 3, 3 steps.
GOLDEN_KINDS = [["noisy_box", "points3", "points1"], ["box", "noisy_box", "box"], ["box", "box", "points3"]]
GOLDEN_LOSSES = [1.6252835988998413, 1.627759337425232, 1.6201835870742798]


def make_dataset(root, count=5, seed=0):
    """count 96x72 images with a bright disc (object 1) and a dark rectangle (object 2)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[0:72, 0:96]
    for i in range(count):
        image = rng.integers(60, 160, size=(72, 96, 3), dtype=np.uint8)
        mask = np.zeros((72, 96), np.uint8)
        cx, cy, r = rng.integers(20, 40), rng.integers(20, 50), rng.integers(8, 15)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        image[disc], mask[disc] = 230, 1
        x0, y0 = rng.integers(50, 70), rng.integers(10, 40)
        image[y0:y0 + 20, x0:x0 + 18], mask[y0:y0 + 20, x0:x0 + 18] = 20, 2
        Image.fromarray(image).save(root / "images" / f"img{i}.{'png' if i % 2 else 'jpg'}")
        Image.fromarray(mask).save(root / "masks" / f"img{i}.png")


CLIP_W, CLIP_H, CLIP_FRAMES = 96, 64, 6
# Clip "b": object 1 is missing at frame 2; object 2 is visible only at frames 0 and 5 (no neighbour
# within +-3 is visible, so its prompts fall back to the frame itself).
CLIP_VISIBLE = {"a": {1: set(range(6))}, "b": {1: {0, 1, 3, 4, 5}, 2: {0, 5}}}


def square(t, obj):
    """The object's square at frame t: moves right 5 px a frame and grows 1 px, so every frame's box differs."""
    x0, y0, side = (10 + 5 * t, 12, 14 + t) if obj == 1 else (60, 30 + 2 * t, 10)
    return x0, y0, side


def make_clip_set(root, seed=0):
    """DAVIS layout: JPEGImages/<seq>/NNNNN.jpg, Annotations/<seq>/NNNNN.png (indexed, 0 = background)."""
    rng = np.random.default_rng(seed)
    for seq, objects in CLIP_VISIBLE.items():
        (root / "JPEGImages" / seq).mkdir(parents=True)
        (root / "Annotations" / seq).mkdir(parents=True)
        for t in range(CLIP_FRAMES):
            image = rng.integers(60, 160, size=(CLIP_H, CLIP_W, 3), dtype=np.uint8)
            lab = np.zeros((CLIP_H, CLIP_W), np.uint8)
            for obj, frames in objects.items():
                if t in frames:
                    x0, y0, side = square(t, obj)
                    image[y0:y0 + side, x0:x0 + side] = 230 if obj == 1 else 20
                    lab[y0:y0 + side, x0:x0 + side] = obj
            Image.fromarray(image).save(root / "JPEGImages" / seq / f"{t:05d}.jpg", quality=92)
            png = Image.fromarray(lab, mode="P")
            png.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9))
            png.save(root / "Annotations" / seq / f"{t:05d}.png")


def tiny_sam(seed=5):
    torch.manual_seed(seed)
    sam = build_tiny_sam(TINY_CONFIGS["win"])
    perturb(sam, torch.Generator().manual_seed(seed + 1))
    return sam


class TrainTests(unittest.TestCase):
    def test_a_few_steps_log_loss_and_route_and_write_a_loadable_plugin(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_dataset(tmp / "data")
            self.assertEqual(len(list_samples(tmp / "data")), 10)
            sam = tiny_sam()
            plugin, records = train(sam, tmp / "data", tmp / "p.safetensors", base_model="tiny", seed=3,
                                    batch_size=3, log=tmp / "log.jsonl", max_steps=3)
            self.assertEqual(len(records), 3)
            # Without --clips the code path is the one before temporal prompts: same draws, same losses.
            self.assertEqual([r["prompts"] for r in records], GOLDEN_KINDS)
            np.testing.assert_allclose([r["loss"] for r in records], GOLDEN_LOSSES, rtol=1e-5)
            for r in records:
                self.assertTrue(np.isfinite(r["loss"]) and r["loss"] > 0)
                self.assertAlmostEqual(r["a1"] + r["a2"], 1, places=5)
            self.assertEqual(len((tmp / "log.jsonl").read_text().splitlines()), 3)
            # Only the plugin learns: its offset head leaves zero, SAM is untouched.
            self.assertGreater(float(plugin.dsp.offset[3].weight.abs().max()), 0)
            self.assertTrue(all(not p.requires_grad for p in sam.parameters()))
            loaded, meta = load_plugin(tmp / "p.safetensors", sam)   # checks width and base fingerprint
            prov = json.loads(meta["provenance"])
            self.assertEqual((prov["steps"], prov["seed"], prov["lr"]), (3, 3, 1e-3))
            self.assertNotIn("temporal", prov)
            for k, v in plugin.state_dict().items():
                self.assertTrue(torch.equal(loaded.state_dict()[k], v), k)
            loaded.detach()

            again, _ = train(tiny_sam(), tmp / "data", tmp / "q.safetensors", base_model="tiny", seed=3,
                             batch_size=3, max_steps=3)
            for k, v in plugin.state_dict().items():
                self.assertTrue(torch.equal(again.state_dict()[k], v), f"{k}: same seed, different weights")

    def test_noisy_box_stays_inside_the_image_with_positive_area(self):
        rng = np.random.default_rng(0)
        for _ in range(200):
            b = noisy_box(np.array([2, 3, 40, 30], np.float32), rng.uniform(0, 0.5), rng, 48, 32)
            self.assertTrue(0 <= b[0] < b[2] <= 48 and 0 <= b[1] < b[3] <= 32, b)


class TemporalPromptTests(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        make_clip_set(self.root / "clips")

    def tearDown(self):
        self._tmp.cleanup()

    def test_clip_samples_are_the_visible_objects(self):
        samples, table = list_clip_samples(self.root / "clips")
        expected = sorted((seq, t, obj) for seq, objs in CLIP_VISIBLE.items() for obj, ts in objs.items() for t in ts)
        self.assertEqual(samples, expected)
        self.assertEqual(table["b"]["size"], (CLIP_W, CLIP_H))
        x0, y0, side = square(4, 1)
        np.testing.assert_array_equal(table["b"]["boxes"][1][4], [x0, y0, x0 + side, y0 + side])

    def test_temporal_prompt_is_the_neighbouring_frames_box_padded_inside_bounds_and_image(self):
        _, table = list_clip_samples(self.root / "clips")
        rng = np.random.default_rng(0)
        exact = dict(margin=(0, 0), shift=(0, 0), cut_prob=0)
        for seq, objs in CLIP_VISIBLE.items():
            for obj, ts in objs.items():
                boxes = table[seq]["boxes"][obj]
                for t in ts:
                    seen = set()
                    for _ in range(60):
                        box, src = temporal_prompt(boxes, t, rng, CLIP_W, CLIP_H, **exact)
                        seen.add(src - t)
                        np.testing.assert_array_equal(box, boxes[src])   # no noise: exactly that frame's box
                    visible = {d for d in TEMPORAL_OFFSETS if t + d in ts}
                    self.assertEqual(seen, visible or {0}, (seq, obj, t))   # every visible neighbour, only those
        # Padding only: the source box <= prompt <= source box padded by 0.3 of its side, within the image.
        boxes = table["a"]["boxes"][1]
        pads = []
        for _ in range(300):
            t = int(rng.integers(CLIP_FRAMES))
            box, src = temporal_prompt(boxes, t, rng, CLIP_W, CLIP_H, shift=(0, 0), cut_prob=0)
            s = boxes[src]
            w, h = s[2] - s[0], s[3] - s[1]
            outer = np.maximum(np.minimum(s + 0.3 * np.array([-w, -h, w, h]), [CLIP_W, CLIP_H] * 2), 0)
            self.assertTrue(np.all(box[:2] <= s[:2]) and np.all(box[2:] >= s[2:]), (box, s))
            self.assertTrue(np.all(box[:2] >= outer[:2] - 1e-4) and np.all(box[2:] <= outer[2:] + 1e-4), (box, outer))
            pads.append((s[0] - box[0]) / w)
        self.assertGreater(max(pads), 0.2)
        # Cut only: inside the source box, exactly one side moved.
        for _ in range(100):
            box, src = temporal_prompt(boxes, 2, rng, CLIP_W, CLIP_H, margin=(0, 0), shift=(0, 0), cut_prob=1)
            s = boxes[src]
            self.assertTrue(np.all(box[:2] >= s[:2]) and np.all(box[2:] <= s[2:]))
            self.assertGreaterEqual(int(np.sum(box == s)), 3)
        # Shift only: centre error ~ N(0, sigma * side), sigma ~ U(0.05, 0.1), cut at 3 sigma.
        shifts = []
        for _ in range(2000):
            box, src = temporal_prompt(boxes, 2, rng, CLIP_W, CLIP_H, margin=(0, 0), cut_prob=0)
            s = boxes[src]
            shifts.append(((box[0] + box[2]) - (s[0] + s[2])) / 2 / (s[2] - s[0]))
        shifts = np.array(shifts)
        self.assertTrue(0.06 < shifts.std() < 0.09, shifts.std())
        self.assertLessEqual(np.abs(shifts).max(), 0.3 + 1e-4)

    def test_loose_temporal_prompts_are_grown_boxes_at_their_share_and_loose_zero_changes_nothing(self):
        _, table = list_clip_samples(self.root / "clips")
        boxes = table["a"]["boxes"][1]
        # loose = 0 draws exactly what the default draws (same stream, same plugin bytes as before)
        r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
        for _ in range(50):
            a, _ = temporal_prompt(boxes, 2, r1, CLIP_W, CLIP_H)
            b, _ = temporal_prompt(boxes, 2, r2, CLIP_W, CLIP_H, loose=0.0)
            np.testing.assert_array_equal(a, b)
        # loose = 0.5: about half the prompts padded by U(0.3, 0.8) of the side, the rest by U(0, 0.3)
        rng = np.random.default_rng(4)
        pads = []
        for _ in range(400):
            box, src = temporal_prompt(boxes, 2, rng, 10 * CLIP_W, 10 * CLIP_H, shift=(0, 0), cut_prob=0, loose=0.5)
            s = boxes[src]
            pads.append((box[2] - s[2]) / (s[2] - s[0]))
        pads = np.array(pads)
        self.assertTrue(np.all(pads >= -1e-4) and np.all(pads <= 0.8 + 1e-4), (pads.min(), pads.max()))
        self.assertTrue(0.4 < np.mean(pads > 0.3) < 0.6, np.mean(pads > 0.3))
        # All at once (the defaults): inside the image, positive area.
        for seq, objs in CLIP_VISIBLE.items():
            for obj, ts in objs.items():
                for t in ts:
                    for _ in range(30):
                        b, _ = temporal_prompt(table[seq]["boxes"][obj], t, rng, CLIP_W, CLIP_H)
                        self.assertTrue(0 <= b[0] < b[2] <= CLIP_W and 0 <= b[1] < b[3] <= CLIP_H, b)

    def test_epoch_is_one_pass_over_still_samples_with_clip_samples_at_the_share(self):
        still = list(range(10))
        plain = epoch_stream(still, None, 0.5, np.random.default_rng(4))
        self.assertEqual(sorted(i for _, i in plain), still)
        for share, n in ((0.0, 0), (0.25, 3), (0.5, 10), (0.8, 40)):
            stream = epoch_stream(still, list(range(7)), share, np.random.default_rng(4))
            self.assertEqual([x for x in stream if x[0] == "still"], plain)   # same still order as without clips
            clip = [i for src, i in stream if src == "clip"]
            self.assertEqual(len(clip), n)
            counts = np.bincount(clip, minlength=7)
            self.assertLessEqual(counts.max() - counts.min(), 1)   # without replacement, cycled

    def test_training_with_clips_logs_temporal_at_the_share_and_writes_the_same_file_format(self):
        make_dataset(self.root / "data", count=3)   # 6 still samples; share 0.5 -> 6 clip samples, 3 steps of 4
        sam = tiny_sam()
        calls = []
        sam.image_encoder.register_forward_hook(lambda *a: calls.append(1))
        seed, share = 1, 0.5
        plugin, records = train(sam, self.root / "data", self.root / "t.safetensors", base_model="tiny", seed=seed,
                                batch_size=4, clips=self.root / "clips", temporal_share=share)
        kinds = [k for r in records for k in r["prompts"]]
        self.assertEqual(len(records), 3)
        self.assertEqual(kinds.count("temporal"), 6)
        self.assertAlmostEqual(kinds.count("temporal") / len(kinds), share, delta=0.05)
        self.assertTrue(all(k == "temporal" or k.rstrip("0123456789") in PROMPT_TYPES + ("points",) for k in kinds))
        for r in records:
            self.assertTrue(np.isfinite(r["loss"]) and r["loss"] > 0)
        # The frozen embedding is computed once per distinct image in a step.
        samples, (clip_samples, table) = list_samples(self.root / "data"), list_clip_samples(self.root / "clips")
        stream = epoch_stream(samples, clip_samples, share, np.random.default_rng(seed))
        path = {("still", i): s[0] for i, s in enumerate(samples)}
        path.update({("clip", i): table[q]["frames"][t][0] for i, (q, t, _) in enumerate(clip_samples)})
        distinct = [len({path[x] for x in stream[k:k + 4]}) for k in range(0, len(stream), 4)]
        self.assertLess(sum(distinct), len(stream), "this seed must put one image twice in a step")
        self.assertEqual([r["images"] for r in records], distinct)
        self.assertEqual(len(calls), sum(distinct))
        # Same plugin file format as before (Swift's loader): same tensor keys and shapes, same metadata keys.
        loaded, meta = load_plugin(self.root / "t.safetensors", tiny_sam())
        reference = StableSAMPlugin(32).state_dict()
        self.assertEqual({k: v.shape for k, v in loaded.state_dict().items()}, {k: v.shape for k, v in reference.items()})
        self.assertEqual(set(meta), {"format", "transformer_dim", "options", "base_model", "base_decoder_fingerprint",
                                     "provenance", "parameter_count"})
        temporal = json.loads(meta["provenance"])["temporal"]
        self.assertEqual((temporal["share"], temporal["clip_count"], temporal["clip_samples"],
                          temporal["clip_samples_per_epoch"], temporal["margin"], temporal["offsets"]),
                         (0.5, 2, len(clip_samples), 6, [0.0, 0.3], [-3, -2, -1, 1, 2, 3]))
        loaded.detach()

        # Evaluation on temporal prompts: an untrained (identity) plugin is exactly the base; seeded.
        base = tiny_sam()
        identity = StableSAMPlugin(32)
        result = evaluate_temporal(base, identity, self.root / "clips", samples=6, seed=2)
        self.assertEqual(result["samples"], 6)
        for kind in ("temporal", "box"):
            self.assertTrue(0 <= result["base"][kind] <= 1)
            self.assertAlmostEqual(result["plugin"][kind], result["base"][kind], delta=1e-3)
        trained, _ = load_plugin(self.root / "t.safetensors", base)
        first = evaluate_temporal(base, trained, self.root / "clips", samples=6, seed=2)
        self.assertEqual(first, evaluate_temporal(base, trained, self.root / "clips", samples=6, seed=2))
        self.assertEqual(first["base"], result["base"])   # the base is measured without the plugin


if __name__ == "__main__":
    unittest.main()
