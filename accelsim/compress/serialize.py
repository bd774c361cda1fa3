"""Save and load a ``CompressedGenerator`` exactly (``.npz``), in its compressed form where possible.

Per layer: the bias (float32 when exact, else float64); the weight either as its codes plus levels
(int / ternary / binary: ``weight = where(mask, codes * scale[channel], 0)``, recomputed on load
with the same function as the quantizer, so bit-identical), or as an array (float32 when exact, else
float64); codes (int8 / int16), masks (``np.packbits``). A JSON header holds the rest. Loading
returns an equal generator: same weights bit for bit, same encodings, same ``weight_bits``.
"""
from __future__ import annotations

import json

import numpy as np

from accelsim.compress.chain import CompressedGenerator, Layer
from accelsim.compress.qat import dequantize_codes
from accelsim.compress.storage import TensorEncoding
from accelsim.errors import ModelError

FORMAT_VERSION = 1


def _compact_float(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    f32 = a.astype(np.float32)
    return f32 if np.array_equal(f32.astype(np.float64), a) else a


def _compact_int(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.int64)
    for dt in (np.int8, np.int16, np.int32):
        if a.size == 0 or (a.min() >= np.iinfo(dt).min and a.max() <= np.iinfo(dt).max):
            return a.astype(dt)
    return a


def _decode_scaled(layer: Layer, enc: TensorEncoding) -> np.ndarray:
    values = dequantize_codes(enc.codes, enc.levels, layer.transposed)
    return values if enc.mask is None else np.where(enc.mask, values, 0.0)


def save(cg: CompressedGenerator, path: str, provenance: dict | None = None) -> None:
    """``provenance``: what produced it (``zoo.write_shipped``: recipe, training budget, code digest and
    their hash), kept in the header and read back by ``provenance``."""
    arrays, header = {}, {"version": FORMAT_VERSION, "model": cg.model, "steps": list(cg.steps), "fmt": cg.fmt,
                          "layers": []}
    if provenance is not None:
        header["provenance"] = provenance
    for layer in cg.layers:
        enc = cg.encodings[layer.name]
        entry = {"name": layer.name, "transposed": layer.transposed, "stride": layer.stride, "padding": layer.padding,
                 "act": layer.act, "shape": list(layer.weight.shape), "value_kind": enc.value_kind,
                 "value_bits": enc.value_bits, "side_bits": enc.side_bits, "sparse_format": enc.sparse_format,
                 "entropy": enc.entropy, "has_bias": layer.bias is not None, "has_mask": enc.mask is not None,
                 "has_codes": enc.codes is not None, "has_levels": enc.levels is not None,
                 "block": None if enc.block is None else list(enc.block)}
        key = layer.name
        if layer.bias is not None:
            arrays[f"{key}/bias"] = _compact_float(layer.bias)
        if enc.mask is not None:
            arrays[f"{key}/mask"] = np.packbits(np.asarray(enc.mask, bool).ravel())
        if enc.codes is not None:
            arrays[f"{key}/codes"] = _compact_int(enc.codes)
        if enc.levels is not None:
            arrays[f"{key}/levels"] = np.asarray(enc.levels)
        decodable = (enc.value_kind in ("int", "ternary", "binary") and enc.levels is not None
                     and np.array_equal(_decode_scaled(layer, enc), layer.weight))
        entry["weight_from_codes"] = bool(decodable)
        if not decodable:
            arrays[f"{key}/weight"] = _compact_float(layer.weight)
        header["layers"].append(entry)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)


def provenance(path: str) -> dict | None:
    """The provenance a file was saved with (None for files written without one)."""
    with np.load(path, allow_pickle=False) as f:
        return json.loads(bytes(f["header"]).decode()).get("provenance")


def load(path: str) -> CompressedGenerator:
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    header = json.loads(bytes(data["header"]).decode())
    if header.get("version") != FORMAT_VERSION:
        raise ModelError(f"{path}: unsupported format version {header.get('version')}")
    layers, encodings = [], {}
    for e in header["layers"]:
        key, shape = e["name"], tuple(e["shape"])
        mask = None
        if e["has_mask"]:
            mask = np.unpackbits(data[f"{key}/mask"], count=int(np.prod(shape))).astype(bool).reshape(shape)
        codes = data[f"{key}/codes"].astype(np.int64) if e["has_codes"] else None
        levels = data[f"{key}/levels"] if e["has_levels"] else None
        enc = TensorEncoding(shape, e["value_kind"], e["value_bits"], codes, e["side_bits"], mask, e["sparse_format"],
                             e["entropy"], levels, None if e.get("block") is None else tuple(e["block"]))
        bias = data[f"{key}/bias"].astype(np.float64) if e["has_bias"] else None
        stub = Layer(key, e["transposed"], e["stride"], e["padding"], e["act"], np.zeros(shape), bias)
        weight = _decode_scaled(stub, enc) if e["weight_from_codes"] else data[f"{key}/weight"].astype(np.float64)
        layers.append(Layer(key, e["transposed"], e["stride"], e["padding"], e["act"], weight, bias))
        encodings[key] = enc
    return CompressedGenerator(header["model"], tuple(layers), encodings, tuple(header["steps"]), header["fmt"])
