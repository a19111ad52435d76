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
import copy
import glob
import json
import math
import os
import platform
import random
import signal
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

# The architecture (see Scripts/README.md "Training the embedded default" for why). Version 2 is a
# TinyViT (MobileSAM's encoder: convolutional stem and MBConv stage, then windowed attention with
# depthwise local convolutions) with two stages, so the embedding grid is 1/8 of the input instead
# of SAM's 1/16: the bundled clips' 60-150 px objects are 5-12 tokens across at 320 px, not 2-5.
CONFIG = dict(
    encoder="tinyvit", img_size=320, tinyvit_embed_dims=[32, 128], tinyvit_depths=[2, 4],
    tinyvit_num_heads=[1, 4], tinyvit_window_sizes=[8, 8], tinyvit_mlp_ratio=4.0, tinyvit_mbconv_expand_ratio=4.0,
    patch_size=8,  # the encoder's total stride (TinyViT: 4 in the stem, 2 per PatchMerging)
    # SAM's ViT (version 1 of this recipe), used when encoder == "vit"
    encoder_embed_dim=160, encoder_depth=6, encoder_num_heads=5,
    encoder_window_size=10, encoder_global_attn_indexes=[2, 5], mlp_ratio=4.0,
    prompt_embed_dim=128, mask_in_chans=16, decoder_depth=2, decoder_mlp_dim=1024, decoder_num_heads=8,
    iou_head_depth=3, iou_head_hidden_dim=128,
)
VIT_V1 = dict(encoder="vit", img_size=320, patch_size=16)


def tinyvit_forward_features(self, x):
    """TinyViT.forward_features with the token grid read off the tokens (the reference's literal
    64x64 holds only for its 1024 px, stride-16 models)."""
    x = self.patch_embed(x)
    for layer in self.layers:
        x = layer(x)
    g = math.isqrt(x.shape[1])
    return self.neck(x.view(x.shape[0], g, g, -1).permute(0, 3, 1, 2))


def build_encoder(c: dict) -> torch.nn.Module:
    if c["encoder"] == "vit":
        return ImageEncoderViT(
            img_size=c["img_size"], patch_size=c["patch_size"], embed_dim=c["encoder_embed_dim"],
            depth=c["encoder_depth"], num_heads=c["encoder_num_heads"], mlp_ratio=c["mlp_ratio"],
            out_chans=c["prompt_embed_dim"], qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_abs_pos=True, use_rel_pos=True, rel_pos_zero_init=True,
            window_size=c["encoder_window_size"], global_attn_indexes=tuple(c["encoder_global_attn_indexes"]))
    import types
    from mobile_sam.modeling import TinyViT
    from mobile_sam.modeling.tiny_vit_sam import LayerNorm2d
    enc = TinyViT(img_size=c["img_size"], in_chans=3, num_classes=0, embed_dims=c["tinyvit_embed_dims"],
                  depths=c["tinyvit_depths"], num_heads=c["tinyvit_num_heads"], window_sizes=c["tinyvit_window_sizes"],
                  mlp_ratio=c["tinyvit_mlp_ratio"], drop_rate=0.0, drop_path_rate=0.0,
                  mbconv_expand_ratio=c["tinyvit_mbconv_expand_ratio"], local_conv_size=3)
    out = c["prompt_embed_dim"]   # the reference hard-codes 256; the neck's layers are the same
    enc.neck = torch.nn.Sequential(torch.nn.Conv2d(c["tinyvit_embed_dims"][-1], out, 1, bias=False), LayerNorm2d(out),
                                   torch.nn.Conv2d(out, out, 3, padding=1, bias=False), LayerNorm2d(out))
    enc.forward_features = types.MethodType(tinyvit_forward_features, enc)
    return enc


def build_sam(c: dict) -> Sam:
    g = c["img_size"] // c["patch_size"]
    enc = build_encoder(c)
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
    mean, std = sam.pixel_mean.cpu(), sam.pixel_std.cpu()
    x = (x - mean[:, 0, 0, None, None]) / std[:, 0, 0, None, None]
    return F.pad(x, (0, size - x.shape[2], 0, size - x.shape[1]))


