"""Read and write digit-rcnn flat tensor files (the layout is documented in
nn/tensor_file.h and docs/FORMATS.md). Used by the weight converters and by the
reference-dump scripts in tools/ref/. Needs only numpy; torch tensors are accepted."""
import json
import os
import struct

import numpy as np

MAGIC = b"DRTENSOR"
VERSION = 1
_DTYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "u8": np.uint8}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def _align64(x):
    return (x + 63) // 64 * 64


def _as_numpy(t):
    if hasattr(t, "detach"):  # torch.Tensor
        t = t.detach().cpu()
        if str(t.dtype) == "torch.bool":
            t = t.to(dtype=__import__("torch").uint8)
        t = t.contiguous().numpy()
    # ascontiguousarray turns 0-d arrays (torch scalars such as num_batches_tracked)
    # into shape (1,); keep the original shape.
    a = np.ascontiguousarray(t).reshape(np.shape(t))
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    if a.dtype not in _NAMES:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return a


def write(path, tensors, meta=None):
    """tensors: dict or list of (name, array/tensor) in the order to store them."""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    arrays = [(name, _as_numpy(t)) for name, t in items]
    entries, offset = [], 0
    for name, a in arrays:
        entries.append({"name": name, "dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "offset": offset, "nbytes": int(a.nbytes)})
        offset = _align64(offset + a.nbytes)
    header = json.dumps({"meta": meta or {}, "tensors": entries}).encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<IIQ", VERSION, 0, len(header)) + header)
        f.write(b"\0" * (_align64(24 + len(header)) - 24 - len(header)))
        for _, a in arrays:
            f.write(a.tobytes())
            f.write(b"\0" * (_align64(a.nbytes) - a.nbytes))
    os.replace(tmp, path)


def read(path):
    """Returns (meta, dict name -> numpy array) in file order."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or data[:8] != MAGIC:
        raise ValueError(f"{path}: not a digit-rcnn tensor file")
    version, _, hlen = struct.unpack("<IIQ", data[8:24])
    if version != VERSION:
        raise ValueError(f"{path}: version {version}, expected {VERSION}")
    header = json.loads(data[24:24 + hlen])
    start = _align64(24 + hlen)
    out = {}
    for e in header["tensors"]:
        lo = start + e["offset"]
        if lo + e["nbytes"] > len(data):
            raise ValueError(f"{path}: truncated in tensor {e['name']}")
        a = np.frombuffer(data[lo:lo + e["nbytes"]], dtype=_DTYPES[e["dtype"]])
        out[e["name"]] = a.reshape(e["shape"]).copy()
    return header.get("meta", {}), out
