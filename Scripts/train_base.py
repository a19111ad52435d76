#!/usr/bin/env python3
"""Trains StableSAM's embedded default: a small SAM (official `segment_anything.modeling` modules)
from scratch on generated scenes, on CPU, and exports it as a SAM state dict in safetensors.

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
    nice -n 10 python Scripts/train_base.py --run /work/train-run

Re-running the same command resumes from the newest checkpoint in --run (model, optimiser, step,
RNG states): training is a pure function of (--seed, step), so a resumed run continues exactly as an
uninterrupted one would. Steps (all inside --run unless given):
  1. data: generates --train-count training images (seed --data-seed, training photo pool) and
     --eval-count held-out images (held-out photos, other seed) with Scripts/scenes/make_images.py,
     unless they exist already.
  2. training: AdamW, warm-up + cosine; each image contributes up to --max-objects masks; prompts
     follow SAM's recipe: a box (exact or noisy) or one positive point (multimask output, loss on the
     best of 3, as SAM does), then --iters-1 corrective rounds, each adding one point sampled from the
     error region of the previous prediction (positive on misses, negative on false alarms) and feeding
     the previous low-res logits as mask_input. Loss: 20 x focal + dice on masks upsampled to the
     input size, + MSE between the IoU head and the real IoU.
  3. export: <run>/sam_stablesam_base.safetensors with keys exactly as official checkpoints
     (image_encoder.*, prompt_encoder.*, mask_decoder.*) and metadata (config, decoder_num_heads,
     provenance); final held-out mIoU with ground-truth boxes in <run>/eval.json.
Log: <run>/train.log (human) and <run>/log.jsonl (one JSON per report).
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from functools import partial

import numpy as np

# Idle OpenMP threads sleep instead of spinning: on a machine shared with other work, spinning
# threads burn their time slices waiting on each other (measured here: ~20x more CPU per step).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F
from PIL import Image

from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = "stablesam-train-base/1"

# The architecture (see Scripts/README.md "Training the embedded default" for why).
CONFIG = dict(
    img_size=320, patch_size=16, encoder_embed_dim=160, encoder_depth=6, encoder_num_heads=5,
    encoder_window_size=10, encoder_global_attn_indexes=[2, 5], mlp_ratio=4.0,
    prompt_embed_dim=128, mask_in_chans=16, decoder_depth=2, decoder_mlp_dim=1024, decoder_num_heads=8,
    iou_head_depth=3, iou_head_hidden_dim=128,
)


def build_sam(c: dict) -> Sam:
    g = c["img_size"] // c["patch_size"]
    enc = ImageEncoderViT(
        img_size=c["img_size"], patch_size=c["patch_size"], embed_dim=c["encoder_embed_dim"],
        depth=c["encoder_depth"], num_heads=c["encoder_num_heads"], mlp_ratio=c["mlp_ratio"],
        out_chans=c["prompt_embed_dim"], qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        use_abs_pos=True, use_rel_pos=True, rel_pos_zero_init=True,
        window_size=c["encoder_window_size"], global_attn_indexes=tuple(c["encoder_global_attn_indexes"]))
    pe = PromptEncoder(embed_dim=c["prompt_embed_dim"], image_embedding_size=(g, g),
                       input_image_size=(c["img_size"], c["img_size"]), mask_in_chans=c["mask_in_chans"])
    md = MaskDecoder(num_multimask_outputs=3,
                     transformer=TwoWayTransformer(depth=c["decoder_depth"], embedding_dim=c["prompt_embed_dim"],
                                                   mlp_dim=c["decoder_mlp_dim"], num_heads=c["decoder_num_heads"]),
                     transformer_dim=c["prompt_embed_dim"], iou_head_depth=c["iou_head_depth"],
                     iou_head_hidden_dim=c["iou_head_hidden_dim"])
    return Sam(image_encoder=enc, prompt_encoder=pe, mask_decoder=md)


# ---------------------------------------------------------------------------- data

class Scenes:
    """A still-image set written by Scripts/scenes/make_images.py."""

    def __init__(self, root: str):
        self.root = root
        with open(os.path.join(root, "index.json")) as f:
            self.index = json.load(f)
        self.items = [e for e in self.index["images"] if e["objects"]]

    def __len__(self) -> int:
        return len(self.items)

    def load(self, i: int):
        e = self.items[i]
        img = np.asarray(Image.open(f"{self.root}/images/{e['stem']}.jpg").convert("RGB"))
        lab = np.asarray(Image.open(f"{self.root}/masks/{e['stem']}.png"))
        return img, lab, e["objects"]


def resize_longest(img: np.ndarray, lab: np.ndarray, size: int):
    """SAM's ResizeLongestSide for the image (bilinear, antialiased) and nearest for labels."""
    h, w = lab.shape
    s = size / max(h, w)
    nh, nw = int(h * s + 0.5), int(w * s + 0.5)
    im = np.asarray(Image.fromarray(img).resize((nw, nh), Image.Resampling.BILINEAR))
    lb = np.asarray(Image.fromarray(lab).resize((nw, nh), Image.Resampling.NEAREST))
    return im, lb


