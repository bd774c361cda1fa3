"""Fuzz the golden-vector readers (accelsim.vectors: hexfile.read_hex / read_bin, manifest.load,
check_vectors) on mutated files of a real export (int4, int16, binary and flex16 vectors, made once
in a temporary directory).

Three kinds of input:
* ``hex``: the expected-output hex file, mutated either in ways that keep its meaning (comments,
  ``/* */`` blocks, case, leading zeros, underscores, CRLF, tabs, several words per line), in ways
  that must be refused (a word missing or extra, ``@addr``, ``x`` digits, ``0x``, a word too wide,
  an unterminated comment, non-ASCII), or by splicing fuzzer bytes. ``read_hex`` must return exactly
  the original words / refuse / do either, and its fast path must agree with the careful one.
* ``dump``: a device dump (raw binary or hex) with flipped bytes, truncated or extended: ``check_vectors``
  must count exactly the changed words, or refuse with a message naming the dump.
* ``manifest``: the JSON manifest with keys deleted, retyped or added: ``check_vectors`` must compare
  (0 mismatches: the dump is the expected output itself) or refuse with a one-line VectorsError.
Any other exception, a multi-line message or a wrong count is a finding.

usage: python tools/fuzz/fuzz_vectors.py --seconds 120     (summary: fuzz-out/vectors/summary.json)
"""
from __future__ import annotations

import copy
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import COUNTS, Finding, main  # noqa: E402

TMP = tempfile.mkdtemp(prefix="accelsim-fuzz-vectors-")   # under TMPDIR: the harness's scratch directory
EXPORTS: list[dict] = []   # {"dir", "manifest", "rec", "y": tensor record, "hex": text, "bin": bytes}
VALUES = [None, True, 0, -1, 1, 2 ** 64, 1.5, float("nan"), "", "x", "../etc/passwd", "/abs", [], [0], [1, 2],
          {}, {"a": 1}, "int", "sign", "packed", "uint64", "accelsim-vectors/2", 64, 65, 4, 1 << 40]


def setup() -> None:
    from accelsim.vectors import export_vectors
    from accelsim.vectors import check as _check  # noqa: F401
    for fmt, layer in (("int4", 3), ("int16", 3), ("binary", 1), ("flex16", 3)):
        out = os.path.join(TMP, fmt)
        m = export_vectors(out, fmt=fmt, layer=str(layer))
        rec = m["layers"][0]
        y = rec["tensors"]["y"]
        with open(os.path.join(out, y["hex"])) as f:
            hex_text = f.read()
        with open(os.path.join(out, y["bin"]), "rb") as f:
            raw = f.read()
        EXPORTS.append({"dir": out, "manifest": m, "rec": rec, "y": y, "hex": hex_text, "bin": raw})


def one_line(exc: Exception, *names: str) -> None:
    msg = str(exc)
    if not msg or "\n" in msg:
        raise Finding("multi-line-error", repr(msg[:200]), f"multi-line {msg[:40]!r}")
    if names and not any(n in msg for n in names):
        raise Finding("unnamed", f"message names none of {names}: {msg[:200]}",
                      f"unnamed: {''.join(c for c in msg if not c.isdigit())[:60]}")


