"""JSON document of a set of Reports (one per format):
{"model", "arch", "lowering", "objective", "batch", "results": [{"format", "energy_per_image_uj", "dram_bytes",
"cycles", "macs_effectual", "macs_total", ..., "layers": [...]}], "summary": {"baseline", "rows": [{"format",
"energy_per_image_uj", "energy_vs_baseline", "dram_bytes_per_image", "dram_vs_baseline", "latency_us_per_image",
"dominant_component", "dominant_share"}]}} -- "summary" holds the numbers of the summary table."""
from __future__ import annotations

from accelsim.energy import Report
from accelsim.errors import ConfigError
from accelsim.report.table import image_summary


def reports_to_json(reports: list[Report], objective: str = "dram") -> dict:
    if not reports:
        raise ConfigError("reports: no reports to write")
    first = reports[0]
    return {"model": first.model, "arch": first.arch, "lowering": first.lowering, "objective": objective,
            "batch": first.batch, "results": [r.to_json() for r in reports], "summary": image_summary(reports)}