def to_input(sam: Sam, im: np.ndarray, size: int) -> torch.Tensor:
    """uint8 HxWx3 (already resized) -> normalised, padded [3, size, size]."""
    x = torch.from_numpy(np.array(im, dtype=np.float32)).permute(2, 0, 1)
    x = (x - sam.pixel_mean[:, 0, 0, None, None]) / sam.pixel_std[:, 0, 0, None, None]
    return F.pad(x, (0, size - x.shape[2], 0, size - x.shape[1]))


def box_of(m: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def noisy_box(rng: np.random.Generator, b: np.ndarray, w: int, h: int) -> np.ndarray:
    """SAM's box noise: each coordinate shifted by N(0, (0.1 * side)^2), capped at 0.2 * side."""
    bw, bh = b[2] - b[0], b[3] - b[1]
    sd = np.array([bw, bh, bw, bh]) * 0.1
    n = np.clip(rng.normal(0, 1, 4) * sd, -2 * sd, 2 * sd)
    out = b + n
    out[[0, 2]] = np.clip(out[[0, 2]], 0, w)
    out[[1, 3]] = np.clip(out[[1, 3]], 0, h)
    if out[2] - out[0] < 2 or out[3] - out[1] < 2:
        return b
    return out.astype(np.float32)


def sample_point(rng: np.random.Generator, m: np.ndarray):
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        return None
    k = int(rng.integers(len(xs)))
    return np.array([xs[k] + 0.5, ys[k] + 0.5], np.float32)


# ---------------------------------------------------------------------------- losses

def focal_loss(logits, target, alpha: float = 0.25, gamma: float = 2.0):
    """Per-mask mean sigmoid focal loss (detectron2 / SAM). logits, target [P, K, H, W] -> [P, K]."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    pt = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - pt) ** gamma
    loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return loss.flatten(2).mean(-1)


def dice_loss(logits, target):
    p = torch.sigmoid(logits).flatten(2)
    t = target.flatten(2)
    return 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)


def mask_iou(logits, target):
    pr = (logits > 0).flatten(2).float()
    t = target.flatten(2)
    inter = (pr * t).sum(-1)
    union = pr.sum(-1) + t.sum(-1) - inter
    return inter / union.clamp(min=1)


# ---------------------------------------------------------------------------- one step

def train_step(sam: Sam, batch, rng: np.random.Generator, a):
    """One batch through SAM's prompt loop. Losses are on the decoder's low-resolution logits
    (4x the embedding grid) against the area-downsampled ground truth (soft targets), as HQ-SAM and
    our RTS do: upsampling to the input size first costs most of a CPU step for little gain."""
    x = torch.stack([b["x"] for b in batch])
    emb = sam.image_encoder(x)
    dense_pe = sam.prompt_encoder.get_dense_pe()
    total = 0.0
    stats = {"focal": 0.0, "dice": 0.0, "iou_mse": 0.0, "miou0": 0.0, "miou_last": 0.0}
    n_terms = 0
    for bi, b in enumerate(batch):
        gt = b["masks_lr"]            # [P, 1, hl, wl] soft, valid region of the low-res grid
        gtn = b["masks"]              # [P, h, w] bool at input scale, for prompts
        P, h, w = gtn.shape
        hl, wl = gt.shape[-2:]
        gt_bin = gt[:, 0].numpy() > 0.5
        use_box = rng.random() < 0.5
        boxes = None
        pts = np.zeros((P, 0, 2), np.float32)
        lbl = np.zeros((P, 0), np.float32)
        if use_box:
            bx = np.stack([box_of(gtn[p]) if rng.random() < 0.5 else noisy_box(rng, box_of(gtn[p]), w, h)
                           for p in range(P)])
            boxes = torch.from_numpy(bx)
        else:
            pts = np.stack([sample_point(rng, gtn[p]) for p in range(P)])[:, None]
            lbl = np.ones((P, 1), np.float32)
        mask_in = None
        ar = torch.arange(P)
        for it in range(a.iters):
            points = (torch.from_numpy(pts), torch.from_numpy(lbl)) if pts.shape[1] else None
            sp, de = sam.prompt_encoder(points=points, boxes=boxes, masks=mask_in)
            multi = (not use_box) and pts.shape[1] == 1 and mask_in is None
            low, iou_pred = sam.mask_decoder(image_embeddings=emb[bi:bi + 1], image_pe=dense_pe,
                                             sparse_prompt_embeddings=sp, dense_prompt_embeddings=de,
                                             multimask_output=multi)
            lv = low[..., :hl, :wl]
            tgt = gt.expand_as(lv)
            fl, dl = focal_loss(lv, tgt), dice_loss(lv, tgt)
            with torch.no_grad():
                real_iou = mask_iou(lv, (tgt > 0.5).float())
            ml = a.focal_weight * fl + dl
            best = ml.argmin(1) if multi else torch.zeros(P, dtype=torch.long)
            iou_l = F.mse_loss(iou_pred, real_iou, reduction="none").mean(1)
            total = total + (ml[ar, best] + iou_l).mean()
            n_terms += 1
            stats["focal"] += float(fl[ar, best].mean().detach())
            stats["dice"] += float(dl[ar, best].mean().detach())
            stats["iou_mse"] += float(iou_l.mean().detach())
            if it == 0:
                stats["miou0"] += float(real_iou[ar, best].mean())
            if it == a.iters - 1:
                stats["miou_last"] += float(real_iou[ar, best].mean())
                break
            # next round: previous logits as mask input (+ one point from the error region)
            mask_in = low[ar, best][:, None].detach()
            if it > 0 and rng.random() < a.mask_only_prob:
                continue  # SAM also has rounds with the mask input alone
            pred = (lv[ar, best] > 0).numpy()
            new_p, new_l = [], []
            for p in range(P):
                fn = gt_bin[p] & ~pred[p]
                fp = pred[p] & ~gt_bin[p]
                nf, np_ = int(fn.sum()), int(fp.sum())
                if nf + np_ == 0:
                    q, l_ = sample_point(rng, gtn[p]), 1.0
                else:
                    pos = rng.random() < nf / (nf + np_)
                    c = sample_point(rng, fn if pos else fp)  # a low-res cell; a point inside it
                    q = np.clip((c - 0.5 + rng.random(2)) * a.lr_stride, 0, [w - 0.5, h - 0.5]).astype(np.float32)
                    l_ = 1.0 if pos else 0.0
                new_p.append(q)
                new_l.append(l_)
            pts = np.concatenate([pts, np.stack(new_p)[:, None]], 1)
            lbl = np.concatenate([lbl, np.array(new_l, np.float32)[:, None]], 1)
    loss = total / n_terms
    for k in ("focal", "dice", "iou_mse"):
        stats[k] /= n_terms
    stats["miou0"] /= len(batch)
    stats["miou_last"] /= len(batch)
    return loss, stats


def make_batch(sam: Sam, data: Scenes, ids, rng: np.random.Generator, a) -> list[dict]:
    size = CONFIG["img_size"]
    st = a.lr_stride
    out = []
    for i in ids:
        img, lab, objs = data.load(int(i))
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
        im, lb = resize_longest(img, np.ascontiguousarray(lab), size)
        present = [o["id"] for o in objs if (lb == o["id"]).sum() >= 16]
        if not present:
            continue
        rng.shuffle(present)
        present = present[:a.max_objects]
        masks = np.stack([(lb == k) for k in present])
        h, w = lb.shape
        pad = torch.zeros(len(present), 1, size, size)
        pad[:, 0, :h, :w] = torch.from_numpy(masks.astype(np.float32))
        lr = F.avg_pool2d(pad, st)[..., :math.ceil(h / st), :math.ceil(w / st)]
        out.append({"x": to_input(sam, im, size), "masks": masks, "masks_lr": lr})
    return out


# ---------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(sam: Sam, data: Scenes, limit: int | None = None) -> dict:
    """mIoU with ground-truth boxes, single-mask output, masks at the original image size."""
    sam.eval()
    size = CONFIG["img_size"]
    ious = []
    n = len(data) if limit is None else min(limit, len(data))
    for i in range(n):
        img, lab, objs = data.load(i)
        H, W = lab.shape
        im, _ = resize_longest(img, np.ascontiguousarray(lab), size)
        s = size / max(H, W)
        emb = sam.image_encoder(to_input(sam, im, size)[None])
        boxes = torch.tensor([o["box"] for o in objs], dtype=torch.float32) * s
        sp, de = sam.prompt_encoder(points=None, boxes=boxes, masks=None)
        low, _ = sam.mask_decoder(emb, sam.prompt_encoder.get_dense_pe(), sp, de, multimask_output=False)
        masks = sam.postprocess_masks(low, im.shape[:2], (H, W))[:, 0] > 0
        for k, o in enumerate(objs):
            g = torch.from_numpy(lab == o["id"])
            inter = (masks[k] & g).sum().item()
            union = (masks[k] | g).sum().item()
            ious.append(inter / max(union, 1))
    sam.train()
    return {"miou_gt_box": float(np.mean(ious)), "objects": len(ious), "images": n}


# ---------------------------------------------------------------------------- checkpoints

def latest_checkpoint(run: str) -> str | None:
    c = sorted(glob.glob(f"{run}/checkpoints/step_*.pt"))
    return c[-1] if c else None


def save_checkpoint(run: str, sam, opt, step: int, train_s: float, history: list, keep: int = 2):
    os.makedirs(f"{run}/checkpoints", exist_ok=True)
    path = f"{run}/checkpoints/step_{step:07d}.pt"
    tmp = path + ".tmp"
    torch.save({"recipe": RECIPE, "config": CONFIG, "model": sam.state_dict(), "optimizer": opt.state_dict(),
                "step": step, "train_seconds": train_s, "history": history,
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                        "python": random.getstate()}}, tmp)
    os.replace(tmp, path)
    for old in sorted(glob.glob(f"{run}/checkpoints/step_*.pt"))[:-keep]:
        os.remove(old)
    return path


def lr_factor(step: int, train_s: float, a) -> float:
    """Linear warm-up over a.warmup steps, then cosine to 5 %. The cosine runs over steps, or, with
    --minutes, over training time: on a machine shared with others the step rate is unknowable in
    advance, and the recipe must finish within its time budget."""
    if step < a.warmup:
        return (step + 1) / a.warmup
    p = train_s / (a.minutes * 60) if a.minutes else (step - a.warmup) / max(1, a.steps - a.warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def ensure_data(a) -> None:
    gen = os.path.join(HERE, "scenes", "make_images.py")
    for out, count, seed, split in ((a.train_dir, a.train_count, a.data_seed, "train"),
                                    (a.eval_dir, a.eval_count, a.data_seed + 1000, "heldout")):
        idx = os.path.join(out, "index.json")
        if os.path.exists(idx):
            with open(idx) as f:
                meta = json.load(f)
            if meta["seed"] == seed and len(meta["images"]) == count:
                continue
        log(a, f"generating {count} {split} images (seed {seed}) into {out}")
        t = time.time()
        subprocess.run([sys.executable, gen, "--out", out, "--count", str(count), "--seed", str(seed),
                        "--split", split, "--workers", str(a.threads)], check=True)
        log(a, f"generated {split} set in {time.time() - t:.0f}s")


def log(a, msg: str) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(os.path.join(a.run, "train.log"), "a") as f:
        f.write(line + "\n")


def export(a, sam, step: int, train_s: float, history: list, final_eval: dict | None) -> str:
    from safetensors.torch import save_file
    import segment_anything
    import safetensors
    sd = {k: v.detach().contiguous().clone() for k, v in sam.state_dict().items()}
    assert all(k.split(".")[0] in ("image_encoder", "prompt_encoder", "mask_decoder") for k in sd), sd.keys()
    last = history[-1] if history else {}
    prov = {
        "recipe": RECIPE, "script": "Scripts/train_base.py", "seed": a.seed, "data_seed": a.data_seed,
        "train_images": a.train_count, "eval_images": a.eval_count, "steps": step, "batch": a.batch,
        "images_seen": step * a.batch, "train_wall_seconds": round(train_s, 1), "minutes_budget": a.minutes,
        "final_losses": {k: last.get(k) for k in ("loss", "focal", "dice", "iou_mse")},
        "heldout_eval": final_eval, "lr": a.lr, "prompts": "box (exact/noisy) or 1 point, then "
        f"{a.iters - 1} corrective points from the error region with mask_input",
        "versions": {"torch": torch.__version__, "segment_anything": getattr(segment_anything, "__version__", "1.0"),
                     "safetensors": safetensors.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "data": "Scripts/scenes/make_images.py (see Scripts/scenes/SOURCES.md)",
    }
    meta = {"format": "pt", "config": json.dumps(CONFIG), "decoder_num_heads": str(CONFIG["decoder_num_heads"]),
            "provenance": json.dumps(prov), "name": "stablesam-base"}
    path = a.export or os.path.join(a.run, "sam_stablesam_base.safetensors")
    tmp = path + ".tmp"
    save_file(sd, tmp, metadata=meta)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="folder for data, checkpoints, logs and the export")
    ap.add_argument("--steps", type=int, default=3000, help="training length in steps (ignored with --minutes)")
    ap.add_argument("--minutes", type=float, default=80.0,
                    help="training length in minutes of training time (0: use --steps); see lr_factor")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--iters", type=int, default=2, help="decoder rounds per mask (1 + corrective points)")
    ap.add_argument("--mask-only-prob", type=float, default=0.2)
    ap.add_argument("--max-objects", type=int, default=3)
    ap.add_argument("--focal-weight", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=1)
    ap.add_argument("--train-count", type=int, default=5000)
    ap.add_argument("--eval-count", type=int, default=200)
    ap.add_argument("--train-dir", default=None)
    ap.add_argument("--eval-dir", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-limit", type=int, default=48)
    ap.add_argument("--export", default=None, help="safetensors path (default <run>/sam_stablesam_base.safetensors)")
    ap.add_argument("--bench", type=int, default=0, help="time N steps on the data, report images/s, exit")
    ap.add_argument("--config", default=None, help="JSON object overriding entries of CONFIG")
    a = ap.parse_args()
    if a.config:
        CONFIG.update(json.loads(a.config))
    a.lr_stride = CONFIG["patch_size"] // 4  # low-res logits are 4x the embedding grid
    os.makedirs(a.run, exist_ok=True)
    a.train_dir = a.train_dir or os.path.join(a.run, "data", "train")
    a.eval_dir = a.eval_dir or os.path.join(a.run, "data", "heldout")
    torch.set_num_threads(a.threads)
    t_start = time.time()
    ensure_data(a)
    train, held = Scenes(a.train_dir), Scenes(a.eval_dir)

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    random.seed(a.seed)
    sam = build_sam(CONFIG)
    sam.train()
    decay = [p for n, p in sam.named_parameters() if p.ndim >= 2 and "pos" not in n and "embed" not in n]
    no_decay = [p for n, p in sam.named_parameters() if not (p.ndim >= 2 and "pos" not in n and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.999))
    step, train_s, history = 0, 0.0, []
    ck = latest_checkpoint(a.run)
    if ck and not a.bench:
        st = torch.load(ck, map_location="cpu", weights_only=False)
        sam.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        step, train_s, history = st["step"], st["train_seconds"], st["history"]
        torch.set_rng_state(st["rng"]["torch"])
        np.random.set_state(st["rng"]["numpy"])
        random.setstate(st["rng"]["python"])
        log(a, f"resumed from {ck} at step {step} ({train_s / 60:.1f} min trained)")
    else:
        n_par = sum(p.numel() for p in sam.parameters())
        log(a, f"new run: {n_par / 1e6:.2f} M parameters, config {json.dumps(CONFIG)}, "
               f"{f'{a.minutes:g} min of training' if a.minutes else f'{a.steps} steps'}, iters {a.iters}, "
               f"batch {a.batch}, {len(train)} training images, {len(held)} held-out images")

    N = len(train)
    perm_cache: dict[int, np.ndarray] = {}

    def ids_for(s: int) -> list[int]:
        out = []
        for j in range(s * a.batch, (s + 1) * a.batch):
            e = j // N
            if e not in perm_cache:
                perm_cache.clear()
                perm_cache[e] = np.random.default_rng([a.data_seed, a.seed, e]).permutation(N)
            out.append(int(perm_cache[e][j % N]))
        return out

    last_ck = time.time()
    agg, agg_n, t_rep = {}, 0, time.time()
    end = step + a.bench if a.bench else a.steps

    def done() -> bool:
        if a.bench:
            return step >= end
        return train_s >= a.minutes * 60 if a.minutes else step >= a.steps
    t_bench = None
    while not done():
        t0 = time.time()
        lr_now = a.lr * lr_factor(step, train_s, a)
        for g in opt.param_groups:
            g["lr"] = lr_now
        rng = np.random.default_rng([a.seed, step, 7])
        batch = make_batch(sam, train, ids_for(step), rng, a)
        loss, stats = train_step(sam, batch, rng, a)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(sam.parameters(), 1.0)
        opt.step()
        step += 1
        train_s += time.time() - t0
        if a.bench and step == end - a.bench + 2:
            t_bench, c_bench = time.time(), time.process_time()
        stats["loss"] = float(loss.detach())
        stats["grad_norm"] = float(gn)
        for k, v in stats.items():
            agg[k] = agg.get(k, 0.0) + v
        agg_n += 1
        if step % a.log_every == 0 or done():
            dt = time.time() - t_rep
            rec = {k: round(v / agg_n, 5) for k, v in agg.items() if k != "n"}
            rec.update(step=step, lr=lr_now, images_per_s=round(agg_n * a.batch / dt, 2),
                       train_min=round(train_s / 60, 2))
            eta = (a.minutes - train_s / 60) if a.minutes else (a.steps - step) / max(1e-9, agg_n / dt) / 60
            log(a, f"step {step} loss {rec['loss']:.4f} (focal {rec['focal']:.4f} dice {rec['dice']:.4f} "
                   f"iou {rec['iou_mse']:.4f}) train mIoU first {rec['miou0']:.3f} last {rec['miou_last']:.3f} "
                   f"| {rec['images_per_s']:.2f} img/s, lr {rec['lr']:.2e}, eta {eta:.0f} min")
            if step % a.eval_every == 0 and not a.bench:
                ev = evaluate(sam, held, a.eval_limit)
                rec["heldout"] = ev
                log(a, f"step {step} held-out mIoU (GT box, {ev['objects']} objects) {ev['miou_gt_box']:.4f}")
            history.append(rec)
            with open(os.path.join(a.run, "log.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
            agg, agg_n, t_rep = {}, 0, time.time()
        if not a.bench and (time.time() - last_ck > a.ckpt_minutes * 60 or done()):
            p = save_checkpoint(a.run, sam, opt, step, train_s, history)
            log(a, f"checkpoint {p}")
            last_ck = time.time()
    if a.bench:
        n = a.bench - 2
        cpu = time.process_time() - c_bench
        log(a, f"bench: {n * a.batch / (time.time() - t_bench):.2f} images/s wall over {n} steps of batch {a.batch}; "
               f"{cpu / n:.2f} CPU-s per step (~{2 * n * a.batch / cpu:.2f} images/s with 2 free cores); "
               f"config {json.dumps(CONFIG)} iters {a.iters}")
        return
    t = time.time()
    ev = evaluate(sam, held)
    log(a, f"final held-out mIoU with GT boxes: {ev['miou_gt_box']:.4f} over {ev['objects']} objects "
           f"({ev['images']} images, {time.time() - t:.0f}s)")
    with open(os.path.join(a.run, "eval.json"), "w") as f:
        json.dump(dict(ev, step=step), f, indent=1)
    path = export(a, sam, step, train_s, history, ev)
    log(a, f"exported {path} ({os.path.getsize(path) / 1e6:.1f} MB); this invocation took "
           f"{(time.time() - t_start) / 60:.1f} min, training total {train_s / 60:.1f} min")


if __name__ == "__main__":
    main()
