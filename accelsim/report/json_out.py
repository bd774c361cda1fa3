"""JSON document of a set of Reports (one per format):
{"model", "arch", "lowering", "objective", "results": [{"format", "energy_per_image_uj", "dram_bytes",
"cycles", "macs_effectual", "macs_total", ..., "layers": [...]}]}"""
from __future__ import annotations

from accelsim.energy import Report
from accelsim.errors import ConfigError


def reports_to_json(reports: list[Report], objective: str = "dram") -> dict:
    if not reports:
        raise ConfigError("reports: no reports to write")
    first = reports[0]
    return {"model": first.model, "arch": first.arch, "lowering": first.lowering, "objective": objective,
            "batch": first.batch, "results": [r.to_json() for r in reports]}
