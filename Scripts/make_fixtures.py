#!/usr/bin/env python3
"""Golden fixtures for StableSAM's parity tests, written by Meta's official SAM code.

Regenerate (from the repository root, after `Scripts/setup_python.sh`):

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \
        .venv-scripts/bin/python Scripts/make_fixtures.py

writes, under Tests/TestSupport/Fixtures/ (each file < 1 MB):
    sam_tiny_<name>.pth                 torch.save(state_dict) of a small random SAM (or layer)
    sam_tiny_<name>_stages.safetensors  inputs and every stage's output, with JSON metadata
for <name> in win, glob (a full Sam built from segment_anything.modeling) and relinterp (one
image_encoder.Attention whose rel_pos tables are resized by get_rel_pos at run time).

    .venv-scripts/bin/python Scripts/make_fixtures.py --full vit_b --out /tmp/sam_vit_b

writes a random-weight build_sam_vit_b() checkpoint (~375 MB), a 640x480 test image and its
stages, for comparing a CLI run end to end; never commit that output.

The official code is imported, never copied. Default init leaves rel_pos, pos_embed, LayerNorm
and some biases at 0/1, which would hide bugs, so every parameter gets seeded noise (perturb()).
"""

import argparse
import importlib.metadata
import json
import platform
import struct
import sys
import zlib
from functools import partial
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image
from safetensors.numpy import load_file, save_file

from segment_anything import SamPredictor, build_sam_vit_b
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
from segment_anything.modeling.image_encoder import Attention, get_rel_pos

SEED = 20250601
GENERATOR = "Scripts/make_fixtures.py"
REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "TestSupport" / "Fixtures"
MAX_FIXTURE_BYTES = 1 << 20
PIXEL_MEAN = [123.675, 116.28, 103.53]
PIXEL_STD = [58.395, 57.12, 57.375]

# Constructor arguments of the tiny models. Everything a loader cannot infer from the weights
# (heads, window size, global blocks, eps, img_size) is written into the fixture's metadata.
TINY_CONFIGS = {
    "win": dict(
        image_width=96, image_height=72,
        image_encoder=dict(
            img_size=128, patch_size=8, in_chans=3, embed_dim=32, depth=4, num_heads=2,
            mlp_ratio=4.0, out_chans=32, qkv_bias=True, norm_layer_eps=1e-6, act_layer="GELU",
            use_abs_pos=True, use_rel_pos=True, rel_pos_zero_init=False, window_size=5,
            global_attn_indexes=[1, 3]),
        prompt_encoder=dict(embed_dim=32, image_embedding_size=[16, 16], input_image_size=[128, 128],
                            mask_in_chans=16, activation="GELU"),
        mask_decoder=dict(transformer_dim=32, num_multimask_outputs=3, activation="GELU",
                          iou_head_depth=3, iou_head_hidden_dim=32,
                          transformer=dict(depth=2, embedding_dim=32, mlp_dim=64, num_heads=8,
                                           activation="ReLU", attention_downsample_rate=2)),
    ),
    "glob": dict(
        image_width=50, image_height=80,
        image_encoder=dict(
            img_size=64, patch_size=4, in_chans=3, embed_dim=24, depth=2, num_heads=3,
            mlp_ratio=4.0, out_chans=24, qkv_bias=True, norm_layer_eps=1e-6, act_layer="GELU",
            use_abs_pos=True, use_rel_pos=True, rel_pos_zero_init=False, window_size=0,
            global_attn_indexes=[]),
        prompt_encoder=dict(embed_dim=24, image_embedding_size=[16, 16], input_image_size=[64, 64],
                            mask_in_chans=8, activation="GELU"),
        # 8 heads would not divide the cross-attention's internal dim 24 / 2 = 12.
        mask_decoder=dict(transformer_dim=24, num_multimask_outputs=3, activation="GELU",
                          iou_head_depth=3, iou_head_hidden_dim=24,
                          transformer=dict(depth=2, embedding_dim=24, mlp_dim=48, num_heads=4,
                                           activation="ReLU", attention_downsample_rate=2)),
    ),
}

