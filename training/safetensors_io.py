"""Minimal safetensors reader and writer (no safetensors package on Debian).

Format: 8-byte little-endian header length N, then N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw little-endian data.
Keys are written sorted, data in the same order, the header padded with spaces to a multiple of 8 bytes.
BF16 (no numpy dtype) travels as its raw 16-bit patterns.
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {
    torch.float32: ("F32", np.dtype("<f4")),
    torch.float16: ("F16", np.dtype("<f2")),
    torch.int64: ("I64", np.dtype("<i8")),
    torch.int32: ("I32", np.dtype("<i4")),
    torch.uint8: ("U8", np.dtype("u1")),
    torch.bfloat16: ("BF16", np.dtype("<i2")),  # raw bit patterns
}
_BY_NAME = {name: (dt, npdt) for dt, (name, npdt) in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """Write {name: tensor} to path; names sorted, data contiguous in that order."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _DTYPES:
            raise ValueError(f"unsupported dtype {t.dtype} for {name}")
        code, npdt = _DTYPES[t.dtype]
        if t.dtype == torch.bfloat16:
            t = t.view(torch.int16)
        data = t.numpy().astype(npdt, copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    meta = {"format": "pt"}
    if metadata:
        meta.update(metadata)
    header = {"__metadata__": meta, **header}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def load(path):
    """Read a safetensors file into {name: tensor}."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, npdt = _BY_NAME[info["dtype"]]
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[base + b:base + e], dtype=npdt).reshape(info["shape"])
        t = torch.from_numpy(arr.copy())
        out[name] = t.view(torch.bfloat16) if dt == torch.bfloat16 else t
    return out
