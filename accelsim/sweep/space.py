"""The design space: option parsing (sizes, ranges, lists), sweep points, and the arch of a point.

How ``--buffer`` scales an architecture: the swept value is the TOTAL on-chip capacity. It is split
over the preset's buffers in the preset's proportions (edge-npu: ifmap 64 KiB, weight 128 KiB, ofmap
64 KiB -> 1/4, 1/2, 1/4; a preset with one global buffer gives it everything), each share rounded to
whole bytes with the largest-remainder rule so the shares add up to the total exactly. Word width,
banks and double buffering stay as in the preset. ``--dram`` swaps the DRAM device for a preset of
that type and keeps the arch's channel count; ``--array`` and ``--dataflow`` replace the PE array's
(a ReRAM crossbar arch has none: its points carry None there, and those two axes are rejected).

Every parse error is a ``ConfigError`` that starts with the name of the field (``buffer``, ``array``,
... or the ``option`` given: the command line passes its flags) and states the allowed values.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass, replace

from accelsim.arch import ArchSpec, DramSpec, dram_presets
from accelsim.arch.spec import DATAFLOWS
from accelsim.errors import ConfigError
from accelsim.formats.registry import resolve as resolve_format
from accelsim.workload import parse_formats  # noqa: F401 (part of this module's parser family)

UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
MAX_STEPS = 100_000
MAX_OPTION_CHARS = 200   # longer option values are refused before any parsing (no pathological inputs)
# One unambiguous number form (no nested quantifiers over the same digits: linear time on any input).
_SIZE = re.compile(r"\s*((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", re.ASCII)


def _check_length(text, option: str) -> str:
    text = str(text)
    if len(text) > MAX_OPTION_CHARS:
        raise ConfigError(f"{option}: value too long ({len(text)} characters, at most {MAX_OPTION_CHARS})")
    return text


@dataclass(frozen=True)
class SweepPoint:
    """One design point; every field is concrete (axes not swept carry the preset's value)."""
    model: str
    arch: str                 # base preset name or YAML path
    fmt: str
    buffer_kib: float         # total on-chip capacity, all buffers (a whole number of bytes / 1024)
    array_rows: int | None    # None (with array_cols, dataflow): a crossbar arch without a PE array
    array_cols: int | None
    dram: str                 # DRAM preset name, e.g. lpddr4-3200
    dataflow: str | None
    lowering: str
    objective: str
    batch: int
    fusion: str = "none"      # layer fusion (accelsim.mapping.fusion)

    def __post_init__(self):   # one name per format: an alias and its canonical name hash alike
        object.__setattr__(self, "fmt", resolve_format(self.fmt))

    @property
    def buffer_bytes(self) -> int:
        return int(round(self.buffer_kib * 1024))

    def to_dict(self) -> dict:
        """The point's fields; ``fusion`` only when not none, so points of a store written before
        fusion existed keep their config hash."""
        d = asdict(self)
        if d["fusion"] == "none":
            del d["fusion"]
        return d


def format_size(n_bytes: float) -> str:
    """Human-readable size with a binary unit: 16KiB, 1.5MiB, 300B."""
    for unit in ("GiB", "MiB", "KiB"):
        if n_bytes >= UNITS[unit]:
            return f"{n_bytes / UNITS[unit]:.4g}{unit}"
    return f"{n_bytes:.4g}B"


def shown_value(value: str) -> str:
    """A user's value for an error message: as typed, or its repr when it holds a newline or another
    non-printable character (the message stays one line)."""
    return value if value.isprintable() else repr(value)


def _one_line(size_text: str) -> str:
    """A size as the user wrote it, with any whitespace inside (16<newline>KiB parses) shown as one space."""
    return " ".join(size_text.split())


def parse_size(text: str, option: str = "buffer") -> int:
    """'16KiB', '4MiB', '512B', '1.5MiB' -> bytes (a whole, positive number of bytes)."""
    text = _check_length(text, option)
    m = _SIZE.fullmatch(text)
    if not m:
        raise ConfigError(f"{option}: cannot read the size {text!r}; write a number and a unit, e.g. 64KiB")
    value, unit = float(m.group(1)), m.group(2)
    if unit not in UNITS:
        what = f"unknown unit {unit!r}" if unit else f"no unit in {text.strip()!r}"
        raise ConfigError(f"{option}: {what}; allowed units: {', '.join(UNITS)}")
    n = value * UNITS[unit]
    if not math.isfinite(n) or n >= 2.0 ** 62:
        raise ConfigError(f"{option}: size {text.strip()!r} is too large")
    if abs(n - round(n)) > 1e-6 * max(1.0, n):
        raise ConfigError(f"{option}: {text.strip()!r} is not a whole number of bytes")
    if round(n) < 1:   # 0, or a positive size that rounds to no byte at all (1e-30B)
        raise ConfigError(f"{option}: size must be > 0 (at least 1 byte), got {text.strip()!r}")
    return int(round(n))


def parse_size_range(text: str, option: str = "buffer") -> tuple[int, ...]:
    """Sizes in bytes, ascending. Forms: SIZE | MIN:MAX (= MIN:MAX:x2) | MIN:MAX:STEPS (STEPS sizes
    log-spaced from MIN to MAX inclusive, rounded to whole bytes) | MIN:MAX:xFACTOR (MIN, MIN*F,
    MIN*F^2, ... up to MAX, rounded to whole bytes)."""
    parts = _check_length(text, option).split(":")
    if len(parts) == 1:
        return (parse_size(parts[0], option),)
    if len(parts) > 3:
        raise ConfigError(f"{option}: expected SIZE, MIN:MAX, MIN:MAX:STEPS or MIN:MAX:xFACTOR, got {text!r}")
    lo, hi = parse_size(parts[0], option), parse_size(parts[1], option)
    if lo > hi:
        raise ConfigError(f"{option}: MIN {_one_line(parts[0])} is larger than MAX {_one_line(parts[1])}; "
                          "write the smaller size first")
    step = parts[2].strip() if len(parts) == 3 else "x2"
    if step[:1] in ("x", "X"):
        try:
            factor = float(step[1:])
        except ValueError:
            factor = float("nan")
        if not factor > 1 or math.isinf(factor):
            raise ConfigError(f"{option}: FACTOR must be a number > 1 (e.g. x2), got {step!r}")
        sizes, k = [], 0
        while True:
            try:
                size = lo * factor ** k
            except OverflowError:   # factor^k beyond the float range: certainly past MAX
                break
            if size > hi * (1 + 1e-12):
                break
            sizes.append(int(round(size)))
            k += 1
            if k > MAX_STEPS:
                raise ConfigError(f"{option}: {text!r} gives more than {MAX_STEPS} sizes; use a larger FACTOR")
    else:
        if not re.fullmatch(r"[0-9]+", step):
            raise ConfigError(f"{option}: STEPS must be an integer in [1, {MAX_STEPS}] or xFACTOR, got {step!r}")
        n = int(step)
        if not 1 <= n <= MAX_STEPS:
            raise ConfigError(f"{option}: STEPS must be in [1, {MAX_STEPS}], got {n}")
        if n == 1 and lo != hi:
            raise ConfigError(f"{option}: 1 step cannot span {_one_line(parts[0])}..{_one_line(parts[1])}; "
                              "give STEPS >= 2 or a single size")
        sizes = [lo] if n == 1 else [int(round(lo * (hi / lo) ** (i / (n - 1)))) for i in range(n)]
    if len(set(sizes)) != len(sizes):
        raise ConfigError(f"{option}: {text!r} gives repeated sizes once rounded to whole bytes; use fewer STEPS")
    return tuple(sizes)


def parse_list(text: str, option: str, allowed) -> tuple[str, ...]:
    """Comma-separated names, each one of ``allowed``; order kept, duplicates rejected."""
    names = [n.strip() for n in _check_length(text, option).split(",") if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        shown = ", ".join(shown_value(n) for n in bad) if bad else repr(text)
        raise ConfigError(f"{option}: unknown value {shown}; allowed: {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{option}: a value is repeated in {text!r}")
    return tuple(names)


def parse_arrays(text: str, option: str = "array") -> tuple[tuple[int, int], ...]:
    """'8x8,16x32' -> ((8, 8), (16, 32)); rows and cols in [1, 1024]."""
    out = []
    for item in (s.strip() for s in _check_length(text, option).split(",")):
        m = re.fullmatch(r"([0-9]+)[xX]([0-9]+)", item, re.ASCII)
        if not m:
            raise ConfigError(f"{option}: expected ROWSxCOLS such as 16x16, got {item!r}")
        rows, cols = int(m.group(1)), int(m.group(2))
        if not (1 <= rows <= 1024 and 1 <= cols <= 1024):
            raise ConfigError(f"{option}: {item}: rows and cols must be in [1, 1024]")
        out.append((rows, cols))
    if len(set(out)) != len(out):
        raise ConfigError(f"{option}: an array size is repeated in {text!r}")
    return tuple(out)


def dram_aliases() -> dict:
    """DRAM type (lpddr4, ddr4, hbm2) and preset name -> preset name."""
    presets = dram_presets()
    out = {spec["type"]: name for name, spec in presets.items()}
    out.update({name: name for name in presets})
    return out


def parse_drams(text: str, option: str = "dram") -> tuple[str, ...]:
    aliases = dram_aliases()
    return tuple(aliases[n] for n in parse_list(text, option, tuple(aliases)))


def parse_dataflows(text: str, option: str = "dataflow") -> tuple[str, ...]:
    return parse_list(text, option, DATAFLOWS)


def buffer_total_bytes(arch: ArchSpec) -> int:
    return sum(b.size_bytes for b in arch.buffers)


def split_buffers(arch: ArchSpec, total_bytes: int, option: str = "buffer") -> tuple:
    """The arch's buffers resized to ``total_bytes`` in the preset's proportions (largest remainder)."""
    sizes = [b.size_bytes for b in arch.buffers]
    exact = [total_bytes * s / sum(sizes) for s in sizes]
    shares = [math.floor(e) for e in exact]
    for i in sorted(range(len(exact)), key=lambda i: (shares[i] - exact[i], i))[:total_bytes - sum(shares)]:
        shares[i] += 1
    out = []
    for buf, share in zip(arch.buffers, shares):
        try:
            out.append(replace(buf, size_kib=share / 1024))
        except ConfigError as exc:
            raise ConfigError(f"{option}: {format_size(total_bytes)} in total gives the {buf.role} buffer "
                              f"{share} B, outside its allowed range ({exc})") from None
    return tuple(out)


def array_of(arch: ArchSpec) -> tuple:
    """(rows, cols, dataflow) of the arch's PE array; (None, None, None) for a crossbar arch."""
    a = getattr(arch, "array", None)
    return (None, None, None) if a is None else (a.rows, a.cols, a.dataflow)


def _no_array(arch: ArchSpec, field: str) -> ConfigError:
    return ConfigError(f"{field}: arch {arch.name!r} has no PE array (a ReRAM crossbar arch); the array and "
                       "dataflow axes do not apply to it")


def resolve_arch(base: ArchSpec, point: SweepPoint) -> ArchSpec:
    """The ArchSpec of ``point``: ``base`` with the point's buffer total, array, dataflow and DRAM."""
    arch = base
    if point.buffer_bytes != buffer_total_bytes(base):
        arch = replace(arch, buffers=split_buffers(base, point.buffer_bytes))
    if array_of(arch) != (point.array_rows, point.array_cols, point.dataflow):
        if arch.array is None:
            raise _no_array(arch, "array")
        arch = replace(arch, array=replace(arch.array, rows=point.array_rows, cols=point.array_cols,
                                           dataflow=point.dataflow))
    if point.dram != base.dram.name:
        presets = dram_presets()
        if point.dram not in presets:
            raise ConfigError(f"dram: unknown DRAM preset {point.dram!r}; known: {', '.join(presets)}")
        arch = replace(arch, dram=DramSpec(name=point.dram, **{**presets[point.dram], "channels": base.dram.channels}))
    return arch


@dataclass(frozen=True)
class SweepSpec:
    """A cartesian sweep. Axes left as None take the base arch's value."""
    model: str
    arch: str
    formats: tuple[str, ...]
    buffers_bytes: tuple[int, ...] | None = None
    arrays: tuple[tuple[int, int], ...] | None = None
    drams: tuple[str, ...] | None = None
    dataflows: tuple[str, ...] | None = None
    lowerings: tuple[str, ...] = ("phase",)
    objective: str = "dram"
    batch: int = 1
    fusion: str = "none"

    def points(self, base: ArchSpec) -> list[SweepPoint]:
        """Every combination, format outermost and buffer innermost."""
        rows, cols, dataflow = array_of(base)
        if rows is None and (self.arrays or self.dataflows):
            raise _no_array(base, "array" if self.arrays else "dataflow")
        axes = itertools.product(
            self.formats, self.drams or (base.dram.name,), self.dataflows or (dataflow,),
            self.arrays or ((rows, cols),), self.lowerings, self.buffers_bytes or (buffer_total_bytes(base),))
        return [SweepPoint(self.model, self.arch, fmt, size / 1024, rc[0], rc[1], dram, dataflow, lowering,
                           self.objective, self.batch, self.fusion)
                for fmt, dram, dataflow, rc, lowering, size in axes]

    def swept_axes(self) -> list[str]:
        """Axes with more than one value, besides the format (which is always a line / panel)."""
        axes = {"buffer_kib": self.buffers_bytes, "array": self.arrays, "dram": self.drams,
                "dataflow": self.dataflows, "lowering": self.lowerings}
        return [k for k, v in axes.items() if v is not None and len(v) > 1]
