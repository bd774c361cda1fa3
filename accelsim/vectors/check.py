"""``accelsim vectors check``: a device's output dump against the expected outputs, bit for bit.

The dump is a hex file (``$readmemh`` format, the word width of the manifest) or a raw
little-endian binary (the manifest's ``bin_dtype``); a directory holds one file per layer, named like
the expected output (``layerK/y.hex`` or ``layerK/y.bin``) or flat (``layerK.hex`` or ``layerK.bin``).
Layers without a dump in the directory are listed as not dumped. The expected files are verified
against the manifest's SHA-256 before use. Bad input raises VectorsError (one line, naming the file).
"""
from __future__ import annotations

import os

import numpy as np

from accelsim.vectors import manifest as mf
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.hexfile import bin_to_words, read_bin, read_hex, words_to_values

HEX_SUFFIXES = (".hex", ".mem", ".txt")
ACTUAL_FORMATS = ("auto", "hex", "bin")


def _kind(path: str, actual_format: str) -> str:
    if actual_format != "auto":
        return actual_format
    ext = os.path.splitext(path)[1].lower()
    if ext == ".bin":
        return "bin"
    if ext in HEX_SUFFIXES:
        return "hex"
    raise VectorsError(f"{path}: cannot tell hex from raw binary by the name (use .hex or .bin, "
                       f"or give actual_format)")


def _select(layers: list[dict], layer) -> list[dict]:
    if layer is None or layer == "all":
        return layers
    for rec in layers:
        if str(rec["index"]) == str(layer) or rec["name"] == layer:
            return [rec]
    have = ", ".join(f"{r['index']} ({r['name']})" for r in layers)
    raise VectorsError(f"layer: {layer!r} is not in the manifest (it has layers {have})")


def _candidates(actual_dir: str, rec: dict) -> list[str]:
    y = rec["tensors"]["y"]
    names = [y["hex"], y["bin"], f"layer{rec['index']}.hex", f"layer{rec['index']}.bin"]
    return [os.path.join(actual_dir, n) for n in names if os.path.isfile(os.path.join(actual_dir, n))]


def _match(layers: list[dict], actual: str, layer) -> tuple[list[tuple[dict, str]], list[dict]]:
    chosen = _select(layers, layer)
    if os.path.isdir(actual):
        pairs, missing = [], []
        for rec in chosen:
            found = _candidates(actual, rec)
            if len(found) > 1:
                raise VectorsError(f"{actual}: layer {rec['index']} has several dumps ({', '.join(found)}): keep one")
            (pairs.append((rec, found[0])) if found else missing.append(rec))
        if not pairs:
            want = " or ".join(f"layer{r['index']}.hex/.bin" for r in chosen[:2])
            raise VectorsError(f"{actual}: no layer dump found (expected files named like {want}, "
                               f"or like the manifest's y files)")
        return pairs, missing
    if not os.path.exists(actual):
        raise VectorsError(f"actual: {actual}: no such file or directory")
    if len(chosen) != 1:
        raise VectorsError(f"actual: {actual} is one file but the manifest has {len(chosen)} layers: "
                           f"give the layer it holds (layer=K)")
    return [(chosen[0], actual)], []


def _compare_layer(rec: dict, base: str, actual_path: str, actual_format: str, max_report: int) -> dict:
    t = mf.tensor_fields(rec["tensors"]["y"], f"layers[{rec['index']}].tensors.y")
    bits, signed, enc, count = t["word_bits"], t["signed"], t["encoding"], t["count"]
    for rel in t["files"].values():
        mf.verify_file(base, rel, t["sha256"][rel])
    exp_path = os.path.join(base, t["files"]["bin"])
    expected = bin_to_words(read_bin(exp_path, t["bin_dtype"], count), bits, signed, enc, exp_path)
    if _kind(actual_path, actual_format) == "hex":
        got = read_hex(actual_path, bits, count)
    else:
        got = bin_to_words(read_bin(actual_path, t["bin_dtype"], count), bits, signed, enc, actual_path)
    bad = np.flatnonzero(expected != got)
    digits = (bits + 3) // 4
    exp_v, got_v = words_to_values(expected[bad[:max_report]], bits, signed, enc), \
        words_to_values(got[bad[:max_report]], bits, signed, enc)
    first = []
    for j, i in enumerate(bad[:max_report]):
        coords = np.unravel_index(int(i), t["shape"])
        names = ("n", "c", "y", "x") if len(coords) == 4 else tuple(f"d{k}" for k in range(len(coords)))
        first.append({"layer": rec["index"], "name": rec["name"], "element": int(i),
                      **{k: int(v) for k, v in zip(names, coords)},
                      "expected": int(exp_v[j]), "actual": int(got_v[j]),
                      "expected_word": f"{int(expected[i]):0{digits}x}", "actual_word": f"{int(got[i]):0{digits}x}"})
    return {"index": rec["index"], "name": rec["name"], "actual": actual_path, "expected": exp_path,
            "words": count, "word_bits": bits, "mismatches": int(bad.size), "first_mismatches": first}


def check_vectors(manifest_path: str, actual: str, layer=None, actual_format: str = "auto",
                  max_report: int = 10) -> dict:
    """Compare; returns a summary dict (``ok``, ``words_compared``, ``mismatches``, per-layer details,
    up to ``max_report`` first mismatches per layer with (n, c, y, x) coordinates)."""
    if actual_format not in ACTUAL_FORMATS:
        raise VectorsError(f"actual_format must be one of {ACTUAL_FORMATS}, got {actual_format!r}")
    if max_report < 0:
        raise VectorsError(f"max_report must be >= 0, got {max_report}")
    m, base = mf.load(manifest_path)
    pairs, missing = _match(m["layers"], actual, layer)
    results = [_compare_layer(rec, base, path, actual_format, max_report) for rec, path in pairs]
    total = sum(r["mismatches"] for r in results)
    model = m.get("model")   # informational only: not validated, so it may be anything
    name = model.get("name") if isinstance(model, dict) and isinstance(model.get("name"), str) else None
    return {"manifest": os.path.abspath(manifest_path), "format": m["format"],
            "model": name, "actual": os.path.abspath(actual),
            "ok": total == 0, "layers_compared": len(results), "words_compared": sum(r["words"] for r in results),
            "mismatches": total, "layers": results,
            "not_dumped": [{"index": r["index"], "name": r["name"]} for r in missing]}