def _hex_mutation(fdp, text: str, bits: int):
    """(new text, same): same True = meaning kept, False = must be refused, None = unknown."""
    lines = text.split("\n")
    data = [i for i, ln in enumerate(lines) if ln and not ln.startswith("//")]
    i = data[fdp.ConsumeIntInRange(0, len(data) - 1)]
    op = fdp.ConsumeIntInRange(0, 17)
    word = lines[i]
    if op == 0:
        lines.insert(i, "// a comment 0x12 @0 xz")
    elif op == 1:
        lines[i] = word + " /* x @3 */"
    elif op == 2:
        lines[i] = "/* multi\nline 0x1 */ " + word
    elif op == 3:
        lines[i] = word.upper()
    elif op == 4:
        lines[i] = "0" * fdp.ConsumeIntInRange(1, 40) + word
    elif op == 5 and len(word) > 1:
        lines[i] = word[0] + "_" + word[1:]
    elif op == 6:
        return "\r\n".join(lines), True
    elif op == 7 and i + 1 < len(lines) and lines[i + 1]:
        lines[i] = "\t" + word + "  " + lines.pop(i + 1) + " "
    elif op == 8:
        del lines[i]
        return "\n".join(lines), False
    elif op == 9:
        lines.insert(i, word)
        return "\n".join(lines), False
    elif op == 10:
        lines.insert(i, "@" + word)
        return "\n".join(lines), False
    elif op == 11:
        lines[i] = "x" + word[1:]
        return "\n".join(lines), False
    elif op == 12:
        lines[i] = "0x" + word
        return "\n".join(lines), False
    elif op == 13:
        lines[i] = f"{1 << bits:x}" if bits < 64 else "1" + "0" * 16
        return "\n".join(lines), False
    elif op == 14:
        lines[i] = word + " /* never closed"
        return "\n".join(lines), False
    elif op == 15:
        lines[i] = word + "\u00e9"
        return "\n".join(lines), False
    elif op == 16:
        lines[i] = word + "g"
        return "\n".join(lines), False
    else:
        pos = fdp.ConsumeIntInRange(0, len(text))
        return text[:pos] + fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 16)) + text[pos:], None
    return "\n".join(lines), True


def fuzz_hex(fdp, ex: dict) -> None:
    from accelsim.vectors import VectorsError, hexfile
    y = ex["y"]
    bits, count = y["word_bits"], y["count"]
    text, same = _hex_mutation(fdp, ex["hex"], bits)
    path = os.path.join(TMP, "mutated.hex")
    raw = text.encode("utf-8", "surrogatepass")
    with open(path, "wb") as f:
        f.write(raw)
    try:
        got = hexfile.read_hex(path, bits, count)
    except VectorsError as exc:
        one_line(exc, path)
        if same is True:
            raise Finding("wrong-refusal", f"{y['hex']}: a meaning-preserving edit was refused: {exc}", "refused same")
        COUNTS["hex: refused"] += 1
        return
    if same is False:
        raise Finding("wrong-accept", f"{y['hex']}: a broken file was accepted", "accepted broken")
    if got.dtype != np.uint64 or got.shape != (count,) or (bits < 64 and got.size and int(got.max()) >> bits):
        raise Finding("wrong-answer", f"read_hex returned {got.dtype} {got.shape}", "bad words shape")
    if same is True:
        ref = hexfile.read_hex(os.path.join(ex["dir"], y["hex"]), bits, count)
        if not np.array_equal(got, ref):
            raise Finding("wrong-answer", f"{y['hex']}: a meaning-preserving edit changed the words", "changed words")
    try:
        fast = hexfile._read_hex_fast(raw.decode("ascii"), bits, count)
    except UnicodeDecodeError:
        fast = None
    if fast is not None and not np.array_equal(fast, got):
        raise Finding("wrong-answer", "the fast hex path disagrees with the careful one", "fast != careful")
    COUNTS["hex: read"] += 1