# One official image_encoder.Attention whose tables are sized for input_size but which runs on
# other grids, so get_rel_pos linearly resizes them (up and down). SAM itself never reaches that
# path: SamPredictor pads every image to img_size and pos_embed fixes the token grid.
RELINTERP_CONFIG = dict(dim=16, num_heads=2, qkv_bias=True, use_rel_pos=True, rel_pos_zero_init=False,
                        input_size=[5, 7])
RELINTERP_GRIDS = [(8, 4), (5, 7), (3, 11)]  # (H, W): up/down, native, down/up


def config_seed(name):
    return SEED + zlib.crc32(name.encode()) % 10_000


def versions():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "segment_anything": importlib.metadata.version("segment-anything"),
        "numpy": np.__version__,
        "PIL": PIL.__version__,
        "torchvision": importlib.metadata.version("torchvision"),
        "safetensors": importlib.metadata.version("safetensors"),
    }


def perturb(module, generator):
    """Makes the random init informative, in place and seeded.

    Linear/Conv weights are first scaled by sqrt(3): PyTorch's default kaiming_uniform(a=sqrt(5))
    has std 1/sqrt(3 fan_in), which shrinks every layer's output, leaving mask logits ~0.05 and
    near-uniform attention; 1/sqrt(fan_in) keeps logits O(1) with both signs. Then every parameter
    gets noise: 10% of its std, or N(0, 0.2^2) where the init is constant (zeros: rel_pos,
    pos_embed, LayerNorm bias; ones: LayerNorm weight)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                m.weight.mul_(3 ** 0.5)
        for _, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            std = p.std().item() if p.numel() > 1 else 0.0
            p.add_(noise * (0.1 * std if std > 0 else 0.2))


def build_tiny_sam(cfg):
    enc, pe, dec = cfg["image_encoder"], cfg["prompt_encoder"], cfg["mask_decoder"]
    tr = dec["transformer"]
    assert enc["act_layer"] == "GELU" and pe["activation"] == "GELU" and dec["activation"] == "GELU"
    assert tr["activation"] == "ReLU"
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=enc["img_size"], patch_size=enc["patch_size"], in_chans=enc["in_chans"],
            embed_dim=enc["embed_dim"], depth=enc["depth"], num_heads=enc["num_heads"],
            mlp_ratio=enc["mlp_ratio"], out_chans=enc["out_chans"], qkv_bias=enc["qkv_bias"],
            norm_layer=partial(torch.nn.LayerNorm, eps=enc["norm_layer_eps"]), act_layer=torch.nn.GELU,
            use_abs_pos=enc["use_abs_pos"], use_rel_pos=enc["use_rel_pos"],
            rel_pos_zero_init=enc["rel_pos_zero_init"], window_size=enc["window_size"],
            global_attn_indexes=tuple(enc["global_attn_indexes"])),
        prompt_encoder=PromptEncoder(
            embed_dim=pe["embed_dim"], image_embedding_size=tuple(pe["image_embedding_size"]),
            input_image_size=tuple(pe["input_image_size"]), mask_in_chans=pe["mask_in_chans"],
            activation=torch.nn.GELU),
        mask_decoder=MaskDecoder(
            transformer_dim=dec["transformer_dim"], num_multimask_outputs=dec["num_multimask_outputs"],
            activation=torch.nn.GELU, iou_head_depth=dec["iou_head_depth"],
            iou_head_hidden_dim=dec["iou_head_hidden_dim"],
            transformer=TwoWayTransformer(
                depth=tr["depth"], embedding_dim=tr["embedding_dim"], num_heads=tr["num_heads"],
                mlp_dim=tr["mlp_dim"], activation=torch.nn.ReLU,
                attention_downsample_rate=tr["attention_downsample_rate"])),
        pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD,
    )
    return sam.eval()


def metadata_config(cfg):
    """The constructor arguments as stored in `__metadata__["config"]`."""
    out = {k: v for k, v in cfg.items() if k not in ("image_width", "image_height")}
    out["decoder_num_heads"] = cfg["mask_decoder"]["transformer"]["num_heads"]
    out["decoder_layer_norm_eps"] = 1e-5  # TwoWayTransformer uses nn.LayerNorm's default
    out["layer_norm_2d_eps"] = 1e-6       # common.LayerNorm2d default (neck, mask convs, upscaling)
    out["pixel_mean"], out["pixel_std"] = PIXEL_MEAN, PIXEL_STD
    out["mask_threshold"], out["image_format"] = Sam.mask_threshold, Sam.image_format
    return out


def test_image(width, height, rng):
    """Smooth seeded colour waves plus a disc and a rectangle: HxWx3 uint8."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64) / max(width, height)
    img = np.zeros((height, width, 3))
    for c in range(3):
        for _ in range(3):
            fx, fy = rng.uniform(-2.0, 2.0, size=2)
            img[..., c] += np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi))
    img = 128 + 30 * img
    sx, sy = width / 100.0, height / 100.0
    yy, xx = np.mgrid[0:height, 0:width]
    disc = ((xx - 30 * sx) / (18 * sx)) ** 2 + ((yy - 38 * sy) / (18 * sy)) ** 2 <= 1
    img[disc] = rng.uniform(200, 250, size=3)
    img[int(52 * sy):int(86 * sy), int(56 * sx):int(88 * sx)] = rng.uniform(10, 60, size=3)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def prompt_cases(width, height):
    """Prompts in original-image pixels, positioned on the test image's shapes."""
    sx, sy = width / 100.0, height / 100.0
    f32 = lambda v: np.asarray(v, dtype=np.float32)
    rect_box = f32([54 * sx, 50 * sy, 90 * sx, 88 * sy])
    disc_box = f32([10 * sx, 18 * sy, 50 * sx, 58 * sy])
    disc_centre = f32([[30 * sx, 38 * sy]])
    return [
        dict(description="box around the rectangle, single mask", box=rect_box, multimask=False),
        dict(description="box around the rectangle, multimask", box=rect_box, multimask=True),
        dict(description="one positive point on the disc, multimask",
             point_coords=disc_centre, point_labels=np.array([1], np.int32), multimask=True),
        dict(description="positive point on the disc + negative point (fractional coords) in the rectangle, single",
             point_coords=f32([[30 * sx, 38 * sy], [70 * sx + 0.5, 68 * sy + 0.25]]),
             point_labels=np.array([1, 0], np.int32), multimask=False),
        dict(description="box around the disc + one negative point inside the box, single",
             box=disc_box, point_coords=f32([[46 * sx, 22 * sy]]), point_labels=np.array([0], np.int32),
             multimask=False),
        dict(description="mask_input = best low-res mask of case 2 + the positive point, single",
             point_coords=disc_centre, point_labels=np.array([1], np.int32), mask_from_case=2,
             multimask=False),
        dict(description="box touching the left, right and bottom borders (x1 = width, y1 = height), single",
             box=f32([0, 30 * sy, width, height]), multimask=False),
        dict(description="box partly outside the image (negative x0, y0), multimask",
             box=f32([-0.1 * width, -0.08 * height, 45 * sx, 55 * sy]), multimask=True),
    ]


