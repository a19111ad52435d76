"""RTS, Stable-SAM's robust training strategy: train only the plugins (DSP + DRP) on a frozen SAM for
one epoch over a mix of good and bad prompts (STABLE_SAM.md).

Data folder layout:
    DATA/images/<stem>.png | .jpg | .jpeg   RGB (or grey) images
    DATA/masks/<stem>.png                   same stem; 0 = background, every other value is one object
                                            (an instance-id PNG; a 0/255 mask is a single object)
Every (image, object) pair is one sample; the target is always the whole object mask.

    cd Scripts && python -m stable_sam.train --checkpoint sam_vit_b_01ec64.pth --model-type vit_b \\
        --data DATA --out plugin.safetensors --log train.jsonl

Per step it logs (stdout and --log, JSON lines) the loss (BCE + Dice on the low-res logits), its two
terms, the mean route weights a1/a2 and the prompt types drawn. Deterministic given --seed on CPU.
"""

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from segment_anything import sam_model_registry
from segment_anything.utils.transforms import ResizeLongestSide

from .plugins import Options, StableSAMPlugin, save_plugin

PROMPT_TYPES = ("box", "noisy_box", "points")   # drawn uniformly per sample
NOISE_SCALE_MAX = 0.5                           # noisy box: s ~ U(0, 0.5)
POINT_COUNTS = list(range(1, 11))               # k positive points, weighted towards 1 and 3
POINT_WEIGHTS = [0.3 if k in (1, 3) else 0.05 for k in POINT_COUNTS]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def list_samples(data):
    """[(image path, mask path, object value)] sorted by stem, then value."""
    data = Path(data)
    images = sorted(p for p in (data / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    samples = []
    for image in images:
        mask = data / "masks" / f"{image.stem}.png"
        assert mask.exists(), f"{image.name} has no mask: expected {mask}"
        values = np.unique(np.asarray(Image.open(mask)))
        samples += [(image, mask, int(v)) for v in values if v != 0]
    assert samples, f"no objects found under {data}/masks"
    return samples


def noisy_box(box, s, rng, width, height):
    """HQ-SAM / DN-DETR box noise: jitter centre by u*(w/2)*s, size by u*w*s, u ~ U(-1, 1); clamp."""
    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    u = rng.uniform(-1, 1, size=4)
    cx, cy = cx + u[0] * (w / 2) * s, cy + u[1] * (h / 2) * s
    w, h = w + u[2] * w * s, h + u[3] * h * s
    out = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    out = np.clip(out, 0, [width, height, width, height])
    out[2:] = np.maximum(out[2:], out[:2] + 1)   # keep a positive area after clamping
    return out.astype(np.float32)


def draw_prompt(obj, rng):
    """obj: HxW bool -> (kind, box [4] or None, points [k, 2] or None) in image pixels."""
    ys, xs = np.nonzero(obj)
    h, w = obj.shape
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)
    kind = PROMPT_TYPES[rng.integers(len(PROMPT_TYPES))]
    if kind == "box":
        return kind, box, None
    if kind == "noisy_box":
        return kind, noisy_box(box, rng.uniform(0, NOISE_SCALE_MAX), rng, w, h), None
    k = int(rng.choice(POINT_COUNTS, p=POINT_WEIGHTS))
    pick = rng.choice(len(xs), size=k, replace=len(xs) < k)
    return f"points{k}", None, np.stack([xs[pick], ys[pick]], axis=1).astype(np.float32)


def low_res_target(obj, transform, img_size, low_size):
    """The object mask in the decoder's low-res frame: resized as the image, padded, downsampled."""
    h, w = transform.get_preprocess_shape(obj.shape[0], obj.shape[1], img_size)
    m = torch.as_tensor(obj, dtype=torch.float32)[None, None]
    m = F.interpolate(m, (h, w), mode="bilinear", align_corners=False)
    m = F.pad(m, (0, img_size - w, 0, img_size - h))
    return (F.interpolate(m, (low_size, low_size), mode="area") > 0.5).float()


def bce_dice(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = logits.sigmoid().flatten(1)
    t = target.flatten(1)
    dice = 1 - ((2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)).mean()
    return bce + dice, bce, dice


def train(sam, data, out, base_model, seed=0, batch_size=4, lr=1e-3, options=None, log=None, max_steps=None):
    """Trains a plugin for `sam` (frozen) over one epoch of `data`; writes it to `out`. Returns
    (plugin, log records)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    sam.eval()
    sam.requires_grad_(False)
    plugin = StableSAMPlugin(sam.mask_decoder.transformer_dim, options or Options()).attach(sam)
    plugin.train()
    optimiser = torch.optim.Adam(plugin.parameters(), lr=lr)
    transform = ResizeLongestSide(sam.image_encoder.img_size)
    img_size = sam.image_encoder.img_size
    low_size = 4 * sam.prompt_encoder.image_embedding_size[0]
    image_pe = sam.prompt_encoder.get_dense_pe()

    samples = list_samples(data)
    order = rng.permutation(len(samples))
    steps = (len(samples) + batch_size - 1) // batch_size
    if max_steps is not None:
        steps = min(steps, max_steps)
    records, log_file = [], open(log, "w") if log else None
    for step in range(steps):
        batch = [samples[i] for i in order[step * batch_size:(step + 1) * batch_size]]
        losses, routes, kinds = [], [], []
        for image_path, mask_path, value in batch:
            image = np.asarray(Image.open(image_path).convert("RGB"))
            obj = np.asarray(Image.open(mask_path)) == value
            kind, box, points = draw_prompt(obj, rng)
            with torch.no_grad():
                x = torch.as_tensor(transform.apply_image(image)).permute(2, 0, 1)[None]
                embedding = sam.image_encoder(sam.preprocess(x.float()))
                boxes = torch.as_tensor(transform.apply_boxes(box[None], image.shape[:2])) if box is not None else None
                pts = None
                if points is not None:
                    coords = torch.as_tensor(transform.apply_coords(points, image.shape[:2]))[None]
                    pts = (coords, torch.ones(coords.shape[:2], dtype=torch.int))
                sparse, dense = sam.prompt_encoder(points=pts, boxes=boxes, masks=None)
            low, _ = sam.mask_decoder(image_embeddings=embedding, image_pe=image_pe, sparse_prompt_embeddings=sparse,
                                      dense_prompt_embeddings=dense, multimask_output=False)
            losses.append(bce_dice(low, low_res_target(obj, transform, img_size, low_size)))
            routes.append(plugin.last["route"].detach()[0])
            kinds.append(kind)
        loss = torch.stack([l[0] for l in losses]).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        a = torch.stack(routes).mean(0)
        record = dict(step=step + 1, steps=steps, loss=loss.item(), bce=torch.stack([l[1] for l in losses]).mean().item(),
                      dice=torch.stack([l[2] for l in losses]).mean().item(), a1=a[0].item(), a2=a[1].item(),
                      prompts=kinds)
        records.append(record)
        print(json.dumps(record), flush=True)
        if log_file:
            log_file.write(json.dumps(record) + "\n")
    if log_file:
        log_file.close()
    plugin.detach()
    provenance = dict(trainer="Scripts/stable_sam/train.py (RTS)", data=str(Path(data).name), samples=len(samples),
                      epochs=1, steps=steps, batch_size=batch_size, optimiser="Adam", lr=lr, seed=seed,
                      loss="BCE + Dice on low-res logits", prompt_types=list(PROMPT_TYPES),
                      noise_scale_max=NOISE_SCALE_MAX, point_weights=dict(zip(POINT_COUNTS, POINT_WEIGHTS)),
                      final_loss=records[-1]["loss"] if records else None,
                      torch=torch.__version__)
    save_plugin(plugin, out, sam.mask_decoder, base_model=base_model, provenance=provenance)
    return plugin, records


def load_base(checkpoint, model_type):
    """The frozen base SAM: an official .pth through the registry, or our own small model (the
    bundled default) from its safetensors export, rebuilt with the official modules."""
    if str(checkpoint).endswith(".safetensors"):
        from safetensors import safe_open
        from safetensors.torch import load_file
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from train_base import build_sam   # Scripts/train_base.py: the default model's architecture
        with safe_open(checkpoint, "pt") as f:
            config = json.loads(f.metadata()["config"])
        sam = build_sam(config)
        state = {k: v.float() for k, v in load_file(checkpoint).items()}
        sam.load_state_dict(state, strict=True)
        return sam.eval()
    return sam_model_registry[model_type](checkpoint=checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True,
                        help="base SAM checkpoint: an official .pth (with --model-type), or a safetensors export of "
                             "Scripts/train_base.py (its architecture is in the file's metadata)")
    parser.add_argument("--model-type", default="vit_b", choices=sorted(sam_model_registry))
    parser.add_argument("--data", required=True, help="folder with images/ and masks/ (see the module doc)")
    parser.add_argument("--out", required=True, help="plugin file to write (.safetensors)")
    parser.add_argument("--log", help="JSON-lines training log")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=int, help="stop early (smoke tests)")
    parser.add_argument("--offset-scale", type=float, default=Options.offset_scale)
    parser.add_argument("--route-token", default=Options.route_token, choices=["mask0", "iou"])
    parser.add_argument("--key-pe", default=Options.key_pe, choices=["grid", "deformed"])
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    sam = load_base(args.checkpoint, args.model_type)
    options = Options(offset_scale=args.offset_scale, route_token=args.route_token, key_pe=args.key_pe)
    train(sam, args.data, args.out, base_model=Path(args.checkpoint).name, seed=args.seed, batch_size=args.batch_size,
          lr=args.lr, options=options, log=args.log, max_steps=args.max_steps)
    print(f"wrote {args.out} ({json.dumps(asdict(options))})")


if __name__ == "__main__":
    sys.exit(main())
