"""Does a plugin help on the prompts a tracker gives? Mean IoU of the base SAM vs base + plugin on N clip
samples (seq, frame t, object) with temporal prompts (train.py's `temporal_prompt`: the neighbouring
frame's mask box, padded, shifted, sometimes cut short), and, as a control, with frame t's tight
ground-truth box. Seeded: the same seed draws the same samples and prompts for every plugin.

    cd Scripts && python -m stable_sam.eval_temporal --checkpoint base.safetensors --plugin plugin.safetensors \\
        --clips CLIPS --samples 200 --seed 0

Prints one JSON object: {"samples", "seed", "clips", "base": {"temporal", "box"}, "plugin": {"temporal",
"box"}, "delta": {"temporal", "box"}, "plugin_better_temporal"} (mIoU in [0, 1]; IoU at the image's own
resolution, masks = single-mask output > SAM's threshold; plugin_better_temporal = share of samples
where base + plugin beats the base on the temporal prompt).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from segment_anything import sam_model_registry
from segment_anything.utils.transforms import ResizeLongestSide

from .plugins import load_plugin
from .train import list_clip_samples, load_base, mask_box, temporal_prompt


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def evaluate_temporal(sam, plugin, clips, samples=200, seed=0):
    """sam: the frozen base; plugin: a StableSAMPlugin (loaded for this base). Returns the dict above."""
    sam.eval()
    clip_samples, table = list_clip_samples(clips)
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(len(clip_samples), size=min(samples, len(clip_samples)), replace=False))
    transform = ResizeLongestSide(sam.image_encoder.img_size)
    image_pe = sam.prompt_encoder.get_dense_pe()
    scores = {(m, p): [] for m in ("base", "plugin") for p in ("temporal", "box")}
    cached = (None, None)
    with torch.no_grad():
        for i in picks:
            seq, t, value = clip_samples[i]
            jpg, png = table[seq]["frames"][t]
            obj = np.asarray(Image.open(png)) == value
            h, w = obj.shape
            prompts = dict(temporal=temporal_prompt(table[seq]["boxes"][value], t, rng, w, h)[0], box=mask_box(obj))
            if cached[0] != jpg:
                image = np.asarray(Image.open(jpg).convert("RGB"))
                x = torch.as_tensor(transform.apply_image(image)).permute(2, 0, 1)[None]
                cached = (jpg, sam.image_encoder(sam.preprocess(x.float())))
            embedding = cached[1]
            input_size = transform.get_preprocess_shape(h, w, sam.image_encoder.img_size)
            for name, box in prompts.items():
                boxes = torch.as_tensor(transform.apply_boxes(box[None], (h, w)))
                sparse, dense = sam.prompt_encoder(points=None, boxes=boxes, masks=None)
                for model in ("base", "plugin"):
                    if model == "base":
                        plugin.detach()
                    else:
                        plugin.attach(sam)
                    low, _ = sam.mask_decoder(image_embeddings=embedding, image_pe=image_pe,
                                              sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                              multimask_output=False)
                    mask = sam.postprocess_masks(low, input_size, (h, w))[0, 0] > sam.mask_threshold
                    scores[model, name].append(iou(mask.numpy(), obj))
    plugin.detach()
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    better = np.array(scores["plugin", "temporal"]) > np.array(scores["base", "temporal"])
    return dict(samples=len(picks), seed=seed, clips=str(Path(clips).name),
                base=dict(temporal=mean["base", "temporal"], box=mean["base", "box"]),
                plugin=dict(temporal=mean["plugin", "temporal"], box=mean["plugin", "box"]),
                delta=dict(temporal=mean["plugin", "temporal"] - mean["base", "temporal"],
                           box=mean["plugin", "box"] - mean["base", "box"]),
                plugin_better_temporal=float(better.mean()) if len(better) else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="base SAM: official .pth (with --model-type) or our safetensors")
    parser.add_argument("--model-type", default="vit_b", choices=sorted(sam_model_registry))
    parser.add_argument("--plugin", required=True, help="plugin file (.safetensors) trained for this base")
    parser.add_argument("--clips", required=True, help="DAVIS-layout clip folder")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    sam = load_base(args.checkpoint, args.model_type)
    plugin, _ = load_plugin(args.plugin, sam)   # checks the base fingerprint
    print(json.dumps(evaluate_temporal(sam, plugin, args.clips, args.samples, args.seed)))


if __name__ == "__main__":
    sys.exit(main())