def save_stages(path, tensors, meta):
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    for k, v in arrays.items():
        assert v.dtype in (np.float32, np.uint8), f"{k}: unexpected dtype {v.dtype}"
    save_file(arrays, str(path), metadata={k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
    # safetensors writes __metadata__ in hash-map order; re-emit the header with sorted keys so
    # that regenerating gives byte-identical files (data offsets are relative, so they still hold).
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n:])
    loaded = load_file(str(path))
    assert loaded.keys() == arrays.keys() and all(np.array_equal(loaded[k], arrays[k]) for k in arrays)


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def run_case(predictor, case, tensors, k, check_sign=True):
    """Runs SamPredictor.predict and recomputes its stages exactly as predict_torch does.
    check_sign: insist that the low-res logits take both signs (off for full-size random models)."""
    sam = predictor.model
    coords, labels, box, mask_input = (case.get(n) for n in ("point_coords", "point_labels", "box", "mask_input"))
    masks, iou, low_res = predictor.predict(point_coords=coords, point_labels=labels, box=box,
                                            mask_input=mask_input, multimask_output=case["multimask"],
                                            return_logits=True)
    with torch.no_grad():
        points = boxes = masks_in = None
        if coords is not None:
            c = torch.as_tensor(predictor.transform.apply_coords(coords, predictor.original_size), dtype=torch.float)
            points = (c[None], torch.as_tensor(labels, dtype=torch.int)[None])
            tensors[f"case{k}.point_coords_resized"] = f32(c)
        if box is not None:
            b = torch.as_tensor(predictor.transform.apply_boxes(box, predictor.original_size), dtype=torch.float)
            boxes = b
            tensors[f"case{k}.box_resized"] = f32(b[0])
        if mask_input is not None:
            masks_in = torch.as_tensor(mask_input, dtype=torch.float)[None]
        sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=masks_in)
        low, iou_t = sam.mask_decoder(image_embeddings=predictor.features, image_pe=sam.prompt_encoder.get_dense_pe(),
                                      sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                      multimask_output=case["multimask"])
        logits = sam.postprocess_masks(low, predictor.input_size, predictor.original_size)
    assert torch.equal(low[0], torch.from_numpy(low_res)), f"case {k}: recomputed low_res_masks differ"
    assert torch.equal(iou_t[0], torch.from_numpy(iou)), f"case {k}: recomputed iou differs"
    assert torch.equal(logits[0], torch.from_numpy(masks)), f"case {k}: recomputed logits differ"
    if coords is not None:
        tensors[f"case{k}.point_coords"] = coords.astype(np.float32)
        tensors[f"case{k}.point_labels"] = labels.astype(np.float32)
    if box is not None:
        tensors[f"case{k}.box"] = box.astype(np.float32)
    if mask_input is not None:
        tensors[f"case{k}.mask_input"] = mask_input.astype(np.float32)
    tensors[f"case{k}.sparse"] = f32(sparse)
    if mask_input is not None:
        tensors[f"case{k}.dense"] = f32(dense)
    else:  # the no_mask_embed broadcast, identical for every case without a mask: stored once
        no_mask = tensors.setdefault("no_mask_dense", f32(dense))
        assert np.array_equal(no_mask, f32(dense)), f"case {k}: no-mask dense embedding differs"
    tensors[f"case{k}.low_res_masks"] = f32(low)
    tensors[f"case{k}.iou"] = f32(iou_t)
    # Only the first mask's upscaled logits (size), but every mask binarised as predict() does.
    tensors[f"case{k}.logits"] = f32(logits[:, :1])
    tensors[f"case{k}.masks"] = (logits > sam.mask_threshold).numpy().astype(np.uint8)
    pos = float((low > 0).float().mean())
    print(f"  case {k}: sparse {tuple(sparse.shape)} masks {tuple(low.shape)} positive {pos:.2f} "
          f"|logit| max {float(low.abs().max()):.2f} iou {np.round(iou, 3).tolist()}")
    assert not check_sign or 0.03 < pos < 0.97, f"case {k}: low-res logits nearly all one sign ({pos:.2f} positive)"
    return low_res, iou


