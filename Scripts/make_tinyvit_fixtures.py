#!/usr/bin/env python3
"""Golden fixtures for StableSAM's TinyViT (MobileSAM) parity tests, written by MobileSAM's own code.

Regenerate (from the repository root, after `Scripts/setup_python.sh`):

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        .venv-scripts/bin/python Scripts/make_tinyvit_fixtures.py

writes, under Tests/TestSupport/Fixtures/ (each file < 1 MB), in the layout of make_fixtures.py:
    sam_tiny_tinyvit.pth                 torch.save(state_dict) of a reduced random MobileSAM
    sam_tiny_tinyvit_stages.safetensors  inputs and every stage's output, with JSON metadata
    mobile_sam_vit_t_shapes.json         every key and shape of build_sam_vit_t()'s state_dict (mobile_sam.pt)

The reduced model is mobile_sam.modeling's TinyViT, PromptEncoder, MaskDecoder and Sam with small
arguments, and exactly two changes, both to numbers the reference hard-codes for its 1024 px model:
the neck is 32 channels wide instead of 256 (same layers), and forward_features views the tokens as
an (img_size/16)^2 grid instead of 64x64. A full-size check runs the unmodified code:

    .venv-scripts/bin/python Scripts/make_tinyvit_fixtures.py --full vit_t --out /tmp/mobile_sam_random
    STABLESAM_TINYVIT_FULL=/tmp/mobile_sam_random swift test --skip-build --filter TinyViTFullParity

writes build_sam_vit_t() with seeded random weights (mobile_sam_random.pt, ~40 MB), a 640x480 image's
stages (stages.safetensors) and compares every stage in Swift. Never commit that output.

Quirk: the official build_sam_vit_t(checkpoint) calls eval() before load_state_dict, and eval() caches
attention_biases[:, attention_bias_idxs] in the non-persistent buffer `ab`, so the official loader runs
with the zero-initialised biases, not the checkpoint's. The fixtures call eval() after setting the weights
(the model's own math, what training used), and --full prints how far the official loader's output is.
"""

import argparse
import importlib.metadata
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

import make_fixtures as mf
from mobile_sam import SamPredictor, build_sam_vit_t
from mobile_sam.modeling import MaskDecoder, PromptEncoder, Sam, TinyViT, TwoWayTransformer
from mobile_sam.modeling.tiny_vit_sam import Attention, LayerNorm2d

GENERATOR = "Scripts/make_tinyvit_fixtures.py"

# Every stage type: MBConv stage, two stride-2 PatchMerging, an attention stage whose 16x16 grid is padded
# to 20x20 for 5x5 windows, one whose window covers its 8x8 grid (the reference's no-partition branch).
# Head width 8 throughout and stage 0's unused heads/window as stage 1's, as in every published TinyViT.
TINYVIT_CONFIG = dict(
    image_width=96, image_height=72,
    image_encoder=dict(img_size=128, in_chans=3, num_classes=10, embed_dims=[16, 24, 32], depths=[1, 2, 1],
                       num_heads=[2, 3, 4], window_sizes=[5, 5, 8], mlp_ratio=2.0, mbconv_expand_ratio=3.0,
                       local_conv_size=5, drop_rate=0.0, drop_path_rate=0.0, layer_lr_decay=0.8, out_chans=32,
                       batch_norm_eps=1e-5, layer_norm_eps=1e-5),
    prompt_encoder=dict(embed_dim=32, image_embedding_size=[8, 8], input_image_size=[128, 128],
                        mask_in_chans=16, activation="GELU"),
    mask_decoder=dict(transformer_dim=32, num_multimask_outputs=3, activation="GELU",
                      iou_head_depth=3, iou_head_hidden_dim=32,
                      transformer=dict(depth=2, embedding_dim=32, mlp_dim=64, num_heads=8,
                                       activation="ReLU", attention_downsample_rate=2)),
)


def versions():
    out = mf.versions()
    out["mobile_sam"] = importlib.metadata.version("mobilesam-mirror")
    out["timm"] = importlib.metadata.version("timm")
    return out


