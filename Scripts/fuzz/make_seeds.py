"""Seed corpora for Scripts/fuzz/run.sh, one folder per fuzz target, from the official code.

Checkpoints are real `torch.save` / `safetensors` files of SAM and MobileSAM models built by
Meta's `segment_anything` and MobileSAM's code at the pins of Scripts/requirements-fixtures.txt,
at micro sizes (a few KB: mutations land in headers, the pickle and shapes, not in weights), plus
the suite's checkpoint fixtures. Shape tables are every key and shape of the official ViT-B/L/H
and MobileSAM builders. RLE, objects and prompts seeds are the suite's fixtures and the bundled
clips' boxes. Deterministic: the same pins write the same files.

    .venv-scripts/bin/python Scripts/fuzz/make_seeds.py OUT_DIR
"""
import io
import json
import os
import shutil
import sys
import zipfile

import torch
from safetensors.torch import save as safetensors_bytes
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
from segment_anything import sam_model_registry

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "Tests", "TestSupport", "Fixtures")


def micro_vit(rel_pos=True, abs_pos=True):
    """SAM at the smallest sizes the engine accepts with its defaults (8 decoder heads)."""
    torch.manual_seed(0)
    return Sam(
        image_encoder=ImageEncoderViT(img_size=32, patch_size=8, in_chans=3, embed_dim=16, depth=2, num_heads=2,
                                      mlp_ratio=2, out_chans=16, qkv_bias=True, use_rel_pos=rel_pos,
                                      window_size=2, global_attn_indexes=[1], use_abs_pos=abs_pos),
        prompt_encoder=PromptEncoder(embed_dim=16, image_embedding_size=(4, 4), input_image_size=(32, 32),
                                     mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=16, mlp_dim=16, num_heads=8),
                                 transformer_dim=16, iou_head_depth=2, iou_head_hidden_dim=8),
    ).eval()


def pth_bytes(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(folder, name), mode) as f:
        f.write(data)


def shapes(model):
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def main(out):
    if os.path.exists(out):
        shutil.rmtree(out)
    models = {"micro_vit": micro_vit(), "micro_vit_noabs": micro_vit(abs_pos=False), "micro_vit_norel": micro_vit(rel_pos=False)}
    for name, model in models.items():
        state = model.state_dict()
        blob = pth_bytes(state)
        write(os.path.join(out, "pth"), name + ".pth", blob)
        write(os.path.join(out, "zip"), name + ".pth", blob)
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            write(os.path.join(out, "pickle"), name + ".pkl", z.read(pkl))
        meta = {}
        tensors = {k: v.contiguous() for k, v in state.items()}
        write(os.path.join(out, "safetensors"), name + ".safetensors", safetensors_bytes(tensors, metadata=meta or None))
        write(os.path.join(out, "config"), name + ".json", json.dumps(dict(shapes(model), __metadata__=meta)))
    # The official builders' full shape tables (no weights are written, only the shapes).
    for kind in ("vit_b", "vit_l", "vit_h"):
        with torch.device("meta"):
            model = sam_model_registry[kind]()
        write(os.path.join(out, "config"), kind + ".json", json.dumps(shapes(model)))
    with open(os.path.join(FIXTURES, "mobile_sam_vit_t_shapes.json")) as f:
        write(os.path.join(out, "config"), "vit_t.json", f.read())
    # TinyViT: MobileSAM's neck is hard-wired 256 wide, so the smallest official-code TinyViT SAM
    # is the suite's fixture (its generator narrows the neck to 32).
    with open(os.path.join(FIXTURES, "sam_tiny_tinyvit.pth"), "rb") as f:
        blob = f.read()
    write(os.path.join(out, "pth"), "sam_tiny_tinyvit.pth", blob)
    state = torch.load(io.BytesIO(blob), weights_only=True)
    write(os.path.join(out, "safetensors"), "sam_tiny_tinyvit.safetensors",
          safetensors_bytes({k: v.contiguous() for k, v in state.items()}, metadata={"img_size": "128"}))
    write(os.path.join(out, "config"), "sam_tiny_tinyvit.json",
          json.dumps(dict({k: list(v.shape) for k, v in state.items()}, __metadata__={"img_size": "128"})))
    # The suite's own checkpoint fixtures (small ones: header and pickle, little weight data).
    for name in sorted(os.listdir(FIXTURES)):
        path = os.path.join(FIXTURES, name)
        if not os.path.isfile(path) or os.path.getsize(path) > 16384:
            continue
        with open(path, "rb") as f:
            data = f.read()
        if name.endswith(".pth"):
            write(os.path.join(out, "pth"), name, data)
            write(os.path.join(out, "zip"), name, data)
        elif name.endswith(".safetensors"):
            write(os.path.join(out, "safetensors"), name, data)
    with open(os.path.join(FIXTURES, "rle_cases.json")) as f:
        for i, case in enumerate(json.load(f)["cases"]):
            rle = {"size": [case["height"], case["width"]], "counts": case["counts"]}
            write(os.path.join(out, "rle"), f"case{i:02d}.json", json.dumps(rle))
    write(os.path.join(out, "rle"), "uncompressed.json", json.dumps({"size": [2, 3], "counts": [1, 2, 3]}))
    for clip in sorted(os.listdir(os.path.join(ROOT, "Clips"))):
        boxes = os.path.join(ROOT, "Clips", clip, "boxes.json")
        if os.path.exists(boxes):
            with open(boxes) as f:
                objects = json.load(f)
            write(os.path.join(out, "objects"), clip + ".json", json.dumps(objects))
            prompts = {"objects": [
                {"id": o["id"], "name": o.get("name"), "keyframes": [
                    {"frame": 0, "box": o["box"]},
                    {"frame": 20, "points": [[o["box"][0] + 2, o["box"][1] + 2, 1], [1, 1, 0]]},
                    {"frame": 30, "mask": "object_30.png"},
                    {"frame": 45, "absent": True},
                    {"frame": 50, "box": o["box"], "points": [[o["box"][0] + 1, o["box"][1] + 1, 1]]},
                ]} for o in objects]}
            write(os.path.join(out, "prompts"), clip + ".json", json.dumps(prompts))
    for target in sorted(os.listdir(out)):
        print(f"{target}: {len(os.listdir(os.path.join(out, target)))} seeds")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "seeds"))
