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
from stable_sam.train import list_samples, noisy_box, train  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
