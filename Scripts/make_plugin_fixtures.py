#!/usr/bin/env python3
"""Golden fixtures for Stable-SAM's plugins, from the PyTorch reference in Scripts/stable_sam/ on
Meta's official SAM code (the tiny `win` model of make_fixtures.py, C = 32, 16x16 grid).

Regenerate (from the repository root, after Scripts/setup_python.sh and make_fixtures.py):

    .venv-scripts/bin/python Scripts/make_plugin_fixtures.py

writes, under Tests/TestSupport/Fixtures/ (each file < 1 MB):
    plugin_tiny_<name>.safetensors         a plugin file, written by stable_sam.save_plugin
    plugin_tiny_<name>_stages.safetensors  per prompt case: offsets, sample, values, route, low-res
                                           masks, IoU (and the same for route=deformable on case 0)
    grid_sample_cases.safetensors          F.grid_sample in both align_corners modes
for <name> in
    identity  the default init (proj identity, offset head and DRP output zero): plain SAM
    large     random weights with large offsets (|d| up to 8 cells on a 16-cell grid: samples
              between cells and outside the map), default options
    options   random weights with the non-default options: key_pe deformed, route_token iou,
              offset_scale 2.5
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import (FIXTURES, TINY_CONFIGS, build_tiny_sam, check_sizes, config_seed, f32,  # noqa: E402
                           prompt_cases, save_stages, versions)
from segment_anything import SamPredictor  # noqa: E402
from stable_sam import Options, StableSAMPlugin, save_plugin  # noqa: E402

GENERATOR = "Scripts/make_plugin_fixtures.py"
BASE = "win"
CASES = [0, 2, 4]  # of make_fixtures.prompt_cases: box single, point multimask, box + negative point single


def randomise(plugin, generator, offset_std):
    """Random weights around the identity init: proj = I + noise, and an offset head large enough
    that tanh saturates for some cells (|d| close to offset_scale) and not for others."""
    c = plugin.dsp.proj.weight.shape[0]
    with torch.no_grad():
        for name, p in plugin.named_parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.2 / c ** 0.5)
        plugin.dsp.offset[3].weight.copy_(torch.randn((2, c, 1, 1), generator=generator) * offset_std)
        plugin.drp.mlp[3].weight.copy_(torch.randn(plugin.drp.mlp[3].weight.shape, generator=generator))
        plugin.drp.mlp[3].bias.copy_(torch.randn(2, generator=generator) * 0.5)


def make(name, sam, predictor, image, options, offset_std):
    seed = config_seed("plugin_" + name)
    torch.manual_seed(seed)
    plugin = StableSAMPlugin(sam.mask_decoder.transformer_dim, options)
    if offset_std is not None:
        randomise(plugin, torch.Generator().manual_seed(seed + 1), offset_std)
    width, height = image.shape[1], image.shape[0]
    all_cases = prompt_cases(width, height)
    tensors, cases_meta = {}, []

    def predict(case, route):
        plugin.route = route
        masks, iou, low = predictor.predict(point_coords=case.get("point_coords"), point_labels=case.get("point_labels"),
                                            box=case.get("box"), multimask_output=case["multimask"], return_logits=True)
        return low, iou

    for k in CASES:
        case = all_cases[k]
        plugin.detach()
        plain_low, plain_iou = predict(case, "auto")
        plugin.attach(sam)
        low, iou = predict(case, "auto")
        last = plugin.last
        if offset_std is None:
            assert np.allclose(low, plain_low, atol=1e-5) and np.allclose(iou, plain_iou, atol=1e-6), \
                "identity-init plugin must reproduce plain SAM"
        prefix = f"case{k}"
        if "box" in case:
            tensors[f"{prefix}.box"] = case["box"].astype(np.float32)
        if "point_coords" in case:
            tensors[f"{prefix}.point_coords"] = case["point_coords"].astype(np.float32)
            tensors[f"{prefix}.point_labels"] = case["point_labels"].astype(np.float32)
        for key in ("offsets", "sample", "values", "route"):
            tensors[f"{prefix}.{key}"] = f32(last[key])
        tensors[f"{prefix}.low_res_masks"] = low[None].astype(np.float32)
        tensors[f"{prefix}.iou"] = iou[None].astype(np.float32)
        if k == CASES[0]:
            dlow, diou = predict(case, "deformable")
            tensors[f"{prefix}.deformable.low_res_masks"] = dlow[None].astype(np.float32)
            tensors[f"{prefix}.deformable.iou"] = diou[None].astype(np.float32)
            tensors[f"{prefix}.deformable.route"] = f32(plugin.last["route"])
        d = last["offsets"].abs()
        inputs = [n for n in ("point_coords", "point_labels", "box") if n in case]
        cases_meta.append(dict(k=k, description=case["description"], multimask=case["multimask"], inputs=inputs,
                               dense="no_mask_dense"))
        print(f"{name}: case {k} route {np.round(f32(last['route']), 4).tolist()} |d| max {float(d.max()):.2f} "
              f"mean {float(d.mean()):.2f}; |low - plain| max {float(np.abs(low - plain_low).max()):.3g}")
    plugin.detach()

    provenance = dict(generator=GENERATOR, seed=seed, init="identity" if offset_std is None else
                      f"random around identity, offset head std {offset_std}", versions=versions())
    plugin_path = FIXTURES / f"plugin_tiny_{name}.safetensors"
    stages_path = FIXTURES / f"plugin_tiny_{name}_stages.safetensors"
    save_plugin(plugin, plugin_path, sam.mask_decoder, base_model=f"sam_tiny_{BASE}.pth", provenance=provenance)
    save_stages(stages_path, tensors, dict(cases=cases_meta, generator=GENERATOR, versions=versions(), seed=str(seed),
                                           plugin=plugin_path.name, base=f"sam_tiny_{BASE}.pth",
                                           options=json.dumps(options.__dict__)))
    check_sizes(plugin_path, stages_path)


def make_grid_sample():
    """torch.nn.functional.grid_sample (bilinear, zeros) on a grid reaching past the borders."""
    seed = config_seed("grid_sample")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((2, 3, 5, 7), generator=gen)
    grid = (torch.rand((2, 4, 6, 2), generator=gen) * 2 - 1) * 1.3
    grid[0, 0, 0] = torch.tensor([-1.0, 1.0])  # exact corners
    grid[0, 0, 1] = torch.tensor([1.0, -1.0])
    tensors = {"input": f32(x), "grid": f32(grid)}
    for ac in (True, False):
        y = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=ac)
        tensors[f"output.align_corners_{str(ac).lower()}"] = f32(y)
    path = FIXTURES / "grid_sample_cases.safetensors"
    save_stages(path, tensors, dict(generator=GENERATOR, versions=versions(), seed=str(seed),
                                    call="F.grid_sample(input, grid, mode='bilinear', padding_mode='zeros', align_corners=...)"))
    check_sizes(path)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    sam = build_tiny_sam(TINY_CONFIGS[BASE])
    sam.load_state_dict(torch.load(FIXTURES / f"sam_tiny_{BASE}.pth"))
    image = load_file(str(FIXTURES / f"sam_tiny_{BASE}_stages.safetensors"))["image"]
    predictor = SamPredictor(sam)
    predictor.set_image(image)
    make_grid_sample()
    with torch.no_grad():
        make("identity", sam, predictor, image, Options(), None)
        make("large", sam, predictor, image, Options(), 0.2)
        make("options", sam, predictor, image, Options(offset_scale=2.5, route_token="iou", key_pe="deformed"), 0.3)


if __name__ == "__main__":
    sys.exit(main())
