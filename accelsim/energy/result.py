"""Results that add up: a layer's activity with its priced energy, and a Report per format.

``Report`` totals are sums over layers (``sum(reports)`` also works across models); every field
keeps its unit in its name and every breakdown is kept."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from accelsim.energy.model import COMPONENTS, DIGITAL_COMPONENTS
from accelsim.errors import ConfigError
from accelsim.sim.engine import LayerActivity


def _shown(crossbar: bool) -> tuple[str, ...]:
    return COMPONENTS if crossbar else DIGITAL_COMPONENTS


def _layer_crossbar_json(r: "LayerResult") -> dict:
    x = r.activity.crossbar
    return {"crossbars": x.crossbars, "cells_used": x.cells_used, "utilization": round(x.utilization, 6),
            "input_cycles": x.input_cycles, "adc_conversions": x.adc_conversions, "reload_rounds": x.reload_rounds,
            "programming_energy_pj": round(sum((r.programming_energy_pj or {}).values()), 3),
            "programming_time_us": x.programming_ns / 1e3}


def _add_dicts(a: dict, b: dict) -> dict:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}


@dataclass(frozen=True)
class LayerResult:
    activity: LayerActivity
    energy_pj: dict            # component -> pJ
    programming_energy_pj: dict | None = None   # crossbar archs: one-time weight programming, not per image

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
            "energy_pj": {k: round(self.energy_pj[k], 3) for k in _shown(self.activity.crossbar is not None)},
            "energy_total_pj": round(self.total_energy_pj, 3), "mapping": a.mapping_note,
        } | ({} if a.crossbar is None else {"crossbar": _layer_crossbar_json(self)})


@dataclass(frozen=True)
class Report:
    model: str
    arch: str
    fmt: str
    lowering: str
    clock_hz: float
    batch: int
    layers: tuple[LayerResult, ...]
    fusion: str = "none"                            # layer fusion mode (accelsim.mapping.fusion)
    stacks: tuple[tuple[int, int], ...] = ()        # fused stacks: first and last layer index

    def __add__(self, other: "Report") -> "Report":
        if self.arch != other.arch or self.clock_hz != other.clock_hz:
            raise ConfigError("can only add reports of the same arch")
        same = lambda a, b: a if a == b else f"{a}+{b}"  # noqa: E731
        return Report(same(self.model, other.model), self.arch, same(self.fmt, other.fmt),
                      same(self.lowering, other.lowering), self.clock_hz, self.batch, self.layers + other.layers,
                      same(self.fusion, other.fusion),
                      self.stacks + tuple((a + len(self.layers), b + len(self.layers)) for a, b in other.stacks))

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

    @cached_property
    def energy_pj(self) -> dict:
        """Component -> pJ of the whole batch (computed once: the layers are frozen)."""
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

    # ---- ReRAM crossbar archs (None / empty for digital archs) -------------------------------------
    @property
    def is_crossbar(self) -> bool:
        return any(l.activity.crossbar is not None for l in self.layers)

    @property
    def components(self) -> tuple[str, ...]:
        """Energy components that apply to this report's arch."""
        return _shown(self.is_crossbar)

    def _xb(self) -> list:
        return [l.activity.crossbar for l in self.layers if l.activity.crossbar is not None]

    @property
    def adc_share(self) -> float:
        return self.energy_pj["adc"] / self.total_energy_pj if self.total_energy_pj else 0.0

    @property
    def programming_energy_pj(self) -> float:
        return sum(sum(l.programming_energy_pj.values()) for l in self.layers if l.programming_energy_pj)

    def crossbar_summary(self) -> dict | None:
        """Crossbar fields: placement, utilization, ADC share, programming and reloads, endurance."""
        xb = self._xb()
        if not xb:
            return None
        resident = xb[0].resident
        cells_written = sum(x.cells_written_per_batch for x in xb)
        writes_per_cell_per_image = cells_written / xb[0].chip_cells / self.batch
        interval = max(l.activity.latency_cycles for l in self.layers) if xb[0].pipelined else self.cycles
        return {
            "crossbars": sum(x.crossbars for x in xb), "chip_crossbars": xb[0].chip_crossbars,
            "weights_fit_on_chip": resident, "cells_used": sum(x.cells_used for x in xb),
            "utilization": round(sum(x.cells_used for x in xb) / max(1, sum(x.cells_total for x in xb)), 6),
            "adc_conversions": sum(x.adc_conversions for x in xb), "adc_share": round(self.adc_share, 6),
            "pipelined": xb[0].pipelined, "image_interval_us": interval / self.clock_hz * 1e6 / self.batch,
            "programming_energy_uj": self.programming_energy_pj / 1e6,
            "programming_time_us": sum(x.programming_ns for x in xb) / 1e3,   # layers one after another
            "reload_rounds_per_batch": sum(x.reload_rounds for x in xb),
            "reload_time_us_per_batch": sum(x.reload_ns for x in xb) / 1e3,
            "reload_energy_uj_per_image": self.energy_pj["xbar_write"] / 1e6 / self.batch,
            "writes_per_cell_per_image": writes_per_cell_per_image,
            "endurance_cycles": xb[0].endurance_cycles,
            "images_until_worn_out": xb[0].endurance_cycles / writes_per_cell_per_image if cells_written else None,
        }

    def to_json(self) -> dict:
        return {"format": self.fmt, "lowering": self.lowering,
                "energy_per_image_uj": self.energy_per_image_uj, "dram_bytes": self.dram_bytes,
                "cycles": self.cycles, "macs_effectual": self.macs_effectual, "macs_total": self.macs_total,
                "stall_cycles": self.stall_cycles, "latency_us": self.latency_us,
                "weight_bytes": self.weight_bytes, "dram_read_bytes": self.dram_read_bytes,
                "dram_write_bytes": self.dram_write_bytes,
                "energy_pj": {k: round(self.energy_pj[k], 3) for k in self.components},
                "layers": [l.to_json(self.clock_hz) for l in self.layers]} | (
                    {"crossbar": self.crossbar_summary()} if self.is_crossbar else {}) | (
                    {} if self.fusion == "none" else
                    {"fusion": self.fusion, "fused_stacks": [[self.layers[a].name, self.layers[b].name]
                                                             for a, b in self.stacks]})