def record_image_stages(sam, image, tensors, label="", predictor_class=SamPredictor):
    """Runs `predictor_class(sam).set_image` (segment_anything's SamPredictor, or MobileSAM's) and records image, resized_image, input_image, image_embedding and
    dense_pe into `tensors` (recomputed stage by stage and checked against the predictor's)."""
    predictor = predictor_class(sam)
    predictor.set_image(image)
    resized = predictor.transform.apply_image(image)
    with torch.no_grad():
        x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None]
        input_image = sam.preprocess(x)
        embedding = sam.image_encoder(input_image)
        dense_pe = sam.prompt_encoder.get_dense_pe()
    assert torch.equal(embedding, predictor.features), "recomputed image embedding differs"
    tensors.update({"image": image, "resized_image": resized, "input_image": f32(input_image),
                    "image_embedding": f32(embedding), "dense_pe": f32(dense_pe)})
    print(f"{label}: image {image.shape} resized {resized.shape} embedding {tuple(embedding.shape)}")
    return predictor


def record_cases(predictor, cases, tensors, check_sign=True):
    """Runs every prompt case (a mask_from_case case takes that case's best low-res mask) and
    returns the cases' metadata."""
    cases_meta, lows = [], {}
    for k, case in enumerate(cases):
        if "mask_from_case" in case:
            low_res, iou = lows[case["mask_from_case"]]
            case["mask_input"] = low_res[int(np.argmax(iou))][None]
        lows[k] = run_case(predictor, case, tensors, k, check_sign=check_sign)
        inputs = [n for n in ("point_coords", "point_labels", "box", "mask_input") if case.get(n) is not None]
        entry = dict(k=k, description=case["description"], multimask=case["multimask"], inputs=inputs,
                     dense=f"case{k}.dense" if "mask_input" in inputs else "no_mask_dense")
        if "mask_from_case" in case:
            entry["mask_input_from"] = dict(case=case["mask_from_case"], mask="argmax of iou")
        cases_meta.append(entry)
    return cases_meta


