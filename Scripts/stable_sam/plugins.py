"""Stable-SAM's Deformable Sampling Plugin (DSP) and Dynamic Routing Plugin (DRP), attached to the
official `segment_anything.modeling.transformer.TwoWayAttentionBlock` of a mask decoder's block 2
(`transformer.layers.1`) with forward hooks: SAM's code and state_dict keys stay untouched.

The hooks change only block 2's token->image attention: a pre-hook on `cross_attn_token_to_image`
replaces its `k` and `v` with the plugin's features; the block's image->token attention still reads
the original keys. Inputs the attention call does not carry come from other hooks: the queries after
`norm1` (a forward hook), the keys' positional encoding (a pre-hook on the block), the grid size
(a pre-hook on the transformer).

Plugin file (safetensors, float32), read by Sources/SegmentAnything/PluginFile.swift:
  dsp.proj.weight [C, C, 1, 1], dsp.proj.bias [C]            1x1 conv, identity init
  dsp.offset.0.weight [C, 1, 5, 5], dsp.offset.0.bias [C]    depthwise 5x5, pad 2
  dsp.offset.1.weight [C], dsp.offset.1.bias [C]             LayerNorm over channels (LayerNorm2d, eps 1e-6)
  dsp.offset.3.weight [2, C, 1, 1]                           1x1 conv C->2, no bias, zero init (offset.2 = GELU)
  drp.mlp.0.weight [C/8, C], drp.mlp.0.bias [C/8]            Linear
  drp.mlp.1.weight [C/8], drp.mlp.1.bias [C/8]               LayerNorm (eps 1e-5)
  drp.mlp.3.weight [2, C/8], drp.mlp.3.bias [2]              Linear, zero init (mlp.2 = GELU)
metadata: format "stable-sam-plugin/1", transformer_dim, options (JSON: key_pe, offset_scale,
route_token), base_model, base_decoder_fingerprint, provenance (JSON), parameter_count.
"""

import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.transformer import TwoWayAttentionBlock

FILE_FORMAT = "stable-sam-plugin/1"
ROUTES = ("auto", "deformable", "regular")
ROUTE_TOKENS = {"iou": 0, "mask0": 1}  # positions in the decoder's tokens [iou, mask 0..3, prompt...]
KEY_PES = ("grid", "deformed")


@dataclass
class Options:
    """The [ours] choices of STABLE_SAM.md, stored in every plugin file."""
    offset_scale: float = 8.0   # d = offset_scale * tanh(raw), in feature-grid cells
    route_token: str = "mask0"  # token fed to the DRP: "mask0" or "iou"
    key_pe: str = "grid"        # PE of deformed keys: "grid" (at p) or "deformed" (at p + d, route-mixed)

    def __post_init__(self):
        assert self.route_token in ROUTE_TOKENS, f"route_token must be one of {list(ROUTE_TOKENS)}"
        assert self.key_pe in KEY_PES, f"key_pe must be one of {KEY_PES}"
        self.offset_scale = float(self.offset_scale)