def forward_features_any_grid(self, x):
    """TinyViT.forward_features with the token grid taken from img_size instead of the literal 64."""
    x = self.patch_embed(x)
    for layer in self.layers:
        x = layer(x)
    g = self.img_size // 16
    return self.neck(x.view(x.shape[0], g, g, -1).permute(0, 3, 1, 2))


def build_reduced(cfg):
    enc, pe, dec = cfg["image_encoder"], cfg["prompt_encoder"], cfg["mask_decoder"]
    tr = dec["transformer"]
    encoder = TinyViT(img_size=enc["img_size"], in_chans=enc["in_chans"], num_classes=enc["num_classes"],
                      embed_dims=enc["embed_dims"], depths=enc["depths"], num_heads=enc["num_heads"],
                      window_sizes=enc["window_sizes"], mlp_ratio=enc["mlp_ratio"], drop_rate=enc["drop_rate"],
                      drop_path_rate=enc["drop_path_rate"], use_checkpoint=False,
                      mbconv_expand_ratio=enc["mbconv_expand_ratio"], local_conv_size=enc["local_conv_size"],
                      layer_lr_decay=enc["layer_lr_decay"])
    out = enc["out_chans"]
    encoder.neck = nn.Sequential(nn.Conv2d(enc["embed_dims"][-1], out, kernel_size=1, bias=False), LayerNorm2d(out),
                                 nn.Conv2d(out, out, kernel_size=3, padding=1, bias=False), LayerNorm2d(out))
    encoder.forward_features = types.MethodType(forward_features_any_grid, encoder)
    return Sam(
        image_encoder=encoder,
        prompt_encoder=PromptEncoder(embed_dim=pe["embed_dim"], image_embedding_size=tuple(pe["image_embedding_size"]),
                                     input_image_size=tuple(pe["input_image_size"]), mask_in_chans=pe["mask_in_chans"]),
        mask_decoder=MaskDecoder(
            transformer_dim=dec["transformer_dim"], num_multimask_outputs=dec["num_multimask_outputs"],
            iou_head_depth=dec["iou_head_depth"], iou_head_hidden_dim=dec["iou_head_hidden_dim"],
            transformer=TwoWayTransformer(depth=tr["depth"], embedding_dim=tr["embedding_dim"], num_heads=tr["num_heads"],
                                          mlp_dim=tr["mlp_dim"], attention_downsample_rate=tr["attention_downsample_rate"])),
        pixel_mean=mf.PIXEL_MEAN, pixel_std=mf.PIXEL_STD,
    )


def perturb_mobile_sam(sam, generator):
    """mf.perturb plus what TinyViT adds: its Linear layers start at trunc_normal(std 0.02), which would
    leave attention nearly uniform, so they are redrawn at PyTorch's default spread (perturb() then scales
    them to 1/sqrt(fan_in) like every other layer); BatchNorm running statistics get seeded values."""
    with torch.no_grad():
        for m in sam.image_encoder.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, (3 * m.in_features) ** -0.5, generator=generator)
        mf.perturb(sam, generator)
        for m in sam.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.2, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)
    sam.eval()  # after the weights: eval() caches attention_biases[:, attention_bias_idxs] as `ab`
    for m in sam.modules():
        if isinstance(m, Attention):
            assert torch.equal(m.ab, m.attention_biases[:, m.attention_bias_idxs]), "stale attention bias cache"
    return sam


def record(sam, image, cases, tensors, check_sign):
    """Stages as make_fixtures.make_tiny records them, plus two layers' attention_bias_idxs."""
    predictor = mf.record_image_stages(sam, image, tensors, label="tinyvit", predictor_class=SamPredictor)
    for i, layer in enumerate(sam.image_encoder.layers[1:], start=1):
        tensors[f"attention_bias_idxs.layers.{i}"] = layer.blocks[0].attn.attention_bias_idxs.numpy().astype(np.float32)
    return mf.record_cases(predictor, cases, tensors, check_sign=check_sign)


