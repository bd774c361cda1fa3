"""Answers from stored rows: per curve (one format and one setting of every other axis, metric vs
buffer size), the knees of DRAM traffic and energy, the smallest buffer within a tolerance of the
best energy (the recommended buffer), and the buffer at which DRAM traffic reaches its compulsory
minimum. Knee definition: ``accelsim.sweep.knee``."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from accelsim.sweep.knee import first_reaching, knee_index, smallest_within

CURVE_KEYS = ("fmt", "array_rows", "array_cols", "dram", "dataflow", "lowering")
DEFAULT_TOLERANCE = 0.05
# "reaches the compulsory traffic" allows 1 ppm: the replayed schedule sums per-tile bit counts in
# floating point, and a ceil to bytes can then land one byte above the analytic minimum
COMPULSORY_RTOL = 1e-6


@dataclass(frozen=True)
class Curve:
    """Feasible points of one curve, ascending in buffer size (per-image values)."""
    key: tuple                     # values of CURVE_KEYS
    buffer_kib: tuple[float, ...]
    dram_bytes_per_image: tuple[float, ...]
    energy_per_image_pj: tuple[float, ...]
    compulsory_dram_bytes_per_image: float | None
    infeasible_buffer_kib: tuple[float, ...]

    @property
    def label(self) -> dict:
        return dict(zip(CURVE_KEYS, self.key))


@dataclass(frozen=True)
class BufferAnswer:
    fmt: str
    array: str                     # ROWSxCOLS
    dram: str
    dataflow: str
    lowering: str
    points: int
    feasible: int
    min_feasible_buffer_kib: float | None
    best_energy_per_image_pj: float | None
    best_energy_buffer_kib: float | None
    tolerance: float
    recommended_buffer_kib: float | None       # smallest buffer within tolerance of the best energy
    recommended_energy_per_image_pj: float | None
    knee_dram_buffer_kib: float | None
    knee_energy_buffer_kib: float | None
    min_dram_bytes_per_image: float | None
    compulsory_dram_bytes_per_image: float | None
    compulsory_buffer_kib: float | None        # smallest buffer reaching compulsory DRAM traffic

    def to_json(self) -> dict:
        return asdict(self)


def curves(rows: list[dict]) -> list[Curve]:
    """Group rows into curves, in first-seen order."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in CURVE_KEYS), []).append(r)
    out = []
    for key, rs in groups.items():
        ok = sorted((r for r in rs if r["status"] == "ok"), key=lambda r: r["buffer_kib"])
        bad = sorted(r["buffer_kib"] for r in rs if r["status"] != "ok")
        comp = [r["compulsory_dram_bytes"] / r["batch"] for r in ok]
        out.append(Curve(key, tuple(r["buffer_kib"] for r in ok), tuple(r["dram_bytes"] / r["batch"] for r in ok),
                         tuple(r["energy_per_image_pj"] for r in ok), min(comp) if comp else None, tuple(bad)))
    return out


def array_label(row: dict) -> str:
    """'16x16', or '-' for a crossbar arch (no PE array)."""
    return "-" if row["array_rows"] is None else f"{row['array_rows']}x{row['array_cols']}"


def _at(values, i):
    return None if i is None else values[i]


def answer(curve: Curve, tolerance: float = DEFAULT_TOLERANCE) -> BufferAnswer:
    lab = curve.label
    s, e, d = curve.buffer_kib, curve.energy_per_image_pj, curve.dram_bytes_per_image
    comp = curve.compulsory_dram_bytes_per_image
    best = min(range(len(e)), key=e.__getitem__) if e else None
    rec = smallest_within(s, e, tolerance) if e else None
    return BufferAnswer(
        fmt=lab["fmt"], array=array_label(lab), dram=lab["dram"], dataflow=lab["dataflow"] or "-",
        lowering=lab["lowering"], points=len(s) + len(curve.infeasible_buffer_kib), feasible=len(s),
        min_feasible_buffer_kib=s[0] if s else None,
        best_energy_per_image_pj=_at(e, best), best_energy_buffer_kib=_at(s, best),
        tolerance=tolerance, recommended_buffer_kib=_at(s, rec), recommended_energy_per_image_pj=_at(e, rec),
        knee_dram_buffer_kib=_at(s, knee_index(s, d) if s else None),
        knee_energy_buffer_kib=_at(s, knee_index(s, e) if s else None),
        min_dram_bytes_per_image=min(d) if d else None, compulsory_dram_bytes_per_image=comp,
        compulsory_buffer_kib=_at(s, first_reaching(s, d, comp * (1 + COMPULSORY_RTOL)) if s else None))


def answers(rows: list[dict], tolerance: float = DEFAULT_TOLERANCE) -> list[BufferAnswer]:
    return [answer(c, tolerance) for c in curves(rows)]
