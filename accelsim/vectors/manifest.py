"""Reading a manifest back: every field ``check`` uses is validated, and a missing or ill-typed one
is a one-line VectorsError naming the manifest and the field path."""
from __future__ import annotations

import hashlib
import json
import os

from accelsim.vectors.errors import VectorsError
from accelsim.vectors.hexfile import BIN_DTYPES, check_word_format

SCHEMAS = ("accelsim-vectors/1",)


def _get(obj, key, typ, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise VectorsError(f"{where}: missing field {key!r}")
    value = obj[key]
    ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
    if not ok:
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise VectorsError(f"{where}.{key}: expected {name}, got {type(value).__name__}")
    return value


MAX_MANIFEST_BYTES = 64 << 20    # a manifest of thousands of layers is a few MiB


def load(path: str) -> tuple[dict, str]:
    """(manifest, directory holding its files). Validates the fields ``check`` relies on."""
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.json")
    if os.path.exists(path) and not os.path.isfile(path):
        raise VectorsError(f"{path}: not a regular file (a manifest is a JSON file)")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise VectorsError(f"{path}: cannot read manifest: {exc.strerror or exc}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise VectorsError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB: not a manifest")
    try:
        m = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VectorsError(f"{path}: not a JSON manifest ({exc})") from None
    where = os.path.basename(path)
    schema = _get(m, "schema", str, where)
    if schema not in SCHEMAS:
        raise VectorsError(f"{where}.schema: unsupported {schema!r} (this accelsim reads {', '.join(SCHEMAS)})")
    _get(m, "format", str, where)
    layers = _get(m, "layers", list, where)
    if not layers:
        raise VectorsError(f"{where}.layers: empty")
    seen = set()
    for i, rec in enumerate(layers):
        lw = f"{where}.layers[{i}]"
        index = _get(rec, "index", int, lw)
        if index in seen:
            raise VectorsError(f"{lw}.index: layer {index} appears twice")
        seen.add(index)
        _get(rec, "name", str, lw)
        y = _get(_get(rec, "tensors", dict, lw), "y", dict, f"{lw}.tensors")
        tensor_fields(y, f"{lw}.tensors.y")
    return m, os.path.dirname(os.path.abspath(path))


def tensor_fields(t: dict, where: str) -> dict:
    """The validated fields of one tensor record."""
    shape = _get(t, "shape", list, where)
    if not all(isinstance(d, int) and d >= 1 for d in shape):
        raise VectorsError(f"{where}.shape: expected positive integers, got {shape}")
    count = _get(t, "count", int, where)
    n = 1
    for d in shape:
        n *= d
    if n != count:
        raise VectorsError(f"{where}.count: {count} does not match shape {shape}")
    bits = _get(t, "word_bits", int, where)
    signed = _get(t, "signed", bool, where)
    encoding = _get(t, "encoding", str, where)
    check_word_format(bits, signed, encoding, where)
    bin_dtype = _get(t, "bin_dtype", str, where)
    if bin_dtype not in BIN_DTYPES:
        raise VectorsError(f"{where}.bin_dtype: must be one of {sorted(BIN_DTYPES)}, got {bin_dtype!r}")
    files = {k: _get(t, k, str, where) for k in ("hex", "bin")}
    digests = _get(t, "sha256", dict, where)
    for rel in files.values():
        if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
            raise VectorsError(f"{where}: file {rel!r} must be a relative path inside the vectors directory")
        _get(digests, rel, str, f"{where}.sha256")
    return {"shape": shape, "count": count, "word_bits": bits, "signed": signed, "encoding": encoding,
            "bin_dtype": bin_dtype, "files": files, "sha256": digests}


def verify_file(base: str, rel: str, expected_sha256: str) -> bytes:
    """The file's bytes, after checking its SHA-256 against the manifest."""
    path = os.path.join(base, rel)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise VectorsError(f"{path}: cannot read expected vectors: {exc.strerror or exc}") from None
    got = hashlib.sha256(data).hexdigest()
    if got != expected_sha256:
        raise VectorsError(f"{path}: manifest checksum mismatch (sha256 {got[:16]}..., manifest says "
                           f"{expected_sha256[:16]}...): the expected vectors were modified")
    return data
