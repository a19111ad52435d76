"""RTS, Stable-SAM's robust training strategy: train only the plugins (DSP + DRP) on a frozen SAM for
one epoch over a mix of good and bad prompts (STABLE_SAM.md).

Data folder layout:
    DATA/images/<stem>.png | .jpg | .jpeg   RGB (or grey) images
    DATA/masks/<stem>.png                   same stem; 0 = background, every other value is one object
                                            (an instance-id PNG; a 0/255 mask is a single object)
Every (image, object) pair is one sample; the target is always the whole object mask.

    cd Scripts && python -m stable_sam.train --checkpoint sam_vit_b_01ec64.pth --model-type vit_b \\
        --data DATA --out plugin.safetensors --log train.jsonl

Temporal prompts (optional, `--clips DIR`): clips in DAVIS layout, as Scripts/scenes/make_clips.py
writes them:
    DIR/JPEGImages/<seq>/NNNNN.jpg          frames
    DIR/Annotations/<seq>/NNNNN.png         indexed PNG, 0 = background, k = object k
Every sequence folder under Annotations/ is used (sorted); frame t is the t-th annotation file in
name order. A clip sample is (seq, frame t, object id) with the object visible at t. Its prompt (kind
`temporal`) is what a tracker gives on frame t: the tight box of the object's mask at frame t + d,
d drawn uniformly from the offsets +-1..+-3 that stay in the clip and where the object is visible
(none: d = 0, the frame's own box); with probability 0.25 one side is cut short by U(0, 0.3) of the
box side (a previous mask that missed a part); each side is padded by m * side, m ~ U(0, 0.3) (the
tracker's margin; one m for the four sides); the centre is shifted by N(0, sigma * side) per axis,
sigma ~ U(0.05, 0.1), truncated at 3 sigma (motion error); clamped to the image. The target is frame
t's mask. The settings are the TEMPORAL_* constants below and are stored in the plugin's provenance.
With --temporal-loose p, a share p of temporal prompts are "grown" instead: m ~ U(0.3, 0.8), the box a
tracker gives after its previous masks spilled into the background; the target is still the object,
so the plugin learns to pull such a mask back instead of filling the box (the growth feedback).

Epoch with clips: still one pass over the N still samples, in the same random order; clip samples are
interleaved at the share --temporal-share = s (default 0.5): n = round(N * s / (1 - s)) clip samples,
drawn without replacement from a random permutation of all clip samples (cycled through again if n is
larger), at random positions of the N + n sample stream; steps = ceil((N + n) / batch size). Still
samples keep RTS's mix (box / noisy box / points). Without --clips nothing changes: same random stream,
same steps, same plugin bytes.

Per step it logs (stdout and --log, JSON lines) the loss (BCE + Dice on the low-res logits), its two
terms, the mean route weights a1/a2, the prompt types drawn (`temporal` for clip samples) and the
number of distinct images encoded (an image that appears twice in a step is encoded once).
Deterministic given --seed on CPU.
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
TEMPORAL_OFFSETS = (-3, -2, -1, 1, 2, 3)        # prompt from frame t + d, d drawn among the visible ones
TEMPORAL_MARGIN = (0.0, 0.3)                    # padding m ~ U(.) of the box side, on each side
TEMPORAL_SHIFT = (0.05, 0.1)                    # centre += N(0, sigma * side), sigma ~ U(.), cut at 3 sigma
TEMPORAL_CUT_PROB = 0.25                        # probability that one side is cut short ...
TEMPORAL_CUT_MAX = 0.3                          # ... by U(0, 0.3) of the box side
TEMPORAL_SHARE = 0.5                            # default share of clip samples when --clips is given
TEMPORAL_LOOSE_MARGIN = (0.3, 0.8)              # --temporal-loose: margin of the "grown" prompts


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


def mask_box(obj):
    """Tight box [x0, y0, x1, y1] (x1/y1 exclusive) of a non-empty HxW bool mask."""
    ys, xs = np.nonzero(obj)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)


def list_clip_samples(clips):
    """Reads a DAVIS-layout clip folder. Returns (samples [(seq, t, object id)], clips {seq: dict(frames
    [(jpg path, png path)], boxes {object id: {t: tight box}}, size (w, h))}), sorted by seq, t, id."""
    clips = Path(clips)
    seqs = sorted(p.name for p in (clips / "Annotations").iterdir() if p.is_dir())
    samples, table = [], {}
    for seq in seqs:
        pngs = sorted((clips / "Annotations" / seq).glob("*.png"))
        frames, boxes, size = [], {}, None
        for t, png in enumerate(pngs):
            jpg = clips / "JPEGImages" / seq / f"{png.stem}.jpg"
            assert jpg.exists(), f"{png} has no frame: expected {jpg}"
            frames.append((jpg, png))
            lab = np.asarray(Image.open(png))
            size = (lab.shape[1], lab.shape[0])
            for v in np.unique(lab):
                if v != 0:
                    boxes.setdefault(int(v), {})[t] = mask_box(lab == v)
                    samples.append((seq, t, int(v)))
        if frames:
            table[seq] = dict(frames=frames, boxes=boxes, size=size)
    samples.sort()
    assert samples, f"no objects found under {clips}/Annotations"
    return samples, table


def clamp_box(box, width, height):
    """Clamps to the image, keeping at least one pixel of width and height inside it."""
    out = np.clip(np.asarray(box, dtype=np.float64), 0, [width, height, width, height])
    for lo, hi, n in ((0, 2, width), (1, 3, height)):
        if out[hi] - out[lo] < 1:
            out[lo] = min(out[lo], n - 1)
            out[hi] = out[lo] + 1
    return out.astype(np.float32)


def temporal_prompt(boxes, t, rng, width, height, offsets=TEMPORAL_OFFSETS, margin=TEMPORAL_MARGIN,
                    shift=TEMPORAL_SHIFT, cut_prob=TEMPORAL_CUT_PROB, cut_max=TEMPORAL_CUT_MAX, loose=0.0):
    """A tracker-like box for frame t: boxes {frame: tight box of the object} (the object is visible at
    t). Returns (box [4] float32 in image pixels, source frame t + d)."""
    visible = [d for d in offsets if t + d in boxes]
    src = t + (int(visible[rng.integers(len(visible))]) if visible else 0)
    x0, y0, x1, y1 = (float(v) for v in boxes[src])
    if rng.random() < cut_prob:   # the previous mask missed a part: one side short
        side, c = int(rng.integers(4)), rng.uniform(0, cut_max)
        if side == 0:
            x0 += c * (x1 - x0)
        elif side == 1:
            y0 += c * (y1 - y0)
        elif side == 2:
            x1 -= c * (x1 - x0)
        else:
            y1 -= c * (y1 - y0)
    w, h = x1 - x0, y1 - y0
    # the loose draw happens only when asked, so loose = 0 keeps the random stream (and the plugin bytes)
    m = rng.uniform(*(TEMPORAL_LOOSE_MARGIN if loose > 0 and rng.random() < loose else margin))
    sigma = rng.uniform(*shift)
    dx, dy = np.clip(rng.normal(0, 1, size=2), -3, 3) * sigma * np.array([w, h])
    box = [x0 - m * w + dx, y0 - m * h + dy, x1 + m * w + dx, y1 + m * h + dy]
    return clamp_box(box, width, height), src


def epoch_stream(samples, clip_samples, share, rng):
    """The epoch's sample stream [("still", i) | ("clip", j)]: the still samples once in a random order,
    and (when clip_samples is given) round(N * share / (1 - share)) clip samples at random positions."""
    order = rng.permutation(len(samples))
    stream = [("still", int(i)) for i in order]
    if clip_samples is None:
        return stream
    assert 0 <= share < 1, "--temporal-share must be in [0, 1)"
    n = int(round(len(samples) * share / (1 - share)))
    picks = []
    while len(picks) < n:
        picks += [int(j) for j in rng.permutation(len(clip_samples))]
    picks = iter(picks[:n])
    still = iter(stream)
    is_clip = rng.permutation(len(samples) + n) < n
    return [("clip", next(picks)) if c else next(still) for c in is_clip]


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


def iou_calibration(low, iou_pred, target):
    """MSE between the decoder's predicted IoU and the IoU its mask really has (low-res, logits > 0),
    as SAM's own training scores its IoU head. The head is frozen; the plugin changes the IoU token
    it reads, and the tracker ranks and accepts answers by that score."""
    pred = (low > 0).flatten(1).float()
    t = target.flatten(1)
    inter, union = (pred * t).sum(1), ((pred + t) > 0).float().sum(1)
    actual = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
    return F.mse_loss(iou_pred.flatten(), actual.detach())


def train(sam, data, out, base_model, seed=0, batch_size=4, lr=1e-3, options=None, log=None, max_steps=None,
          clips=None, temporal_share=TEMPORAL_SHARE, temporal_loose=0.0, iou_weight=0.0):
    """Trains a plugin for `sam` (frozen) over one epoch of `data` (and, with `clips`, temporal prompts
    on clip samples at `temporal_share`; see the module doc); writes it to `out`. Returns (plugin, log
    records)."""
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
    clip_samples, clip_table = list_clip_samples(clips) if clips is not None else (None, None)
    stream = epoch_stream(samples, clip_samples, temporal_share, rng)
    steps = (len(stream) + batch_size - 1) // batch_size
    if max_steps is not None:
        steps = min(steps, max_steps)
    records, log_file = [], open(log, "w") if log else None
    for step in range(steps):
        batch = stream[step * batch_size:(step + 1) * batch_size]
        losses, routes, kinds, cache = [], [], [], {}   # cache: image path -> (image, embedding), this step only
        for source, i in batch:
            if source == "still":
                image_path, mask_path, value = samples[i]
            else:
                seq, t, value = clip_samples[i]
                image_path, mask_path = clip_table[seq]["frames"][t]
            if image_path not in cache:
                image = np.asarray(Image.open(image_path).convert("RGB"))
                with torch.no_grad():
                    x = torch.as_tensor(transform.apply_image(image)).permute(2, 0, 1)[None]
                    cache[image_path] = image, sam.image_encoder(sam.preprocess(x.float()))
            image, embedding = cache[image_path]
            obj = np.asarray(Image.open(mask_path)) == value
            if source == "still":
                kind, box, points = draw_prompt(obj, rng)
            else:
                box, _ = temporal_prompt(clip_table[seq]["boxes"][value], t, rng, obj.shape[1], obj.shape[0],
                                         loose=temporal_loose)
                kind, points = "temporal", None
            with torch.no_grad():
                boxes = torch.as_tensor(transform.apply_boxes(box[None], image.shape[:2])) if box is not None else None
                pts = None
                if points is not None:
                    coords = torch.as_tensor(transform.apply_coords(points, image.shape[:2]))[None]
                    pts = (coords, torch.ones(coords.shape[:2], dtype=torch.int))
                sparse, dense = sam.prompt_encoder(points=pts, boxes=boxes, masks=None)
            low, iou_pred = sam.mask_decoder(image_embeddings=embedding, image_pe=image_pe, sparse_prompt_embeddings=sparse,
                                             dense_prompt_embeddings=dense, multimask_output=False)
            target = low_res_target(obj, transform, img_size, low_size)
            total, bce, dice = bce_dice(low, target)
            if iou_weight > 0:   # only when asked: without it the loss (and the plugin bytes) are as before
                total = total + iou_weight * iou_calibration(low, iou_pred, target)
            losses.append((total, bce, dice))
            routes.append(plugin.last["route"].detach()[0])
            kinds.append(kind)
        loss = torch.stack([l[0] for l in losses]).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        a = torch.stack(routes).mean(0)
        record = dict(step=step + 1, steps=steps, loss=loss.item(), bce=torch.stack([l[1] for l in losses]).mean().item(),
                      dice=torch.stack([l[2] for l in losses]).mean().item(), a1=a[0].item(), a2=a[1].item(),
                      prompts=kinds, images=len(cache))
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
    if iou_weight > 0:
        provenance["iou_calibration_weight"] = iou_weight
    if clips is not None:   # absent without clips, so those files stay byte-identical to before
        provenance["temporal"] = dict(
            clips=str(Path(clips).name), clip_count=len(clip_table), clip_samples=len(clip_samples),
            share=temporal_share, clip_samples_per_epoch=sum(1 for src, _ in stream if src == "clip"),
            offsets=list(TEMPORAL_OFFSETS), margin=list(TEMPORAL_MARGIN), shift_sigma=list(TEMPORAL_SHIFT),
            shift_cut_sigmas=3, cut_prob=TEMPORAL_CUT_PROB, cut_max=TEMPORAL_CUT_MAX)
        if temporal_loose > 0:
            provenance["temporal"].update(loose=temporal_loose, loose_margin=list(TEMPORAL_LOOSE_MARGIN))
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
    parser.add_argument("--clips", help="DAVIS-layout clip folder (Scripts/scenes/make_clips.py) for temporal prompts")
    parser.add_argument("--temporal-share", type=float, default=TEMPORAL_SHARE,
                        help="share of the epoch's samples that are clip samples with temporal prompts (with --clips)")
    parser.add_argument("--temporal-loose", type=float, default=0.0,
                        help="share of temporal prompts padded by U(0.3, 0.8) of the side instead (grown boxes)")
    parser.add_argument("--iou-weight", type=float, default=0.0,
                        help="weight of an MSE term between the predicted IoU and the answer's real IoU (0: off)")
    parser.add_argument("--offset-scale", type=float, default=Options.offset_scale)
    parser.add_argument("--route-token", default=Options.route_token, choices=["mask0", "iou"])
    parser.add_argument("--key-pe", default=Options.key_pe, choices=["grid", "deformed"])
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    sam = load_base(args.checkpoint, args.model_type)
    options = Options(offset_scale=args.offset_scale, route_token=args.route_token, key_pe=args.key_pe)
    train(sam, args.data, args.out, base_model=Path(args.checkpoint).name, seed=args.seed, batch_size=args.batch_size,
          lr=args.lr, options=options, log=args.log, max_steps=args.max_steps, clips=args.clips,
          temporal_share=args.temporal_share, temporal_loose=args.temporal_loose, iou_weight=args.iou_weight)
    print(f"wrote {args.out} ({json.dumps(asdict(options))})")


if __name__ == "__main__":
    sys.exit(main())