def box_of(m: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def inside(out: np.ndarray, b: np.ndarray, w: int, h: int) -> np.ndarray:
    """A perturbed box clamped to the image; the original box if too little of it is left."""
    out[[0, 2]] = np.clip(out[[0, 2]], 0, w)
    out[[1, 3]] = np.clip(out[[1, 3]], 0, h)
    if out[2] - out[0] < 2 or out[3] - out[1] < 2:
        return b
    return out.astype(np.float32)


def noisy_box(rng: np.random.Generator, b: np.ndarray, w: int, h: int) -> np.ndarray:
    """SAM's box noise: each coordinate shifted by N(0, (0.1 * side)^2), capped at 0.2 * side."""
    bw, bh = b[2] - b[0], b[3] - b[1]
    sd = np.array([bw, bh, bw, bh]) * 0.1
    n = np.clip(rng.normal(0, 1, 4) * sd, -2 * sd, 2 * sd)
    out = b + n
    return inside(out, b, w, h)


def tracker_box(rng: np.random.Generator, b: np.ndarray, w: int, h: int) -> np.ndarray:
    """The box a tracker gives: the object's box padded by a margin (0-35 % of its side on each
    side), shifted by a motion error (N(0, 0.08 side)), and sometimes clipped short on one side
    (the previous mask missed a part). The model must answer with the object, not the box."""
    bw, bh = b[2] - b[0], b[3] - b[1]
    side = np.array([bw, bh, bw, bh])
    out = b + np.array([-1, -1, 1, 1]) * rng.uniform(0, 0.35, 4) * side
    out = out + np.tile(rng.normal(0, 0.08, 2), 2) * side
    if rng.random() < 0.25:
        k = int(rng.integers(4))
        out[k] += (1 if k < 2 else -1) * rng.uniform(0, 0.25) * side[k]
    return inside(out, b, w, h)


def prompt_box(rng: np.random.Generator, b: np.ndarray, w: int, h: int) -> np.ndarray:
    r = rng.random()
    if r < 0.3:
        return b
    return noisy_box(rng, b, w, h) if r < 0.6 else tracker_box(rng, b, w, h)


def sample_point(rng: np.random.Generator, m: np.ndarray):
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        return None
    k = int(rng.integers(len(xs)))
    return np.array([xs[k] + 0.5, ys[k] + 0.5], np.float32)


# ---------------------------------------------------------------------------- losses

def autocast(a):
    """bf16 autocast for the forward pass when --bf16 (AVX512_BF16 CPUs, CUDA); losses stay fp32."""
    return torch.autocast(a.device.type, dtype=torch.bfloat16, enabled=a.bf16)


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
    dev = a.device
    x = torch.stack([b["x"] for b in batch]).to(dev)
    with autocast(a):
        emb = a.encode(x)
        dense_pe = sam.prompt_encoder.get_dense_pe()
    total = 0.0
    stats = {"focal": 0.0, "dice": 0.0, "iou_mse": 0.0, "miou0": 0.0, "miou_last": 0.0}
    n_terms = 0
    for bi, b in enumerate(batch):
        gt = b["masks_lr"].to(dev)    # [P, 1, hl, wl] soft, valid region of the low-res grid
        gtn = b["masks"]              # [P, h, w] bool at input scale, for prompts
        P, h, w = gtn.shape
        hl, wl = gt.shape[-2:]
        gt_bin = b["masks_lr"][:, 0].numpy() > 0.5
        use_box = rng.random() < a.box_prob
        boxes = None
        pts = np.zeros((P, 0, 2), np.float32)
        lbl = np.zeros((P, 0), np.float32)
        if use_box:
            bx = np.stack([prompt_box(rng, box_of(gtn[p]), w, h) for p in range(P)])
            boxes = torch.from_numpy(bx).to(dev)
        else:
            pts = np.stack([sample_point(rng, gtn[p]) for p in range(P)])[:, None]
            lbl = np.ones((P, 1), np.float32)
        mask_in = None
        ar = torch.arange(P, device=dev)
        for it in range(a.iters):
            points = (torch.from_numpy(pts).to(dev), torch.from_numpy(lbl).to(dev)) if pts.shape[1] else None
            multi = (not use_box) and pts.shape[1] == 1 and mask_in is None
            with autocast(a):
                sp, de = sam.prompt_encoder(points=points, boxes=boxes, masks=mask_in)
                low, iou_pred = sam.mask_decoder(image_embeddings=emb[bi:bi + 1], image_pe=dense_pe,
                                                 sparse_prompt_embeddings=sp, dense_prompt_embeddings=de,
                                                 multimask_output=multi)
            low, iou_pred = low.float(), iou_pred.float()
            lv = low[..., :hl, :wl]
            tgt = gt.expand_as(lv)
            fl, dl = focal_loss(lv, tgt), dice_loss(lv, tgt)
            with torch.no_grad():
                real_iou = mask_iou(lv, (tgt > 0.5).float())
            ml = a.focal_weight * fl + dl
            best = ml.argmin(1) if multi else torch.zeros(P, dtype=torch.long, device=dev)
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
            pred = (lv[ar, best] > 0).cpu().numpy()
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


def make_batch(sam: Sam, data, ids, rng: np.random.Generator, a) -> list[dict]:
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
def evaluate(sam: Sam, data: Scenes, limit: int | None = None, device=torch.device("cpu")) -> dict:
    """mIoU with ground-truth boxes and with tracker-like loose boxes (seeded, the same for every
    call), single-mask output, masks at the original image size."""
    was_training = sam.training
    sam.eval()
    size = CONFIG["img_size"]
    ious = {"gt_box": [], "tracker_box": []}
    n = len(data) if limit is None else min(limit, len(data))
    for i in range(n):
        img, lab, objs = data.load(i)
        H, W = lab.shape
        im, _ = resize_longest(img, np.ascontiguousarray(lab), size)
        s = size / max(H, W)
        emb = sam.image_encoder(to_input(sam, im, size)[None].to(device))
        gt_boxes = np.array([o["box"] for o in objs], np.float32)
        rng = np.random.default_rng([i, 99])
        loose = np.stack([tracker_box(rng, b, W, H) for b in gt_boxes])
        for kind, bx in (("gt_box", gt_boxes), ("tracker_box", loose)):
            boxes = torch.from_numpy(bx * s).to(device)
            sp, de = sam.prompt_encoder(points=None, boxes=boxes, masks=None)
            low, _ = sam.mask_decoder(emb, sam.prompt_encoder.get_dense_pe(), sp, de, multimask_output=False)
            masks = (sam.postprocess_masks(low, im.shape[:2], (H, W))[:, 0] > 0).cpu()
            for k, o in enumerate(objs):
                g = torch.from_numpy(lab == o["id"])
                inter = (masks[k] & g).sum().item()
                union = (masks[k] | g).sum().item()
                ious[kind].append(inter / max(union, 1))
    sam.train(was_training)
    return {"miou_gt_box": float(np.mean(ious["gt_box"])), "miou_tracker_box": float(np.mean(ious["tracker_box"])),
            "objects": len(ious["gt_box"]), "images": n}


# ---------------------------------------------------------------------------- checkpoints

def latest_checkpoint(run: str) -> str | None:
    c = sorted(glob.glob(f"{run}/checkpoints/step_*.pt"))
    return c[-1] if c else None


def save_checkpoint(path: str, sam, ema, opt, step: int, train_s: float, history: list, pool: int,
                    total_steps: int) -> str:
    """Everything continuing needs: weights, EMA weights, AdamW moments, step, clocks, curves. RNG
    state is not needed: every step draws from generators seeded by (seed, step)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    torch.save({"recipe": RECIPE, "config": CONFIG, "model": sam.state_dict(), "ema": ema.state_dict(),
                "optimizer": opt.state_dict(), "step": step, "train_seconds": train_s, "history": history,
                "total_steps": total_steps,
                "pool_images": pool}, tmp)
    os.replace(tmp, path)
    return path


def lr_factor(step: int, a) -> float:
    """Linear warm-up, then cosine to 5 % over --total-steps: the horizon of the whole run, which
    may span many invocations (each --minutes long) on different machines."""
    if step < a.warmup:
        return (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.total_steps - a.warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def chunk_dirs(a) -> list[str]:
    return [os.path.join(a.run, "data", f"train_{k:03d}") for k in range(math.ceil(a.train_count / a.chunk))]


def chunk_ready(d: str) -> bool:
    return os.path.exists(os.path.join(d, "index.json"))


def generate(a, out: str, count: int, seed: int, split: str, start: int = 0, workers: int = 1, nice: int = 0):
    gen = os.path.join(HERE, "scenes", "make_images.py")
    cmd = [sys.executable, gen, "--out", out, "--count", str(count), "--seed", str(seed), "--split", split,
           "--start", str(start), "--workers", str(workers)]
    return subprocess.Popen((["nice", "-n", str(nice)] if nice else []) + cmd, stdout=subprocess.DEVNULL)


def ensure_data(a):
    """Held-out set and the first training chunk now; the other chunks in a background process at a
    lower priority, picked up by the training loop as they appear (image i of the pool depends only
    on (--data-seed, i), whichever chunk and machine makes it)."""
    if not chunk_ready(a.eval_dir):
        log(a, f"generating {a.eval_count} held-out images (seed {a.data_seed + 1000}) into {a.eval_dir}")
        generate(a, a.eval_dir, a.eval_count, a.data_seed + 1000, "heldout", workers=a.threads).wait()
    chunks = chunk_dirs(a)
    if not chunk_ready(chunks[0]):
        log(a, f"generating training chunk 0 ({a.chunk} images) into {chunks[0]}")
        generate(a, chunks[0], a.chunk, a.data_seed, "train", workers=a.threads).wait()
    rest = [(k, d) for k, d in enumerate(chunks) if not chunk_ready(d)]
    if not rest or a.bench:
        return None
    script = "; ".join(f"{sys.executable} {os.path.join(HERE, 'scenes', 'make_images.py')} --out {d} "
                       f"--count {min(a.chunk, a.train_count - k * a.chunk)} --seed {a.data_seed} --split train "
                       f"--start {k * a.chunk} --workers 1 > /dev/null" for k, d in rest)
    log(a, f"generating {len(rest)} more training chunks in the background (nice {a.gen_nice})")
    return subprocess.Popen(["nice", "-n", str(a.gen_nice), "bash", "-c", script])


class Pool:
    """The training chunks present on disk, re-read as the background generator adds more."""

    def __init__(self, a):
        self.a = a
        self.sets: list[Scenes] = []
        self.refresh()

    def refresh(self) -> None:
        have = len(self.sets)
        for d in chunk_dirs(self.a)[have:]:
            if not chunk_ready(d):
                break
            self.sets.append(Scenes(d))

    def __len__(self) -> int:
        return sum(len(s) for s in self.sets)

    def load(self, i: int):
        for s in self.sets:
            if i < len(s):
                return s.load(i)
            i -= len(s)
        raise IndexError(i)


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
            "img_size": str(CONFIG["img_size"]),
            "provenance": json.dumps(prov), "name": "stablesam-base"}
    path = a.export or os.path.join(a.run, "sam_stablesam_base.safetensors")
    tmp = path + ".tmp"
    save_file(sd, tmp, metadata=meta)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="work folder: data, checkpoints, logs, the export")
    ap.add_argument("--state", default=os.path.join(HERE, "base", "state", "base_state.pt"),
                    help="the committed training state: resumed from when newer than --run's checkpoint, "
                         "written at the end of each invocation (default Scripts/base/state/base_state.pt)")
    ap.add_argument("--minutes", type=float, default=60.0, help="training time of THIS invocation, minutes")
    ap.add_argument("--total-steps", type=int, default=None,
                    help="length of the whole run (the LR schedule); default: the resumed run's (kept in its state), "
                         "120000 for a new run")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--ema", type=float, default=0.999, help="decay of the weight average that is exported")
    ap.add_argument("--iters", type=int, default=2, help="decoder rounds per mask (1 + corrective points)")
    ap.add_argument("--mask-only-prob", type=float, default=0.2)
    ap.add_argument("--box-prob", type=float, default=0.7, help="share of masks prompted by a box (else a point)")
    ap.add_argument("--max-objects", type=int, default=3)
    ap.add_argument("--focal-weight", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=1)
    ap.add_argument("--train-count", type=int, default=16000, help="training pool size")
    ap.add_argument("--chunk", type=int, default=2000, help="pool images per generated folder")
    ap.add_argument("--gen-nice", type=int, default=5, help="niceness of the background pool generator")
    ap.add_argument("--eval-count", type=int, default=300)
    ap.add_argument("--eval-dir", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast in the forward pass")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the image encoder (measured 1.28x on its fwd+bwd on 2 cores; ~2 min to compile)")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-limit", type=int, default=60, help="images per curve point (held-out and train)")
    ap.add_argument("--export", default=None, help="safetensors path (default <run>/sam_stablesam_base.safetensors)")
    ap.add_argument("--bench", type=int, default=0, help="time N steps on the data, report images/s, exit")
    ap.add_argument("--export-only", action="store_true",
                    help="export the resumed state's weight average (no data, no training, no evaluation) and exit")
    ap.add_argument("--config", default=None, help="JSON object overriding entries of CONFIG (new runs only)")
    return ap.parse_args()


def main() -> None:
    a = parse_args()
    if a.config:
        CONFIG.update(json.loads(a.config))
    os.makedirs(a.run, exist_ok=True)
    a.eval_dir = a.eval_dir or os.path.join(a.run, "data", "heldout")
    a.device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                            ("cpu" if a.device == "auto" else a.device))
    torch.set_num_threads(a.threads)
    t_start = time.time()

    # resume: the newer of the run's own checkpoint and the committed state
    candidates = [p for p in (os.path.join(a.run, "checkpoint.pt"), a.state) if os.path.exists(p)]
    st = None
    if candidates and not a.bench:
        loaded = [torch.load(p, map_location="cpu", weights_only=False) for p in candidates]
        k = max(range(len(loaded)), key=lambda i: loaded[i]["step"])
        st, src = loaded[k], candidates[k]
        CONFIG.clear()
        CONFIG.update(st["config"])
    # The schedule is the run's: a resumed run keeps its horizon (kept in its state) unless told otherwise.
    if a.total_steps is None:
        # A checkpoint written before horizons were stored says nothing: take the horizon of any
        # candidate at the same step (the committed state), else the original 120000.
        same = [x.get("total_steps") for x in (loaded if st is not None else []) if x["step"] == st["step"]]
        a.total_steps = (st or {}).get("total_steps") or next((t for t in same if t), None) or 120000
    a.lr_stride = CONFIG["patch_size"] // 4  # low-res logits are 4x the embedding grid
    if a.export_only:   # e.g. to measure tracking with the committed state while a run goes on
        assert st is not None, f"--export-only: no state to export (looked for {candidates or [a.state]})"
        ema = build_sam(CONFIG)
        ema.load_state_dict(st["ema"])
        path = export(a, ema.eval(), st["step"], st["train_seconds"], st["history"], None)
        log(a, f"exported {path} from {src} at step {st['step']}")
        return
    gen_proc = ensure_data(a)
    pool, held = Pool(a), Scenes(a.eval_dir)

    torch.manual_seed(a.seed)
    sam = build_sam(CONFIG)
    decay = [p for n, p in sam.named_parameters() if p.ndim >= 2 and "pos" not in n and "embed" not in n]
    no_decay = [p for n, p in sam.named_parameters() if not (p.ndim >= 2 and "pos" not in n and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.999))
    step, train_s, history = 0, 0.0, []
    ema = copy.deepcopy(sam)
    if st is not None:
        sam.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["optimizer"])
        step, train_s, history = st["step"], st["train_seconds"], st["history"]
        log(a, f"resumed from {src} at step {step} ({train_s / 3600:.2f} h trained)")
    else:
        n_par = sum(p.numel() for p in sam.parameters())
        log(a, f"new run: {n_par / 1e6:.2f} M parameters, config {json.dumps(CONFIG)}, {a.total_steps} steps "
               f"planned, iters {a.iters}, batch {a.batch}, {len(pool)} training images so far, {len(held)} held out")
    sam.to(a.device).train()
    ema.to(a.device).eval()
    # Only the encoder: its shapes are fixed per batch size, while the decoder's vary with the prompt
    # count and would recompile. The compiled wrapper shares sam's parameters, so checkpoints are unchanged.
    a.encode = torch.compile(sam.image_encoder) if a.compile else sam.image_encoder
    for p in ema.parameters():
        p.requires_grad_(False)

    budget = a.minutes * 60
    spent = 0.0
    last_ck = time.time()
    agg, agg_n, t_rep = {}, 0, time.time()
    end = step + a.bench if a.bench else None
    t_bench = c_bench = None
    # A graceful early end: SIGTERM or a file <run>/STOP ends this invocation after the current step
    # exactly as the --minutes budget does (state saved, held-out eval, export), so a session can
    # stop training on its own schedule without losing the steps since the last checkpoint.
    stop_file = os.path.join(a.run, "STOP")
    if os.path.exists(stop_file):   # left by the invocation it stopped
        os.remove(stop_file)
    stop = {"requested": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    while (step < end) if a.bench else (spent < budget and step < a.total_steps):
        if stop["requested"] or os.path.exists(stop_file):
            log(a, f"stop requested ({'SIGTERM' if stop['requested'] else stop_file}) at step {step}")
            break
        t0 = time.time()
        if step % 200 == 0:
            pool.refresh()
        lr_now = a.lr * lr_factor(step, a)
        for g in opt.param_groups:
            g["lr"] = lr_now
        rng = np.random.default_rng([a.seed, step, 7])
        ids = rng.integers(0, len(pool), a.batch)
        batch = make_batch(sam, pool, ids, rng, a)
        loss, stats = train_step(sam, batch, rng, a)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(sam.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(a.ema, (1 + step) / (10 + step))
            for pe, p in zip(ema.parameters(), sam.parameters()):
                pe.mul_(d).add_(p.detach(), alpha=1 - d)
            for be, b in zip(ema.buffers(), sam.buffers()):
                be.copy_(b)
        step += 1
        dt = time.time() - t0
        train_s += dt
        spent += dt
        if a.bench and step == end - a.bench + 2:
            t_bench, c_bench = time.time(), time.process_time()
        stats["loss"] = float(loss.detach())
        stats["grad_norm"] = float(gn)
        for k, v in stats.items():
            agg[k] = agg.get(k, 0.0) + v
        agg_n += 1
        if step % a.log_every == 0:
            dtr = time.time() - t_rep
            rec = {k: round(v / agg_n, 5) for k, v in agg.items()}
            rec.update(step=step, lr=lr_now, images_per_s=round(agg_n * a.batch / dtr, 2),
                       train_h=round(train_s / 3600, 3), pool=len(pool))
            log(a, f"step {step} loss {rec['loss']:.4f} (focal {rec['focal']:.4f} dice {rec['dice']:.4f} "
                   f"iou {rec['iou_mse']:.4f}) train mIoU first {rec['miou0']:.3f} last {rec['miou_last']:.3f} "
                   f"| {rec['images_per_s']:.2f} img/s, lr {lr_now:.2e}, pool {len(pool)}, "
                   f"{(budget - spent) / 60:.0f} min left")
            if step % a.eval_every == 0 and not a.bench:
                rec["heldout"] = evaluate(ema, held, a.eval_limit, a.device)
                rec["train_eval"] = evaluate(ema, pool.sets[0], a.eval_limit, a.device)
                log(a, f"step {step} EMA mIoU, GT box / tracker box: held-out {rec['heldout']['miou_gt_box']:.4f} / "
                       f"{rec['heldout']['miou_tracker_box']:.4f}, train {rec['train_eval']['miou_gt_box']:.4f} / "
                       f"{rec['train_eval']['miou_tracker_box']:.4f}")
            history.append(rec)
            with open(os.path.join(a.run, "log.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
            agg, agg_n, t_rep = {}, 0, time.time()
        if not a.bench and time.time() - last_ck > a.ckpt_minutes * 60:
            save_checkpoint(os.path.join(a.run, "checkpoint.pt"), sam, ema, opt, step, train_s, history, len(pool), a.total_steps)
            last_ck = time.time()
    if a.bench:
        n = a.bench - 2
        cpu = time.process_time() - c_bench
        log(a, f"bench: {n * a.batch / (time.time() - t_bench):.2f} images/s wall over {n} steps of batch {a.batch}; "
               f"{cpu / n:.2f} CPU-s per step; bf16 {a.bf16}; device {a.device}; config {json.dumps(CONFIG)}")
        return
    for p in (os.path.join(a.run, "checkpoint.pt"), a.state):
        save_checkpoint(p, sam, ema, opt, step, train_s, history, len(pool), a.total_steps)
    log(a, f"saved state at step {step} to {a.state}")
    t = time.time()
    ev = evaluate(ema, held, None, a.device)
    log(a, f"held-out EMA mIoU over {ev['objects']} objects ({ev['images']} images, {time.time() - t:.0f}s): "
           f"GT box {ev['miou_gt_box']:.4f}, tracker box {ev['miou_tracker_box']:.4f}")
    with open(os.path.join(a.run, "eval.json"), "w") as f:
        json.dump(dict(ev, step=step), f, indent=1)
    path = export(a, ema.cpu(), step, train_s, history, ev)
    log(a, f"exported {path} ({os.path.getsize(path) / 1e6:.1f} MB); this invocation took "
           f"{(time.time() - t_start) / 60:.1f} min, training total {train_s / 3600:.2f} h")
    if gen_proc is not None and gen_proc.poll() is None:
        log(a, "the pool generator is still running; it stops with this process (chunks resume next time)")
        gen_proc.terminate()


if __name__ == "__main__":
    main()
