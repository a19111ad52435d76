"""Hand-made inputs for issue 17's root causes, written to Tests/TestSupport/Fixtures/fuzz/<target>/,
which the suite replays (FuzzRegressionTests) beside the crash inputs the fuzzer found.

Each file reproduces one class of crash the mutational fuzz run of the release binary hit:

  pickle/rc1_deep_tuples.pkl          50,000 nested TUPLE1 (stack overflow releasing them)
  zip/rc2_zip64_offset_max.pth        a ZIP64 local-header offset of 2^64-1 (overflow formatting the error)
  pth/rc3_zero_stride_65536.pth       a (65536, 65536) view with stride (0, 0) of one float (34 GB)
  pth/rc3_zero_stride_20000.pth       the same at 20000x20000 (4.7 GB, 14 s)
  config/rc4_*.json                   empty tensors sizing the model ([2^30, 0], [0, 2^62])
  config/rc5_*.json                   tensors of unexpected rank for every key inference reads
  config/rc6_*.json                   zero-width rel-pos, a 0x0 patch, heads wider than the embedding
  safetensors/wrong_length_0x80.safetensors  a valid file whose header length starts 0x80 0x02
  rle/huge_size.json, objects/*.json, prompts/*.json: sizes that overflow, boxes of 6 numbers, id 1.5

    .venv-scripts/bin/python Scripts/fuzz/make_regressions.py
"""
import io
import json
import os
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "TestSupport", "Fixtures", "fuzz")
sys.path.insert(0, HERE)


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


# --- pickle bytes by hand (protocol 2), as tests/NNTests/HostileInputBuilders.swift does ---
def p_unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(v):
    return b"J" + struct.pack("<i", v)


def p_global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_tensor(key, count, size, stride):
    pid = p_tuple([p_unicode("storage"), p_global("torch", "FloatStorage"), p_unicode(key), p_unicode("cpu"), p_int(count)])
    args = p_tuple([pid + b"Q", p_int(0), p_tuple([p_int(d) for d in size]), p_tuple([p_int(s) for s in stride]),
                    b"\x89", p_global("collections", "OrderedDict") + b")R"])
    return p_global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def p_state_dict(entries):
    return b"\x80\x02}(" + b"".join(p_unicode(k) + v for k, v in entries) + b"u."


def stored_zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buffer.getvalue()


def main():
    write("pickle", "rc1_deep_tuples.pkl", b"\x80\x02)" + b"\x85" * 50_000 + b".")

    # A central directory entry whose local-header offset is saturated, with a ZIP64 extra of 2^64-1.
    name = b"ckpt/data.pkl"
    body = b"\x80\x02N."
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, len(body), len(body), len(name), 0) + name + body
    extra = struct.pack("<HHQ", 1, 8, 2**64 - 1)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, len(body), len(body), len(name),
                          len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    write("zip", "rc2_zip64_offset_max.pth", local + central + eocd)

    one_float = struct.pack("<f", 1.0)
    for side in (65536, 20000):
        pkl = p_state_dict([("w", p_tensor("0", 1, [side, side], [0, 0]))])
        write("pth", f"rc3_zero_stride_{side}.pth", stored_zip([("ckpt/data.pkl", pkl), ("ckpt/data/0", one_float)]))
    pkl = p_state_dict([(f"w{i}", p_tensor("0", 4, [4], [1])) for i in range(300)])
    write("pth", "rc3_many_views_of_one_storage.pth",
          stored_zip([("ckpt/data.pkl", pkl), ("ckpt/data/0", one_float * 4)]))

    # Shape tables: the micro SAM of make_seeds.py (official code) with one shape changed.
    import make_seeds
    base = make_seeds.shapes(make_seeds.micro_vit())
    cases = {
        "rc4_empty_head_2p30x0": ("mask_decoder.iou_prediction_head.layers.0.weight", [2**30, 0]),
        "rc4_empty_head_0x2p62": ("mask_decoder.iou_prediction_head.layers.0.weight", [0, 2**62]),
        "rc5_no_mask_embed_1d": ("prompt_encoder.no_mask_embed.weight", [16]),
        "rc5_iou_token_1d": ("mask_decoder.iou_token.weight", [16]),
        "rc5_pos_embed_1d": ("image_encoder.pos_embed", [4]),
        "rc5_rel_pos_h_1d": ("image_encoder.blocks.0.attn.rel_pos_h", [3]),
        "rc5_mask_tokens_scalar": ("mask_decoder.mask_tokens.weight", []),
        "rc5_neck_scalar": ("image_encoder.neck.0.weight", []),
        "rc6_rel_pos_7x0": ("image_encoder.blocks.0.attn.rel_pos_h", [7, 0]),
        "rc6_patch_0x0": ("image_encoder.patch_embed.proj.weight", [16, 3, 0, 0]),
        "rc6_embed_width_0": ("image_encoder.patch_embed.proj.weight", [0, 3, 8, 8]),
        "rc6_rel_pos_wider_than_embed": ("image_encoder.blocks.0.attn.rel_pos_h", [3, 64]),
        "rc4_inflated_iou_head": ("mask_decoder.iou_prediction_head.layers.0.weight", [2**17, 16]),
    }
    for name, (key, shape) in cases.items():
        assert key in base, key
        write("config", name + ".json", json.dumps(dict(base, **{key: shape})))
    write("config", "img_size_huge.json", json.dumps(dict(base, __metadata__={"img_size": "100000"})))

    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    header += " " * (0x280 - len(header))
    write("safetensors", "wrong_length_0x80.safetensors", struct.pack("<Q", len(header)) + header.encode() + one_float)
    write("safetensors", "empty_dims.safetensors", struct.pack("<Q", 2) + b"{}")

    write("rle", "huge_size.json", json.dumps({"size": [2**40, 2**40], "counts": [0]}))
    write("rle", "size_overflow.json", json.dumps({"size": [2**62, 4], "counts": "0"}))
    write("objects", "six_number_box.json", json.dumps([{"id": 1, "box": [1, 2, 10, 12, 5, 6]}]))
    write("objects", "fractional_id.json", json.dumps([{"id": 1.5, "box": [1, 2, 10, 12]}]))
    write("prompts", "fractional_id.json", json.dumps({"objects": [{"id": 1.5, "keyframes": [{"frame": 0, "box": [1, 2, 3, 4]}]}]}))
    write("prompts", "deep_nesting.json", "[" * 10_000 + "]" * 10_000)
    write("objects", "deep_nesting.json", "[" * 10_000 + "]" * 10_000)
    for target in sorted(os.listdir(OUT)):
        print(f"{target}: {len(os.listdir(os.path.join(OUT, target)))} files")


if __name__ == "__main__":
    main()
