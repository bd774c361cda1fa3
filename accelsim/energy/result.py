"""Results that add up: a layer's activity with its priced energy, and a Report per format.

``Report`` totals are sums over layers (``sum(reports)`` also works across models); every field
keeps its unit in its name and every breakdown is kept."""
from __future__ import annotations

from dataclasses import dataclass

from accelsim.energy.model import COMPONENTS
from accelsim.sim.engine import LayerActivity


def _add_dicts(a: dict, b: dict) -> dict:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}


@dataclass(frozen=True)
class LayerResult:
    activity: LayerActivity
    energy_pj: dict            # component -> pJ

    @property
    def name(self) -> str:
        return self.activity.name

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj.values())

    def to_json(self, clock_hz: float) -> dict:
        a = self.activity
        return {
            "name": a.name, "op": a.op, "lowering": a.method, "format": a.fmt,
            "macs_effectual": a.macs_effectual, "macs_total": a.macs_total, "weight_bytes": a.weight_bytes,
            "dram_read_bytes": dict(a.dram_read_bytes), "dram_write_bytes": dict(a.dram_write_bytes),
            "dram_bytes": a.dram_bytes, "dram_activates": a.dram_activates, "dram_row_hits": a.dram_row_hits,
            "buffer_access_bits": {k: round(v, 3) for k, v in a.buffer_access_bits.items()},
            "compute_cycles": a.compute_cycles, "stall_cycles": a.stall_cycles, "cycles": a.latency_cycles,
            "utilization": round(a.utilization, 6), "latency_us": a.latency_cycles / clock_hz * 1e6,
            "energy_pj": {k: round(v, 3) for k, v in self.energy_pj.items()},
            "energy_total_pj": round(self.total_energy_pj, 3), "mapping": a.mapping_note,
        }


@dataclass(frozen=True)
class Report:
    model: str
    arch: str
    fmt: str
    lowering: str
    clock_hz: float
    batch: int
    layers: tuple[LayerResult, ...]

    def __add__(self, other: "Report") -> "Report":
        if self.arch != other.arch or self.clock_hz != other.clock_hz:
            raise ValueError("can only add reports of the same arch")
        same = lambda a, b: a if a == b else f"{a}+{b}"  # noqa: E731
        return Report(same(self.model, other.model), self.arch, same(self.fmt, other.fmt),
                      same(self.lowering, other.lowering), self.clock_hz, self.batch, self.layers + other.layers)

    def _sum(self, attr: str) -> int:
        return sum(getattr(l.activity, attr) for l in self.layers)

    @property
    def macs_total(self) -> int:
        return self._sum("macs_total")

    @property
    def macs_effectual(self) -> int:
        return self._sum("macs_effectual")

    @property
    def weight_bytes(self) -> int:
        return self._sum("weight_bytes")

    @property
    def dram_bytes(self) -> int:
        return self._sum("dram_bytes")

    @property
    def dram_read_bytes(self) -> dict:
        out: dict = {}
        for l in self.layers:
            out = _add_dicts(out, l.activity.dram_read_bytes)
        return out

    @property
    def dram_write_bytes(self) -> dict:
        out: dict = {}
        for l in self.layers:
            out = _add_dicts(out, l.activity.dram_write_bytes)
        return out

    @property
    def cycles(self) -> int:
        return self._sum("latency_cycles")

    @property
    def compute_cycles(self) -> int:
        return self._sum("compute_cycles")

    @property
    def stall_cycles(self) -> int:
        return self._sum("stall_cycles")

    @property
    def latency_us(self) -> float:
        return self.cycles / self.clock_hz * 1e6

    @property
    def energy_pj(self) -> dict:
        out = dict.fromkeys(COMPONENTS, 0.0)
        for l in self.layers:
            out = _add_dicts(out, l.energy_pj)
        return out

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj.values())

    @property
    def energy_per_image_uj(self) -> float:
        return self.total_energy_pj / 1e6 / self.batch

    def to_json(self) -> dict:
        return {"format": self.fmt, "lowering": self.lowering,
                "energy_per_image_uj": self.energy_per_image_uj, "dram_bytes": self.dram_bytes,
                "cycles": self.cycles, "macs_effectual": self.macs_effectual, "macs_total": self.macs_total,
                "stall_cycles": self.stall_cycles, "latency_us": self.latency_us,
                "weight_bytes": self.weight_bytes, "dram_read_bytes": self.dram_read_bytes,
                "dram_write_bytes": self.dram_write_bytes,
                "energy_pj": {k: round(v, 3) for k, v in self.energy_pj.items()},
                "layers": [l.to_json(self.clock_hz) for l in self.layers]}
