"""A points file (``accelsim sweep --points FILE``): an explicit list of design points instead of a
cartesian product.

The file is CSV with a header row (``.csv``) or JSON: a list of objects, or one object per line.
Keys (columns): ``format`` (required), ``buffer`` (a size such as 64KiB: the total on-chip
capacity) or ``buffer_kib`` (a number), ``array`` (16x16), ``dram`` (lpddr4, ddr4, hbm2 or a preset
name), ``dataflow`` (os, ws, is), ``lowering``. A missing or empty key takes the base arch's value
(lowering: the default ``phase``). Unknown keys and repeated points are errors naming the file and line
(``ConfigError``; the command line adds ``--points``).
"""
from __future__ import annotations

import csv
import io
import json
import os
import stat

from accelsim.arch import ArchSpec
from accelsim.errors import ConfigError
from accelsim.sweep.space import (SweepPoint, array_of, buffer_total_bytes, parse_arrays, parse_dataflows, parse_drams,
                                  parse_formats, parse_list, parse_size)

MAX_BYTES = 16 << 20   # a points file is read whole: regular files up to 16 MiB
KEYS = ("format", "buffer", "buffer_kib", "array", "dram", "dataflow", "lowering")


def _records(path: str, text: str) -> list[tuple[int, dict]]:
    if path.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None:
            raise ConfigError(f"{path} is empty")
        names = [n.strip() for n in reader.fieldnames]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"{path} line 1: column {repeated[0]!r} is repeated")
        if any(None in row for row in csv.DictReader(io.StringIO(text))):
            bad = next(i + 2 for i, row in enumerate(csv.DictReader(io.StringIO(text))) if None in row)
            raise ConfigError(f"{path} line {bad}: more values than columns")
        return [(i + 2, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None})
                for i, row in enumerate(reader)]
    stripped = text.strip()
    if not stripped:
        raise ConfigError(f"{path} is empty")
    try:
        if stripped.startswith("["):
            data = json.loads(stripped)
            return [(i + 1, r) for i, r in enumerate(data)]
        return [(i + 1, json.loads(line)) for i, line in enumerate(text.splitlines()) if line.strip()]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is neither CSV (.csv) nor JSON: {exc}") from None


def load_points(path: str, model: str, arch_name: str, base: ArchSpec, lowerings, objective: str,
                batch: int, fusion: str = "none") -> list[SweepPoint]:
    """Read the point list; ``lowerings`` are the allowed lowering names."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):   # /dev/zero would be read forever
        raise ConfigError(f"{path}: is not a regular file")
    if st.st_size > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES >> 20} MiB")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    points, seen = [], {}
    for line, rec in _records(path, text):
        where = f"{path} line {line}"
        if not isinstance(rec, dict):
            raise ConfigError(f"{where}: expected an object with keys {', '.join(sorted(KEYS))}")
        rec = {k: v for k, v in rec.items() if v not in ("", None)}
        unknown = sorted(set(rec) - set(KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(KEYS))}")
        if "format" not in rec:
            raise ConfigError(f"{where}: missing key 'format'")
        if "buffer" in rec and "buffer_kib" in rec:
            raise ConfigError(f"{where}: give buffer or buffer_kib, not both")
        try:
            fmt = parse_formats(str(rec["format"]), "format")[0]
            size = buffer_total_bytes(base)
            if "buffer" in rec:
                size = parse_size(str(rec["buffer"]), "buffer")
            elif "buffer_kib" in rec:
                size = parse_size(f"{float(rec['buffer_kib'])!r}KiB", "buffer_kib")
            rows, cols, dataflow = array_of(base)
            if "array" in rec:
                rows, cols = parse_arrays(str(rec["array"]), "array")[0]
            if "dataflow" in rec:
                dataflow = parse_dataflows(str(rec["dataflow"]), "dataflow")[0]
            dram = parse_drams(str(rec["dram"]), "dram")[0] if "dram" in rec else base.dram.name
            lowering = parse_list(str(rec["lowering"]), "lowering", lowerings)[0] if "lowering" in rec else "phase"
        except ValueError as exc:   # a ConfigError or FormatError of the value's parser
            raise ConfigError(f"{where}: {exc}") from None
        point = SweepPoint(model, arch_name, fmt, size / 1024, rows, cols, dram, dataflow, lowering, objective, batch,
                           fusion)
        if point in seen:
            raise ConfigError(f"{where}: repeats the point of line {seen[point]}")
        seen[point] = line
        points.append(point)
    if not points:
        raise ConfigError(f"{path} lists no points")
    return points
