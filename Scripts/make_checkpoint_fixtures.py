#!/usr/bin/env python3
"""Writes the checkpoint-I/O fixtures under Tests/TestSupport/Fixtures/ckpt_*.

Pinned: torch==2.15.0, numpy==2.4.6, safetensors==0.8.0 (Python 3, CPU only).
Repro:  /work/venv/sam/bin/python Scripts/make_checkpoint_fixtures.py
Seed:   torch.manual_seed(20240601)

Every fixture is real output of torch.save / safetensors, never hand-written bytes, except
the deliberately damaged ones (truncated, deflated, corrupt header), which are derived from
real files by one documented edit each. The malicious pickle is only ever written, never loaded.
"""
import io
import json
import os
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torch.nn as nn
import safetensors
from safetensors.torch import save_file

SEED = 20240601
OUT = Path(__file__).resolve().parent.parent / "Tests" / "TestSupport" / "Fixtures"
GENERATOR = (f"Scripts/make_checkpoint_fixtures.py torch=={torch.__version__.split('+')[0]} "
             f"numpy=={numpy.__version__} safetensors=={safetensors.__version__} seed={SEED}")


class Small(nn.Module):
    """One of each layer family a SAM state dict contains, plus BatchNorm for an int64 buffer."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 4)
        self.conv = nn.Conv2d(3, 5, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(4)
        self.bn = nn.BatchNorm2d(5)


def small_state():
    torch.manual_seed(SEED)
    m = Small()
    # Non-default running stats and a non-zero int64 counter, so a reader that skips them fails.
    with torch.no_grad():
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.num_batches_tracked.fill_(7)
        m.norm.weight.uniform_(0.5, 1.5)
        m.norm.bias.uniform_(-0.5, 0.5)
    sd = m.state_dict()
    base = torch.randn(3, 5)
    sd["extra.half"] = torch.randn(2, 3).half()
    sd["extra.bfloat16"] = torch.randn(4).bfloat16()
    sd["extra.double"] = torch.randn(2, 2, dtype=torch.float64)
    sd["extra.int32"] = torch.arange(-3, 3, dtype=torch.int32).reshape(2, 3)
    # Views share one storage: a transpose (non-contiguous strides) and a row slice
    # (non-zero storage offset), saved alongside their base.
    sd["extra.base"] = base
    sd["extra.transposed"] = base.t()
    sd["extra.rows"] = base[1:]
    sd["extra.column"] = base[:, 2]
    sd["extra.scalar"] = torch.tensor(2.5)
    sd["extra.parameter"] = nn.Parameter(torch.randn(3))
    return sd


def expected(sd):
    """Same values, contiguous float32: exact for every dtype used above."""
    return {k: v.detach().to(torch.float32).contiguous().clone() for k, v in sd.items()}


class RunsACommand:
    """A pickle that would call os.system on load: the reader must refuse it unread."""

    def __reduce__(self):
        return (os.system, ("echo this checkpoint ran code",))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"generator": GENERATOR}

    sd = small_state()
    torch.save(sd, OUT / "ckpt_small.pth")
    save_file(expected(sd), OUT / "ckpt_small_expected.safetensors", metadata=meta)

    # Some training scripts wrap the state dict: {"model": ..., "epoch": ...}.
    torch.save({"model": sd, "epoch": 3}, OUT / "ckpt_wrapped.pth")

    # torch < 1.6 format: a bare pickle stream, no zip.
    torch.save(sd, OUT / "ckpt_legacy.pth", _use_new_zipfile_serialization=False)

    torch.save({"weight": torch.zeros(2), "payload": RunsACommand()}, OUT / "ckpt_foreign_global.pth")

    # Truncated: the first 60% of a real checkpoint (as an interrupted download leaves it).
    raw = (OUT / "ckpt_small.pth").read_bytes()
    (OUT / "ckpt_truncated.pth").write_bytes(raw[: len(raw) * 6 // 10])

    # Deflated: the same archive re-zipped with compression, which torch.save never writes.
    src = zipfile.ZipFile(OUT / "ckpt_small.pth")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    (OUT / "ckpt_deflated.pth").write_bytes(buf.getvalue())

    # Every safetensors dtype the reader supports, each with its float32 expectation.
    torch.manual_seed(SEED + 1)
    f = torch.randn(2, 3)
    dtypes = {
        "f32": f,
        "f16": f.half(),
        "bf16": f.bfloat16(),
        "f64": f.double(),
        "i64": torch.tensor([[-(2**40), -1, 0], [1, 2**20, 12345]], dtype=torch.int64),
        "i32": torch.tensor([[-7, 0, 7], [100, -100, 2**30]], dtype=torch.int32),
        "u8": torch.tensor([[0, 1, 127], [128, 254, 255]], dtype=torch.uint8),
        "bool": torch.tensor([[True, False, True], [False, False, True]]),
    }
    tensors = dict(dtypes)
    tensors.update({f"expected.{k}": v.to(torch.float32).clone() for k, v in dtypes.items()})
    save_file(tensors, OUT / "ckpt_dtypes.safetensors", metadata=meta)

    # Corrupt header: the declared header length points past the end of the file.
    good = (OUT / "ckpt_dtypes.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", good[:8])
    (OUT / "ckpt_corrupt_header.safetensors").write_bytes(struct.pack("<Q", len(good) * 4) + good[8:])

    for p in sorted(OUT.glob("ckpt_*")):
        size = p.stat().st_size
        assert size < 100_000, f"{p.name} is {size} bytes"
        print(f"{p.name}: {size} bytes")


if __name__ == "__main__":
    main()