def make_reduced():
    name, cfg = "tinyvit", TINYVIT_CONFIG
    seed = mf.config_seed(name)
    torch.manual_seed(seed)
    sam = perturb_mobile_sam(build_reduced(cfg), torch.Generator().manual_seed(seed + 1))
    rng = np.random.default_rng(seed)
    image = mf.test_image(cfg["image_width"], cfg["image_height"], rng)
    tensors = {}
    cases_meta = record(sam, image, mf.prompt_cases(cfg["image_width"], cfg["image_height"]), tensors, check_sign=True)
    meta_cfg = mf.metadata_config(cfg)
    meta_cfg["deviations"] = ["neck width out_chans instead of the hard-coded 256",
                              "forward_features grid img_size/16 instead of the hard-coded 64"]
    mf.FIXTURES.mkdir(parents=True, exist_ok=True)
    pth, stages = mf.FIXTURES / f"sam_tiny_{name}.pth", mf.FIXTURES / f"sam_tiny_{name}_stages.safetensors"
    torch.save(sam.state_dict(), pth)
    mf.save_stages(stages, tensors, dict(config=meta_cfg, cases=cases_meta, generator=GENERATOR,
                                         versions=versions(), seed=str(seed), weights=pth.name))
    mf.check_sizes(pth, stages)


def make_full(model, out):
    assert model == "vit_t", "only vit_t is supported"
    seed = mf.config_seed("full_" + model)
    torch.manual_seed(seed)
    sam = perturb_mobile_sam(build_sam_vit_t(), torch.Generator().manual_seed(seed + 1))
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "mobile_sam_random.pt"
    torch.save(sam.state_dict(), weights)
    image = mf.test_image(640, 480, np.random.default_rng(seed))
    tensors = {}
    cases_meta = record(sam, image, mf.prompt_cases(640, 480), tensors, check_sign=False)
    config = dict(model=model, builder="mobile_sam.build_sam_vit_t", checkpoint=None, decoder_num_heads=8,
                  image_encoder=dict(img_size=1024, embed_dims=[64, 128, 160, 320], depths=[2, 2, 6, 2],
                                     num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7]),
                  pixel_mean=mf.PIXEL_MEAN, pixel_std=mf.PIXEL_STD)
    mf.save_stages(out / "stages.safetensors", tensors,
                   dict(config=config, cases=cases_meta, generator=GENERATOR, versions=versions(), seed=str(seed),
                        weights=weights.name))
    # How far the official loader (eval() before load_state_dict: zero attention biases) lands.
    official = build_sam_vit_t(checkpoint=str(weights))
    p = SamPredictor(official)
    p.set_image(image)
    diff = (p.features - torch.from_numpy(tensors["image_embedding"])).abs().max().item()
    masks, _, _ = p.predict(box=mf.prompt_cases(640, 480)[0]["box"], multimask_output=False)
    expected = tensors["case0.masks"][0, 0] > 0
    iou = (masks[0] & expected).sum() / max((masks[0] | expected).sum(), 1)
    print(f"official build_sam_vit_t(checkpoint) loader (stale zero `ab`): embedding max |diff| {diff:.4f}, "
          f"case 0 mask IoU {iou:.4f}")
    for f in sorted(out.iterdir()):
        print(f"  wrote {f} ({f.stat().st_size} bytes)")


def write_vit_t_shapes():
    """The keys of mobile_sam.pt without its 40 MB: what the vit_t preset must match one to one."""
    sd = build_sam_vit_t().state_dict()
    shapes = {k: list(v.shape) for k, v in sd.items()}
    path = mf.FIXTURES / "mobile_sam_vit_t_shapes.json"
    path.write_text(json.dumps(dict(generator=GENERATOR, builder="mobile_sam.build_sam_vit_t", versions=versions(),
                                    shapes=shapes), sort_keys=True, indent=0) + "\n")
    mf.check_sizes(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", choices=["vit_t"], help="write a random full-size MobileSAM instead of the fixtures")
    parser.add_argument("--out", type=Path, help="output directory for --full (not under Tests/)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    if args.full:
        if args.out is None:
            parser.error("--full needs --out DIR")
        torch.set_num_threads(2)
        make_full(args.full, args.out)
        return
    torch.set_num_threads(1)  # one summation order, so regenerating reproduces the files
    make_reduced()
    write_vit_t_shapes()


if __name__ == "__main__":
    sys.exit(main())