def make_tiny(name, cfg):
    seed = config_seed(name)
    torch.manual_seed(seed)
    sam = build_tiny_sam(cfg)
    perturb(sam, torch.Generator().manual_seed(seed + 1))
    rng = np.random.default_rng(seed)
    image = test_image(cfg["image_width"], cfg["image_height"], rng)

    tensors = {}
    predictor = record_image_stages(sam, image, tensors, label=name)
    cases_meta = record_cases(predictor, prompt_cases(cfg["image_width"], cfg["image_height"]), tensors)

    FIXTURES.mkdir(parents=True, exist_ok=True)
    pth, stages = FIXTURES / f"sam_tiny_{name}.pth", FIXTURES / f"sam_tiny_{name}_stages.safetensors"
    torch.save(sam.state_dict(), pth)
    save_stages(stages, tensors, dict(config=metadata_config(cfg), cases=cases_meta, generator=GENERATOR,
                                      versions=versions(), seed=str(seed), weights=pth.name))
    check_sizes(pth, stages)


def make_relinterp():
    name, cfg = "relinterp", RELINTERP_CONFIG
    seed = config_seed(name)
    torch.manual_seed(seed)
    attn = Attention(cfg["dim"], num_heads=cfg["num_heads"], qkv_bias=cfg["qkv_bias"], use_rel_pos=cfg["use_rel_pos"],
                     rel_pos_zero_init=cfg["rel_pos_zero_init"], input_size=tuple(cfg["input_size"])).eval()
    perturb(attn, torch.Generator().manual_seed(seed + 1))
    gen = torch.Generator().manual_seed(seed + 2)
    tensors, cases_meta = {}, []
    for k, (h, w) in enumerate(RELINTERP_GRIDS):
        x = torch.randn((1, h, w, cfg["dim"]), generator=gen)
        with torch.no_grad():
            y = attn(x)
            rh, rw = get_rel_pos(h, h, attn.rel_pos_h), get_rel_pos(w, w, attn.rel_pos_w)
        tensors.update({f"case{k}.x": f32(x), f"case{k}.rel_h": f32(rh), f"case{k}.rel_w": f32(rw),
                        f"case{k}.y": f32(y)})
        description = (f"grid {h}x{w}: rel_pos_h {attn.rel_pos_h.shape[0]} -> {2 * h - 1} rows, "
                       f"rel_pos_w {attn.rel_pos_w.shape[0]} -> {2 * w - 1} rows")
        cases_meta.append(dict(k=k, description=description, grid=[h, w]))
        print(f"relinterp: case {k} grid {h}x{w} |y| max {float(y.abs().max()):.2f}")
    meta_cfg = dict(cfg, module="segment_anything.modeling.image_encoder.Attention",
                    head_dim=cfg["dim"] // cfg["num_heads"])
    FIXTURES.mkdir(parents=True, exist_ok=True)
    pth, stages = FIXTURES / f"sam_tiny_{name}.pth", FIXTURES / f"sam_tiny_{name}_stages.safetensors"
    torch.save(attn.state_dict(), pth)
    save_stages(stages, tensors, dict(config=meta_cfg, cases=cases_meta, generator=GENERATOR,
                                      versions=versions(), seed=str(seed), weights=pth.name))
    check_sizes(pth, stages)


def check_sizes(*paths):
    for p in paths:
        size = p.stat().st_size
        print(f"  wrote {p.relative_to(REPO)} ({size} bytes)")
        assert size < MAX_FIXTURE_BYTES, f"{p.name} is {size} bytes; fixtures must stay under 1 MB"


def make_full(model, out):
    assert model == "vit_b", "only vit_b is supported"
    seed = config_seed("full_" + model)
    torch.manual_seed(seed)
    sam = build_sam_vit_b().eval()
    perturb(sam, torch.Generator().manual_seed(seed + 1))
    out.mkdir(parents=True, exist_ok=True)
    torch.save(sam.state_dict(), out / "sam_vit_b_random.pth")
    image = test_image(640, 480, np.random.default_rng(seed))
    Image.fromarray(image).save(out / "image.png")

    predictor = SamPredictor(sam)
    predictor.set_image(image)
    tensors = {"image_embedding": f32(predictor.features)}
    cases = prompt_cases(640, 480)
    prompts = {"box": dict(cases[0], multimask=False), "point": dict(cases[2], multimask=True)}
    cases_meta = []
    for key, case in prompts.items():
        masks, iou, low = predictor.predict(point_coords=case.get("point_coords"),
                                            point_labels=case.get("point_labels"), box=case.get("box"),
                                            multimask_output=case["multimask"])
        if "box" in case:
            tensors[f"{key}.box"] = case["box"]
        if "point_coords" in case:
            tensors[f"{key}.point_coords"] = case["point_coords"]
            tensors[f"{key}.point_labels"] = case["point_labels"].astype(np.float32)
        tensors[f"{key}.low_res_masks"] = low[None].astype(np.float32)
        tensors[f"{key}.iou"] = iou[None].astype(np.float32)
        tensors[f"{key}.masks"] = masks[None].astype(np.uint8)
        cases_meta.append(dict(key=key, description=case["description"], multimask=case["multimask"]))
        print(f"{key}: iou {np.round(iou, 3).tolist()} mask fraction {masks.mean():.3f}")
        if key == "box":
            Image.fromarray(masks[0].astype(np.uint8) * 255).save(out / "expected_mask_box.png")
    save_stages(out / "stages.safetensors", tensors,
                dict(config=dict(model=model, builder="segment_anything.build_sam_vit_b", checkpoint=None,
                                 pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD),
                     cases=cases_meta, generator=GENERATOR, versions=versions(), seed=str(seed),
                     weights="sam_vit_b_random.pth"))
    for p in sorted(out.iterdir()):
        print(f"  wrote {p} ({p.stat().st_size} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", choices=["vit_b"], help="write a random full-size model instead of the tiny fixtures")
    parser.add_argument("--out", type=Path, help="output directory for --full (not under Tests/)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    if args.full:
        if args.out is None:
            parser.error("--full needs --out DIR")
        make_full(args.full, args.out)
        return
    torch.set_num_threads(1)  # one summation order, so regenerating reproduces the files
    for name, cfg in TINY_CONFIGS.items():
        make_tiny(name, cfg)
    make_relinterp()


if __name__ == "__main__":
    sys.exit(main())
