"""The format registry: the one place where a numeric format is named and defined.

Names say what the weights and the activations are (DESIGN.md section 3):

| name        | weights                                   | activations              | kernel        |
|-------------|-------------------------------------------|--------------------------|---------------|
| ``wNaM``    | N-bit symmetric fixed point (N = 3..16)   | M-bit affine (M = 2..16) | ``conv_int``  |
| ``w2aM``    | ternary {-1, 0, +1} x alpha (TWN)         | M-bit affine             | ``conv_int``  |
| ``w1aM``    | binary {-1, +1} x alpha                   | M-bit affine             | ``conv_int``  |
| ``w1a1``    | binary                                    | binary (sign), XNOR-popcount | ``conv_xnor`` |
| ``flex16+5``| int16 mantissas, shared 5-bit exponent    | the same                 | ``conv_flex`` |
| ``fp16``    | IEEE half (priced; runs as fp32 rounded to half at every MAC input) | the same | float |
| ``fp32``    | IEEE single                               | the same                 | float         |

Old names stay as aliases (``ALIASES``): ``intN`` = ``wNaN``, ``ternary`` = ``w2a8``,
``binary_w_int8_a`` = ``w1a8``, ``binary`` = ``w1a1`` (XNOR-Net: binary weights *and* activations),
``flex16`` = ``flex16+5``. ``resolve`` turns any of them into the canonical name; every command lists
and accepts the same set.

Per-layer mixed precision uses the same vocabulary: ``parse_assignment("w4a8,first=w8a8,last=w8a8")``
or ``"w4a8,deconv1=w8a8"`` (a layer name or ``first``/``last``) gives a default and the exceptions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from accelsim.errors import FormatError

_WA = re.compile(r"w([0-9]{1,2})a([0-9]{1,2})")


@dataclass(frozen=True)
class NumericFormat:
    name: str
    weight_kind: str        # float | int | ternary | binary | flex
    weight_bits: int
    act_kind: str           # float | int | binary | flex
    act_bits: int
    description: str

    @property
    def is_float(self) -> bool:
        return self.weight_kind == "float"

    @property
    def acc_bits(self) -> int:
        """Accumulator width: exact int32 up to 8-bit operands, int64 above (DESIGN.md section 3);
        XNOR popcounts in 16 bits; flexpoint in int64; floats accumulate in fp32."""
        if self.weight_kind == "flex":
            return 64
        if self.act_kind == "binary":
            return 16
        if self.is_float:
            return 32
        return 32 if max(self.weight_bits, self.act_bits) <= 8 else 64


def _wa(w: int, a: int) -> NumericFormat:
    if a == 1:
        if w != 1:
            raise FormatError(f"format w{w}a1: binary activations need binary weights (w1a1)")
        return NumericFormat("w1a1", "binary", 1, "binary", 1, "binary weights and activations, XNOR-popcount")
    if not 2 <= a <= 16:
        raise FormatError(f"format w{w}a{a}: activation bits must be 1..16")
    if w == 1:
        return NumericFormat(f"w1a{a}", "binary", 1, "int", a, f"binary weights, {a}-bit activations (sign-add)")
    if w == 2:
        return NumericFormat(f"w2a{a}", "ternary", 2, "int", a, f"ternary weights, {a}-bit activations (add/sub/skip)")
    if not 3 <= w <= 16:
        raise FormatError(f"format w{w}a{a}: weight bits must be 1..16")
    return NumericFormat(f"w{w}a{a}", "int", w, "int", a, f"{w}-bit weights, {a}-bit activations")


FLEX = NumericFormat("flex16+5", "flex", 16, "flex", 16, "flexpoint: int16 mantissas, shared 5-bit exponent")
FP16 = NumericFormat("fp16", "float", 16, "float", 16, "IEEE half precision (fp32 accumulation)")
FP32 = NumericFormat("fp32", "float", 32, "float", 32, "IEEE single precision")

ALIASES = {"ternary": "w2a8", "binary_w_int8_a": "w1a8", "binary": "w1a1", "flex16": "flex16+5",
           **{f"int{n}": f"w{n}a{n}" for n in range(2, 17)}}
# The formats every command offers by default ('all').
DEFAULT = ("fp32", "fp16", "w8a8", "w4a8", "w4a4", "w2a8", "w1a8", "w1a1", "flex16+5")


def resolve(name) -> str:
    """The canonical name of a format name or alias (FormatError if unknown)."""
    return get(name).name


def get(name) -> NumericFormat:
    if not isinstance(name, str):
        raise FormatError(f"format must be a string such as 'w8a8', got {type(name).__name__} {name!r}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key == FLEX.name:
        return FLEX
    if key in (FP16.name, FP32.name):
        return FP16 if key == "fp16" else FP32
    m = _WA.fullmatch(key)
    if m:
        return _wa(int(m.group(1)), int(m.group(2)))
    shown = name if name.isprintable() and name.strip() else repr(name)
    raise FormatError(f"unknown format {shown}; known: {', '.join(DEFAULT)}, wNaM (N, M in 1..16), "
                      f"aliases {', '.join(sorted(ALIASES, key=lambda a: (len(a), a))[:5])}, ...")


def canonical(text: str) -> str:
    """A format name or a per-layer assignment (``"binary,first=binary_w_int8_a"``) with every format in
    its canonical name (``"w1a1,first=w1a8"``); layer names kept as given."""
    out = []
    for item in _items(text, None):
        layer, sep, fmt = item.rpartition("=")
        out.append(f"{layer.strip()}={resolve(fmt.strip())}" if sep else resolve(item))
    return ",".join(out)


def listing() -> list[tuple[str, str, str]]:
    """(name, aliases, description) of the default formats, for ``accelsim formats``."""
    rows = []
    for n in DEFAULT:
        aliases = sorted(a for a, c in ALIASES.items() if c == n)
        rows.append((n, ", ".join(aliases), get(n).description))
    return rows


def _prefix(field: str | None) -> str:
    return f"{field}: " if field else ""


def _items(text: str, field: str | None) -> list[str]:
    """The comma-separated items of ``text``, stripped; an empty item ('w8a8,', 'a,,b') is an error,
    not silently dropped."""
    items = [n.strip() for n in str(text).split(",")]
    if not any(items):
        raise FormatError(f"{_prefix(field)}no format given in {text!r}")
    if not all(items):
        raise FormatError(f"{_prefix(field)}empty item in the comma-separated list {text!r}")
    return items


def parse_list(text: str, field: str | None = None) -> tuple[str, ...]:
    """'w8a8,ternary' (canonical names returned, in order) or 'all' (``DEFAULT``)."""
    if str(text).strip() == "all":
        return DEFAULT
    names = _items(text, field)
    out = []
    for n in names:
        try:
            c = resolve(n)
        except FormatError as exc:
            raise FormatError(f"{_prefix(field)}{exc}") from None
        if c in out:
            earlier = next(m for m in names if resolve(m) == c)
            raise FormatError(f"{_prefix(field)}a value is repeated: {n!r} repeats {earlier!r} (both {c})")
        out.append(c)
    return tuple(out)


def parse_assignment(text: str, layer_names, field: str | None = None) -> dict[str, str]:
    """Per-layer formats from ``"DEFAULT[,LAYER=FMT...]"`` with LAYER a layer name, ``first`` or
    ``last``: a dict layer name -> canonical format for every layer."""
    layer_names = list(layer_names)
    parts = _items(text, field)
    if "=" in parts[0]:
        raise FormatError(f"{_prefix(field)}give the default format first, e.g. 'w4a8,first=w8a8', got {text!r}")
    default = resolve(parts[0])
    out = {n: default for n in layer_names}
    given: dict[str, str] = {}
    for p in parts[1:]:
        if "=" not in p:
            raise FormatError(f"{_prefix(field)}{p!r} must be LAYER=FORMAT")
        layer, fmt = (s.strip() for s in p.split("=", 1))
        target = {"first": layer_names[0], "last": layer_names[-1]}.get(layer, layer) if layer_names else layer
        if target not in out:
            raise FormatError(f"{_prefix(field)}no layer {layer!r}; layers: {', '.join(layer_names)}")
        if target in given:
            raise FormatError(f"{_prefix(field)}layer {target!r} is given twice ({given[target]!r} and {p!r})")
        given[target] = p
        out[target] = resolve(fmt)
    return out
