"""Plain-text summary of a sweep: one line per curve (format x the other swept axes)."""
from __future__ import annotations

from accelsim.report.table import _table, pj_to_uj


def _size(kib) -> str:
    if kib is None:
        return "-"
    return f"{kib / 1024:.4g} MiB" if kib >= 1024 else f"{kib:.4g} KiB"


def _uj(pj) -> str:
    return "-" if pj is None else f"{pj_to_uj(pj):.3f}"


def _mib(n) -> str:
    return "-" if n is None else f"{n / 2 ** 20:.3f}"


def _reached(a) -> str:
    if not a.feasible:
        return "-"
    return _size(a.compulsory_buffer_kib) if a.compulsory_buffer_kib is not None else "not reached"


def sweep_table(answers) -> str:
    """``answers``: BufferAnswer objects (accelsim.sweep.analysis). Axes that take one value over all
    curves are left out of the table."""
    if not answers:
        return "(no points)"
    varying = [k for k in ("array", "dram", "dataflow", "lowering") if len({getattr(a, k) for a in answers}) > 1]
    tol = answers[0].tolerance
    head = (["format"] + varying + ["ok/points", "min buffer", "best uJ/img", "at buffer",
                                    f"rec. buffer (<={100 * tol:g}%)", "rec. uJ/img", "knee DRAM", "knee energy",
                                    "DRAM MiB/img", "compulsory MiB", "reached at"])
    rows = []
    for a in answers:
        rows.append([a.fmt] + [str(getattr(a, k)) for k in varying] + [
            f"{a.feasible}/{a.points}", _size(a.min_feasible_buffer_kib), _uj(a.best_energy_per_image_pj),
            _size(a.best_energy_buffer_kib), _size(a.recommended_buffer_kib), _uj(a.recommended_energy_per_image_pj),
            _size(a.knee_dram_buffer_kib), _size(a.knee_energy_buffer_kib), _mib(a.min_dram_bytes_per_image),
            _mib(a.compulsory_dram_bytes_per_image),
            _reached(a)])
    return _table(rows, head, set(range(1 + len(varying), len(head))))
