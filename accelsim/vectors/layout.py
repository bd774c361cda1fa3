"""Storage layouts of exported tensors: weight bit packing, and the manifest record of one tensor.

Activations, accumulators, biases and requantization parameters are one element per word in
C (row-major) order of their shape (NCHW for activations). Weights (``w``), by weight kind:

* ``fixed`` and ``flex``: one code (or int16 mantissa) per word in torch layout:
  conv_transpose2d ``w[Cin][Cout][KH][KW]``, conv2d ``w[Cout][Cin][KH][KW]``.
* ``binary`` and ``xnor`` (packing ``sign64``): ``w[Cout][KH][KW][ceil(Cin/64)]`` uint64 words; bit
  ``c % 64`` of word ``c // 64`` is 1 when the weight of input channel ``c`` is +1, 0 when it is -1;
  unused high bits of the last word are 0 (the layout the XNOR kernel packs internally).
* ``ternary`` (packing ``ternary2``): ``w[Cout][KH][KW][ceil(Cin/32)]`` uint64 words holding 32
  two-bit codes; bits ``2*(c % 32)`` and ``2*(c % 32) + 1`` of word ``c // 32`` are the code of input
  channel ``c``: ``00`` = 0, ``01`` = +1, ``11`` = -1 (two's complement); ``10`` never occurs;
  unused codes are ``00``.
"""
from __future__ import annotations

import hashlib

import numpy as np

from accelsim.formats.conv import ConvSpec
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.hexfile import hex_text, values_to_words

PACKINGS = {"none": 0, "sign64": 1, "ternary2": 2}
_BIN_NAMES = {np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "int16",
              np.dtype(np.uint16): "uint16", np.dtype(np.int32): "int32", np.dtype(np.int64): "int64",
              np.dtype(np.uint64): "uint64"}


def _channels_last(codes: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Torch-layout weights -> ``[Cout][KH][KW][Cin]`` (groups == 1)."""
    if spec.groups != 1:
        raise VectorsError("packed binary/ternary weights are defined for groups == 1 only")
    return np.transpose(codes, (1, 2, 3, 0) if spec.transposed else (0, 2, 3, 1))


def pack_sign64(codes: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """{-1,+1} torch-layout weights -> ``[Cout][KH][KW][ceil(Cin/64)]`` uint64 (layout above)."""
    cl = _channels_last(np.asarray(codes), spec)
    return _pack(cl > 0, 1, 64)


def pack_ternary2(codes: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """{-1,0,+1} torch-layout weights -> ``[Cout][KH][KW][ceil(Cin/32)]`` uint64 (layout above)."""
    cl = _channels_last(np.asarray(codes), spec).astype(np.int64)
    return _pack(cl & 3, 2, 32)


def _pack(fields: np.ndarray, width: int, per_word: int) -> np.ndarray:
    cin = fields.shape[-1]
    nw = (cin + per_word - 1) // per_word
    padded = np.zeros(fields.shape[:-1] + (nw * per_word,), dtype=np.uint64)
    padded[..., :cin] = fields
    shifts = (np.arange(per_word, dtype=np.uint64) * np.uint64(width))
    return np.bitwise_or.reduce(padded.reshape(fields.shape[:-1] + (nw, per_word)) << shifts, axis=-1)


def unpack(words: np.ndarray, packing: str, logical_shape, spec: ConvSpec) -> np.ndarray:
    """Inverse of the packings (int8 torch-layout codes): the documentation, executable."""
    if spec.transposed:
        cin, cout, kh, kw = logical_shape
    else:
        cout, cin, kh, kw = logical_shape
    width, per_word = (1, 64) if packing == "sign64" else (2, 32)
    c = np.arange(cin)
    fields = (words[..., c // per_word] >> (np.uint64(width) * (c % per_word).astype(np.uint64))) & np.uint64(
        (1 << width) - 1)
    if packing == "sign64":
        codes = np.where(fields == 1, 1, -1)
    else:
        if (fields == 2).any():
            raise VectorsError("ternary2 code 10 is invalid")
        codes = np.where(fields == 3, -1, fields.astype(np.int64))
    order = (3, 0, 1, 2) if spec.transposed else (0, 3, 1, 2)
    return np.ascontiguousarray(np.transpose(codes, order)).astype(np.int8)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TensorFiles:
    """One tensor to export: its values in the C ABI container, the word format of its hex file,
    and what the manifest says about it. ``files()`` renders the hex and binary contents."""

    def __init__(self, name: str, role: str, values: np.ndarray, word_bits: int, signed: bool,
                 encoding: str = "int", layout: str = "C order", **info):
        self.name, self.role = name, role
        self.values = np.ascontiguousarray(values)
        if self.values.dtype not in _BIN_NAMES:
            raise VectorsError(f"tensor {name}: unsupported dtype {self.values.dtype}")
        self.word_bits, self.signed, self.encoding, self.layout = int(word_bits), bool(signed), encoding, layout
        self.info = info
        self.words = values_to_words(self.values, self.word_bits, self.signed, encoding)

    @property
    def bin_dtype(self) -> str:
        return _BIN_NAMES[self.values.dtype]

    def files(self, stem: str, header: str) -> dict[str, bytes]:
        kind = {"int": "two's complement" if self.signed else "unsigned", "sign": "sign bit (1 = +1, 0 = -1)",
                "packed": "packed bits"}[self.encoding]
        shape = "x".join(str(d) for d in self.values.shape) or "scalar"
        lines = [f"{header} tensor={self.name} role={self.role}",
                 f"width={self.word_bits} signed={int(self.signed)} encoding={self.encoding} ({kind}) "
                 f"words={self.values.size} shape={shape} layout={self.layout.replace(' ', '_')}"]
        return {f"{stem}.hex": hex_text(self.words, self.word_bits, lines).encode("ascii", "backslashreplace"),
                f"{stem}.bin": self.values.astype(self.values.dtype.newbyteorder("<")).tobytes()}

    def record(self, stem: str, digests: dict[str, str]) -> dict:
        rec = {"role": self.role, "shape": list(self.values.shape), "count": int(self.values.size),
               "layout": self.layout, "word_bits": self.word_bits, "signed": self.signed,
               "encoding": self.encoding, "bin_dtype": self.bin_dtype,
               "hex": f"{stem}.hex", "bin": f"{stem}.bin",
               "sha256": {f"{stem}.hex": digests[f"{stem}.hex"], f"{stem}.bin": digests[f"{stem}.bin"]}}
        rec.update(self.info)
        return rec
