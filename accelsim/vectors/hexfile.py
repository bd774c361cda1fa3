"""Words on disk: ``$readmemh`` hex files and raw little-endian binaries (layouts: ``accelsim.vectors``).

A *word* is the bit pattern a testbench stores in one memory entry (``word_bits`` wide); a *value*
is the integer it stands for. Encodings:

* ``int``: two's complement when ``signed`` (``word = value mod 2^bits``), plain binary otherwise;
* ``sign``: a binary activation, 1 bit, ``word 1 = +1``, ``word 0 = -1``;
* ``packed``: the word is the value (unsigned, up to 64 bits): packed weight bits.

Hex files: ``//`` header comments, then one word per line, ``ceil(bits / 4)`` lower-case digits,
no ``0x``. The reader accepts what ``$readmemh`` accepts for data: whitespace-separated words,
``//`` and ``/* */`` comments, ``_`` inside a word; it rejects ``@address`` directives, ``x``/``z``
digits, non-hex characters, words wider than ``bits``, and a word count other than the expected one.
Raw binaries hold the *values* in the C ABI's container type (``bin_dtype``), little-endian.
"""
from __future__ import annotations

import os
import re

import numpy as np

from accelsim.vectors.errors import VectorsError

ENCODINGS = ("int", "sign", "packed")
BIN_DTYPES = {"int8": "<i1", "uint8": "<u1", "int16": "<i2", "uint16": "<u2", "int32": "<i4",
              "int64": "<i8", "uint64": "<u8"}
_HEX = frozenset("0123456789abcdefABCDEF")


def check_word_format(bits: int, signed: bool, encoding: str, where: str) -> None:
    if encoding not in ENCODINGS:
        raise VectorsError(f"{where}: encoding must be one of {ENCODINGS}, got {encoding!r}")
    if not isinstance(bits, int) or not 1 <= bits <= 64:
        raise VectorsError(f"{where}: word_bits must be an integer in [1, 64], got {bits!r}")
    if encoding == "sign" and (bits != 1 or signed):
        raise VectorsError(f"{where}: a 'sign' tensor has 1-bit unsigned words")


def value_range(bits: int, signed: bool, encoding: str) -> tuple[int, int]:
    """Smallest and largest value a word can stand for (``sign``: -1 and +1)."""
    if encoding == "sign":
        return -1, 1
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def values_to_words(values: np.ndarray, bits: int, signed: bool, encoding: str) -> np.ndarray:
    """Values -> words (uint64). Raises VectorsError if a value does not fit the word."""
    v = np.asarray(values).ravel()
    lo, hi = value_range(bits, signed, encoding)
    if v.size and (int(v.min()) < lo or int(v.max()) > hi):
        bad = int(v.min()) if int(v.min()) < lo else int(v.max())
        raise VectorsError(f"value {bad} does not fit a {bits}-bit {'signed' if signed else 'unsigned'} word")
    if encoding == "sign":
        if v.size and (v == 0).any():
            raise VectorsError("a binary activation must be -1 or +1, got 0")
        return (v > 0).astype(np.uint64)
    mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    if v.dtype.kind == "u":
        return v.astype(np.uint64) & mask
    return v.astype(np.int64).view(np.uint64) & mask


def words_to_values(words: np.ndarray, bits: int, signed: bool, encoding: str) -> np.ndarray:
    """Words (uint64) -> values (int64; uint64 for unsigned 64-bit words)."""
    w = np.asarray(words, dtype=np.uint64)
    if encoding == "sign":
        return np.where(w == 1, 1, -1).astype(np.int64)
    if not signed:
        return w if bits == 64 else w.astype(np.int64)
    if bits == 64:
        return w.view(np.int64)
    top = (w >> np.uint64(bits - 1)) & np.uint64(1)
    return w.astype(np.int64) - (top.astype(np.int64) << bits)


