"""gguf_write.py — a small GGUF v3 writer for the default model (no gguf-py needed).

Layout: header (magic, version 3, tensor count, kv count), the key/values, the tensor infos
(name, dims with ne0 = the contiguous dimension first, type, offset from the data start), zero
padding to the alignment (32), then each tensor's bytes, each padded to 32. 2-D weights are
written F16, 1-D norms F32, as llama.cpp's converter does for a "mostly F16" file."""
import struct

import numpy as np

ALIGN = 32
T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _val(v):
    """(type, bytes) of a python value; ints are u32 unless wrapped as ('i32', [...])."""
    if isinstance(v, bool):
        return T_BOOL, struct.pack("<B", 1 if v else 0)
    if isinstance(v, int):
        return T_U32, struct.pack("<I", v)
    if isinstance(v, float):
        return T_F32, struct.pack("<f", v)
    if isinstance(v, str):
        return T_STR, _str(v)
    if isinstance(v, tuple) and v[0] == "i32":
        arr = np.asarray(v[1], dtype="<i4")
        return T_ARR, struct.pack("<IQ", T_I32, len(arr)) + arr.tobytes()
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return T_ARR, struct.pack("<IQ", T_STR, len(v)) + b"".join(_str(x) for x in v)
    raise TypeError("unsupported GGUF value %r" % (type(v),))


def write(path, kvs, tensors):
    """kvs: list of (key, value); tensors: list of (name, numpy array in C order). Arrays with
    ndim >= 2 are stored F16, others F32. GGUF dims are the numpy shape reversed."""
    out = bytearray()
    out += b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, v in kvs:
        t, b = _val(v)
        out += _str(k) + struct.pack("<I", t) + b
    blobs, off = [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype=np.float16 if a.ndim >= 2 else np.float32)
        typ = GGML_F16 if a.ndim >= 2 else GGML_F32
        out += _str(name) + struct.pack("<I", a.ndim)
        out += b"".join(struct.pack("<Q", d) for d in reversed(a.shape))
        out += struct.pack("<IQ", typ, off)
        blob = a.tobytes()
        pad = (-len(blob)) % ALIGN
        blobs.append(blob + b"\0" * pad)
        off += len(blob) + pad
    out += b"\0" * ((-len(out)) % ALIGN)
    with open(path, "wb") as f:
        f.write(out)
        for b in blobs:
            f.write(b)