class DeformableSamplingPlugin(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Conv2d(c, c, 1)
        self.offset = nn.Sequential(nn.Conv2d(c, c, 5, padding=2, groups=c), LayerNorm2d(c), nn.GELU(),
                                    nn.Conv2d(c, 2, 1, bias=False))
        with torch.no_grad():
            self.proj.weight.copy_(torch.eye(c)[:, :, None, None])
            self.proj.bias.zero_()
            self.offset[3].weight.zero_()

    def forward(self, x, offset_scale):
        """x [B, C, H, W] -> (sample [B, C, H, W], offsets [B, 2, H, W] as (dx, dy) in cells)."""
        _, _, h, w = x.shape
        xs = self.proj(x)
        d = offset_scale * torch.tanh(self.offset(xs))
        # p + d on the normalised grid linspace(-1, 1, n), align_corners=True: one cell = 2 / (n - 1).
        gx = torch.linspace(-1, 1, w, device=x.device)[None, None, :] + d[:, 0] * (2 / (w - 1))
        gy = torch.linspace(-1, 1, h, device=x.device)[None, :, None] + d[:, 1] * (2 / (h - 1))
        grid = torch.stack([gx, gy], dim=-1)
        return F.grid_sample(xs, grid, mode="bilinear", padding_mode="zeros", align_corners=True), d


class DynamicRoutingPlugin(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(c, c // 8), nn.LayerNorm(c // 8), nn.GELU(), nn.Linear(c // 8, 2))
        with torch.no_grad():  # a = (0.5, 0.5) exactly, so 0.5 s + 0.5 x == x while s == x
            self.mlp[3].weight.zero_()
            self.mlp[3].bias.zero_()

    def forward(self, token):
        """token [B, C] -> route [B, 2] = (a1 deformed, a2 regular)."""
        return self.mlp(token).softmax(dim=-1)


class StableSAMPlugin(nn.Module):
    """DSP + DRP. `attach(sam)` hooks them into `sam.mask_decoder.transformer.layers[1]`."""

    def __init__(self, c, options=None):
        super().__init__()
        assert c % 8 == 0
        self.options = options or Options()
        self.dsp = DeformableSamplingPlugin(c)
        self.drp = DynamicRoutingPlugin(c)
        self.route = "auto"
        self.last = {}        # last call's stages: offsets, sample, values, route
        self._ctx = {}
        self._handles = []
        self._pe_layer = None

    def attach(self, sam):
        self.detach()
        block = sam.mask_decoder.transformer.layers[1]
        assert isinstance(block, TwoWayAttentionBlock), "Stable-SAM's plugins live in block 2 of a TwoWayTransformer"
        self._pe_layer = [sam.prompt_encoder.pe_layer]  # a list, so it is not registered as a submodule
        self._handles = [
            sam.mask_decoder.transformer.register_forward_pre_hook(self._grid_hook),
            block.register_forward_pre_hook(self._block_hook, with_kwargs=True),
            block.norm1.register_forward_hook(self._norm1_hook),
            block.cross_attn_token_to_image.register_forward_pre_hook(self._attention_hook, with_kwargs=True),
        ]
        return self

    def detach(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def _grid_hook(self, module, args):
        self._ctx["grid"] = tuple(args[0].shape[-2:])  # image_embedding [B, C, H, W]

    def _block_hook(self, module, args, kwargs):
        self._ctx["key_pe"] = kwargs["key_pe"] if "key_pe" in kwargs else args[3]

    def _norm1_hook(self, module, args, output):
        self._ctx["queries"] = output

    def _attention_hook(self, module, args, kwargs):
        q, keys, key_pe = kwargs["q"], kwargs["v"], self._ctx["key_pe"]
        values, pe = self.features(self._ctx["queries"], keys, key_pe, self._ctx["grid"])
        return args, dict(q=q, k=values + pe, v=values)

    def features(self, queries, keys, key_pe, grid):
        """queries [B, Nt, C] after norm1; keys, key_pe [B, HW, C] -> (values, their PE)."""
        b, hw, c = keys.shape
        h, w = grid
        if self.route == "regular":
            self.last = dict(route=keys.new_tensor([[0.0, 1.0]]).repeat(b, 1))
            return keys, key_pe
        x = keys.transpose(1, 2).reshape(b, c, h, w)
        sample, d = self.dsp(x, self.options.offset_scale)
        if self.route == "auto":
            a = self.drp(queries[:, ROUTE_TOKENS[self.options.route_token]])
        else:
            a = keys.new_tensor([[1.0, 0.0]]).repeat(b, 1)
        a1, a2 = a[:, 0, None, None], a[:, 1, None, None]
        deformed = sample.reshape(b, c, hw).transpose(1, 2)
        values = a1 * deformed + a2 * keys
        pe = key_pe
        if self.options.key_pe == "deformed":
            j = torch.arange(w, dtype=torch.float32, device=keys.device)[None, None, :]
            i = torch.arange(h, dtype=torch.float32, device=keys.device)[None, :, None]
            coords = torch.stack([((j + d[:, 0]) + 0.5) / w, ((i + d[:, 1]) + 0.5) / h], dim=-1)
            pe_d = self._pe_layer[0]._pe_encoding(coords).reshape(b, hw, c)
            pe = a1 * pe_d + a2 * key_pe
        self.last = dict(offsets=d, sample=sample, values=values, route=a)
        return values, pe


def decoder_fingerprint(mask_decoder):
    """FNV-1a 64 over, per parameter in sorted key order: key UTF-8, each dim as 8 bytes LE, then
    sum(bits(v_i) * (i + 1)) mod 2^64 as 8 bytes LE (bits = float32 pattern). 16 hex digits; the same
    as Swift's MaskDecoder.fingerprint(). Not cryptographic: it tells bases apart."""
    h, mask, prime = 0xCBF29CE484222325, (1 << 64) - 1, 0x100000001B3

    def eat(data):
        nonlocal h
        for byte in data:
            h = ((h ^ byte) * prime) & mask

    sd = mask_decoder.state_dict()
    for key in sorted(sd):
        t = sd[key].detach().to(torch.float32).contiguous().cpu().numpy()
        eat(key.encode())
        for dim in t.shape:
            eat(int(dim).to_bytes(8, "little"))
        bits = t.reshape(-1).view(np.uint32).astype(np.uint64)
        s = int((bits * np.arange(1, bits.size + 1, dtype=np.uint64)).sum(dtype=np.uint64))
        eat(s.to_bytes(8, "little"))
    return f"{h:016x}"


def save_plugin(plugin, path, base_decoder, base_model, provenance):
    """Writes `plugin` as a file Swift's StableSAMPlugin.load reads (keys and metadata above)."""
    tensors = {k: v.detach().to(torch.float32).contiguous().cpu() for k, v in plugin.state_dict().items()}
    c = tensors["dsp.proj.bias"].shape[0]
    meta = {
        "format": FILE_FORMAT,
        "transformer_dim": str(c),
        "options": json.dumps(asdict(plugin.options), sort_keys=True, separators=(",", ":")),
        "base_model": base_model,
        "base_decoder_fingerprint": decoder_fingerprint(base_decoder),
        "provenance": json.dumps(provenance, sort_keys=True, separators=(",", ":")),
        "parameter_count": str(sum(t.numel() for t in tensors.values())),
    }
    save_file(tensors, str(path), metadata=meta)
    _sort_header(path)


def _sort_header(path):
    """safetensors writes __metadata__ in hash-map order; re-emit the JSON header with sorted keys so
    the same plugin always gives the same bytes (data offsets are relative, so they still hold)."""
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n:])


def load_plugin(path, sam=None):
    """Reads a plugin file; with `sam`, checks its width and base fingerprint and attaches it."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert meta.get("format") == FILE_FORMAT, f"{path} is not a Stable-SAM plugin file"
    c = int(meta["transformer_dim"])
    plugin = StableSAMPlugin(c, Options(**json.loads(meta["options"])))
    plugin.load_state_dict(tensors, strict=True)
    if sam is not None:
        width = sam.mask_decoder.transformer_dim
        assert width == c, f"{path} is a plugin for a {c}-wide decoder, this decoder is {width} wide"
        fp = decoder_fingerprint(sam.mask_decoder)
        assert meta.get("base_decoder_fingerprint") in ("", None, fp), \
            f"{path} was trained on {meta.get('base_model')} ({meta['base_decoder_fingerprint']}), this decoder is {fp}"
        plugin.attach(sam)
    return plugin, meta