def hex_text(words: np.ndarray, bits: int, header: list[str]) -> str:
    digits = (bits + 3) // 4
    lines = [f"// {h}" for h in header]
    lines += [f"{int(w):0{digits}x}" for w in np.asarray(words, dtype=np.uint64).ravel()]
    return "\n".join(lines) + "\n"


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise VectorsError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _tokens(text: str, path: str):
    """(line number, token) of every data word, comments removed."""
    in_block = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        i, out = 0, []
        while i < len(line):
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    break
                in_block, i = False, end + 2
                out.append(" ")
            elif line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                in_block, i = True, i + 2
                out.append(" ")
            else:
                out.append(line[i])
                i += 1
        for tok in "".join(out).split():
            yield lineno, tok
    if in_block:
        raise VectorsError(f"{path}: unterminated /* comment")


_HEX_RUN = re.compile(r"[0-9a-fA-F\s]*")


def _read_hex_fast(text: str, bits: int, count: int) -> np.ndarray | None:
    """The common case (``//`` comments, plain hex words, right count and widths) without per-word
    checks; None sends the file to the careful reader, which names the offending line."""
    if "/*" in text:
        return None
    body = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    if not _HEX_RUN.fullmatch(body):
        return None
    tokens = body.split()
    if len(tokens) != count or (tokens and max(map(len, tokens)) > 16):
        return None
    words = np.array([int(t, 16) for t in tokens], dtype=np.uint64)
    if bits < 64 and words.size and int(words.max()) >> bits:
        return None
    return words


def read_hex(path: str, bits: int, count: int) -> np.ndarray:
    """The ``count`` words of a hex file as uint64; VectorsError naming the file and line otherwise."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise VectorsError(f"{path}: not a text hex file (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    fast = _read_hex_fast(text, bits, count)
    if fast is not None:
        return fast
    words = np.empty(count, dtype=np.uint64)
    n = 0
    limit = 1 << bits
    for lineno, tok in _tokens(text, path):
        if tok.startswith("@"):
            raise VectorsError(f"{path}:{lineno}: address directive {tok!r} is not supported (one word per entry, from 0)")
        if tok[:2] in ("0x", "0X"):
            raise VectorsError(f"{path}:{lineno}: word {tok!r}: a 0x prefix is not $readmemh syntax (plain hex digits)")
        digits = tok.replace("_", "")
        bad = next((ch for ch in digits if ch not in _HEX), None)
        if bad is not None or not digits:
            what = " (x/z: an undefined value)" if bad and bad in "xXzZ?" else ""
            raise VectorsError(f"{path}:{lineno}: bad hex digit {bad!r} in word {tok!r}{what}")
        value = int(digits, 16)
        if value >= limit:
            raise VectorsError(f"{path}:{lineno}: word {tok!r} is wider than the declared {bits} bits")
        if n >= count:
            raise VectorsError(f"{path}:{lineno}: too many words: expected {count}")
        words[n] = value
        n += 1
    if n < count:
        raise VectorsError(f"{path}: truncated: {n} words, expected {count}")
    return words


def read_bin(path: str, bin_dtype: str, count: int) -> np.ndarray:
    """The ``count`` values of a raw little-endian binary (exact size required)."""
    if bin_dtype not in BIN_DTYPES:
        raise VectorsError(f"{path}: bin_dtype must be one of {sorted(BIN_DTYPES)}, got {bin_dtype!r}")
    dt = np.dtype(BIN_DTYPES[bin_dtype])
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise VectorsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size != count * dt.itemsize:
        kind = "truncated" if size < count * dt.itemsize else "wrong size"
        raise VectorsError(f"{path}: {kind}: {size} bytes, expected {count * dt.itemsize} "
                           f"({count} x {bin_dtype})")
    return np.frombuffer(_read_bytes(path), dtype=dt, count=count)


def bin_to_words(values: np.ndarray, bits: int, signed: bool, encoding: str, path: str) -> np.ndarray:
    """Raw-binary values -> words, with the file named in the error when a value does not fit."""
    try:
        return values_to_words(values, bits, signed, encoding)
    except VectorsError as exc:
        v = np.asarray(values).ravel()
        lo, hi = value_range(bits, signed, encoding)
        bad = (v < lo) | (v > hi) | ((v == 0) if encoding == "sign" else False)
        i = int(np.flatnonzero(bad)[0])
        raise VectorsError(f"{path}: element {i}: {exc}") from None