def fuzz_dump(fdp, ex: dict) -> None:
    from accelsim.vectors import VectorsError, check_vectors
    from accelsim.vectors.hexfile import BIN_DTYPES, value_range
    y, rec = ex["y"], ex["rec"]
    raw = bytearray(ex["bin"])
    dt = np.dtype(BIN_DTYPES[y["bin_dtype"]])
    op = fdp.ConsumeIntInRange(0, 3)
    if op == 0 and raw:
        for _ in range(fdp.ConsumeIntInRange(1, 8)):
            raw[fdp.ConsumeIntInRange(0, len(raw) - 1)] ^= 1 << fdp.ConsumeIntInRange(0, 7)
    elif op == 1:
        raw = raw[:fdp.ConsumeIntInRange(0, len(raw))]
    elif op == 2:
        raw += fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 9))
    path = os.path.join(TMP, f"layer{rec['index']}.bin")
    with open(path, "wb") as f:
        f.write(bytes(raw))
    expect_error = len(raw) != len(ex["bin"])
    changed = 0
    if not expect_error:
        new = np.frombuffer(bytes(raw), dt).astype(np.int64 if dt.kind == "i" else np.uint64)
        old = np.frombuffer(ex["bin"], dt).astype(new.dtype)
        lo, hi = value_range(y["word_bits"], y["signed"], y["encoding"])
        diff = new != old
        bad = diff & ((new < lo) | (new > hi) | ((new == 0) if y["encoding"] == "sign" else False))
        expect_error = bool(bad.any())
        changed = int(diff.sum())
    try:
        r = check_vectors(os.path.join(ex["dir"], "manifest.json"), path, layer=str(rec["index"]))
    except VectorsError as exc:
        one_line(exc, path)
        if not expect_error:
            raise Finding("wrong-refusal", f"dump refused: {exc}", "dump refused") from None
        COUNTS["dump: refused"] += 1
        return
    if expect_error:
        raise Finding("wrong-accept", "a dump of the wrong size or with out-of-range values was accepted",
                      "dump accepted")
    if r["mismatches"] != changed:
        raise Finding("wrong-answer", f"check counted {r['mismatches']} mismatches, {changed} words differ", "count")
    COUNTS["dump: compared"] += 1


def fuzz_manifest(fdp, ex: dict) -> None:
    from accelsim.vectors import VectorsError, check_vectors
    m = copy.deepcopy(ex["manifest"])
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        node, path = m, ["manifest"]
        while isinstance(node, (dict, list)) and node and fdp.ConsumeIntInRange(0, 2):
            key = list(node)[fdp.ConsumeIntInRange(0, len(node) - 1)] if isinstance(node, dict) else \
                fdp.ConsumeIntInRange(0, len(node) - 1)
            if not isinstance(node[key], (dict, list)):
                break
            node, path = node[key], path + [key]
        if isinstance(node, dict) and node:
            key = list(node)[fdp.ConsumeIntInRange(0, len(node) - 1)]
            op = fdp.ConsumeIntInRange(0, 2)
            if op == 0:
                del node[key]
            elif op == 1:
                node[key] = copy.deepcopy(fdp.PickValueInList(VALUES))
            else:
                node[str(key) + "_x"] = node.pop(key)
        elif isinstance(node, list) and node:
            node[fdp.ConsumeIntInRange(0, len(node) - 1)] = copy.deepcopy(fdp.PickValueInList(VALUES))
    name = "manifest-fuzz.json"
    mpath = os.path.join(ex["dir"], name)
    text = json.dumps(m) if fdp.ConsumeIntInRange(0, 9) else json.dumps(m)[:fdp.ConsumeIntInRange(0, 200)]
    with open(mpath, "w") as f:
        f.write(text)
    actual = os.path.join(ex["dir"], ex["y"]["bin"])
    try:
        r = check_vectors(mpath, actual, layer=fdp.PickValueInList([None, str(ex["rec"]["index"]), "all", "7"]))
    except VectorsError as exc:
        one_line(exc, name, actual, "--layer", "--actual", ex["dir"])
        COUNTS["manifest: refused"] += 1
        return
    if not r["ok"]:
        COUNTS["manifest: compared with mismatches (mutated shape/format fields)"] += 1
    else:
        COUNTS["manifest: compared, equal"] += 1


def check(data: bytes) -> None:
    import atheris
    fdp = atheris.FuzzedDataProvider(data)
    ex = EXPORTS[fdp.ConsumeIntInRange(0, len(EXPORTS) - 1)]
    which = fdp.ConsumeIntInRange(0, 2)
    try:
        (fuzz_hex, fuzz_dump, fuzz_manifest)[which](fdp, ex)
    except Finding:
        raise
    except Exception as exc:  # noqa: BLE001
        raise Finding("unclean-exception", f"{('hex', 'dump', 'manifest')[which]}: {type(exc).__name__}: "
                      f"{str(exc)[:200]}", f"{type(exc).__name__}: {str(exc)[:50]}") from exc


if __name__ == "__main__":
    sys.exit(main("vectors", setup, check))
