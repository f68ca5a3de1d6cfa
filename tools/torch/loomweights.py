"""Loom's weights files (safetensors) from Python, without the safetensors
package: read and write F32 tensors and Loom's __metadata__.

    from loomweights import load, save
    tensors, metadata = load("model.safetensors")        # {name: torch.Tensor}, {key: str}
    save("model.safetensors", tensors, metadata)         # atomic, as Loom writes

As a command: `python3 tools/torch/loomweights.py FILE` lists a file's
tensors and metadata; `--to-f32 IN OUT` converts F16/BF16/F64 tensors (as
PyTorch may save them) to the F32 that Loom reads.
"""
import json
import os
import struct
import sys
import tempfile

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64}


def load(path):
    """Returns ({name: tensor}, {key: value}); checks the layout as Loom does."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} does not fit the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype) if end > begin \
            else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(entry["shape"]).clone()
    return tensors, dict(metadata)


def save(path, tensors, metadata=None):
    """Writes TENSORS (as F32, in the dict's order) and METADATA atomically."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in sorted(metadata.items())}
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".loomweights-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_model(path, module, architecture, metadata=None):
    """A twin's state_dict (without batch norms' counters) as a Loom weights
    file, its ARCHITECTURE dict in the metadata."""
    tensors = {k: v for k, v in module.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    meta = {"loom.architecture": json.dumps(architecture, separators=(",", ":"))}
    meta.update(metadata or {})
    save(path, tensors, meta)


def main(argv):
    if len(argv) == 4 and argv[1] == "--to-f32":
        tensors, metadata = load(argv[2])
        save(argv[3], tensors, metadata)
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tensors, metadata = load(argv[1])
    for k, v in metadata.items():
        print(f"{k}: {v}")
    for name, t in tensors.items():
        print(f"{name}: {list(t.shape)} {t.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
