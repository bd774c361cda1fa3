"""Plain-text tables of Reports: the per-format summary (the answer), per layer and per image in full.

Units are fixed per quantity and converted in one place (``pj_to_nj``, ``pj_to_uj``, ``cycles_to_us``):
energy in nJ in the layer table and in uJ per image elsewhere, bytes as integers, latency in us."""
from __future__ import annotations

from accelsim.energy import COMPONENTS, Report

# Short names (table headers, the summary's largest part) and long names (plot legends) of the components.
COMPONENT_SHORT = {"dram": "DRAM rd/wr", "dram_act": "DRAM act", "dram_bg": "DRAM bg", "dram_ref": "DRAM ref",
                   "buffer": "SRAM",
                   "mac": "MAC", "leakage": "leak", "crossbar": "xbar", "adc": "ADC", "shift_add": "S+A",
                   "xbar_write": "xbar wr"}
COMPONENT_LABEL = {"dram": "DRAM read/write", "dram_act": "DRAM activate", "dram_bg": "DRAM background",
                   "dram_ref": "DRAM refresh",
                   "buffer": "SRAM buffers", "mac": "PE / MAC", "leakage": "SRAM leakage",
                   "crossbar": "crossbar cells + drivers", "adc": "ADC", "shift_add": "shift-and-add",
                   "xbar_write": "cell reloads"}
BASELINE_FORMAT = "fp32"

SUMMARY_LEGEND = ("vs {base}: ratio to {base} | DRAM B: bytes read+written | us/img: batch latency/batch | "
                  "top: largest energy part")
LAYER_LEGEND = ("eff: MACs on real inputs (not inserted or padding zeros) | I/W/P: ifmap/weight/psum | O/P: ofmap/psum | "
                "SRAM: on-chip buffers | stall: cycles waiting on DRAM | PE util: all MACs/(PEs x compute cycles) | "
                "DRAM rd/wr: transfers, act: row activates, bg: background power, ref: refresh | leak: SRAM leakage")
CROSSBAR_LEGEND = ("fit: all weights resident on chip | cell util: cells used / cells of the crossbars used | "
                   "ADC conv: conversions per image | ADC %: of the energy per image | reloads: weight reload rounds "
                   "per batch")
IMAGE_LEGEND = ("per image: batch totals / batch; cycles and stall per batch; energy parts in % of the total "
                "(names as in the layer table)")


def pj_to_nj(pj: float) -> float:
    return pj / 1e3


def pj_to_uj(pj: float) -> float:
    return pj / 1e6


def cycles_to_us(cycles: float, clock_hz: float) -> float:
    return cycles / clock_hz * 1e6


def components(reports: list[Report]) -> tuple[str, ...]:
    """The energy components of the reports' archs (digital archs: the first six)."""
    shown = {c for r in reports for c in r.components}
    return tuple(c for c in COMPONENTS if c in shown)


def _fmt_int(n: float) -> str:
    return f"{int(round(n)):,}"


def _table(rows: list[list[str]], head: list[str], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    cell = lambda r: "  ".join(c.rjust(w) if i in right else c.ljust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    sep = "-" * len(cell(head))
    return "\n".join([cell(head), sep] + [cell(r) for r in rows])


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def image_summary(reports: list[Report]) -> dict:
    """The answer per format: uJ per image, DRAM bytes per image, latency per image, their ratios to the
    baseline format (fp32 when it is among the reports, else the first one) and the largest energy part.
    The summary table prints these numbers and the JSON holds them as they are."""
    base = next((r for r in reports if r.fmt == BASELINE_FORMAT), reports[0])
    base_uj, base_dram = base.energy_per_image_uj, base.dram_bytes / base.batch
    rows = []
    for rep in reports:
        e, total = rep.energy_pj, rep.total_energy_pj
        top = max(rep.components, key=lambda c: e[c])
        dram = rep.dram_bytes / rep.batch
        rows.append({"format": rep.fmt, "energy_per_image_uj": rep.energy_per_image_uj,
                     "energy_vs_baseline": _ratio(rep.energy_per_image_uj, base_uj),
                     "dram_bytes_per_image": dram, "dram_vs_baseline": _ratio(dram, base_dram),
                     "latency_us_per_image": rep.latency_us / rep.batch,
                     "dominant_component": top, "dominant_share": e[top] / total if total else 0.0})
    return {"baseline": base.fmt, "rows": rows}


def summary_table(reports: list[Report]) -> str:
    """The answer first: one row per format, under 110 columns, with a one-line legend."""
    s = image_summary(reports)
    base = s["baseline"]
    ratio = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    head = ["format", "energy uJ/img", f"E vs {base}", "DRAM B/img", f"DRAM vs {base}", "latency us/img",
            "top energy part"]
    rows = [[r["format"], f"{r['energy_per_image_uj']:.4f}", ratio(r["energy_vs_baseline"]),
             _fmt_int(r["dram_bytes_per_image"]), ratio(r["dram_vs_baseline"]), f"{r['latency_us_per_image']:.2f}",
             f"{COMPONENT_SHORT[r['dominant_component']]} {100 * r['dominant_share']:.1f}%"] for r in s["rows"]]
    return _table(rows, head, set(range(1, len(head) - 1))) + "\n" + SUMMARY_LEGEND.format(base=base)


def layer_table(reports: list[Report]) -> str:
    """Per layer and format; energy in nJ; a one-line legend under it."""
    comps = components(reports)
    head = ["format", "layer", "lowering", "MACs eff/total", "weight B", "DRAM rd I/W/P B", "DRAM wr O/P B",
            "SRAM rd/wr B", "cycles", "stall", "PE util", "latency us"] + \
           [f"{COMPONENT_SHORT[c]} nJ" for c in comps] + ["total nJ"]
    rows = []
    for rep in reports:
        for lr in rep.layers:
            a = lr.activity
            buf_r = sum(v for k, v in a.buffer_access_bits.items() if k.endswith(".read")) / 8
            buf_w = sum(v for k, v in a.buffer_access_bits.items() if k.endswith(".write")) / 8
            rd, wr = a.dram_read_bytes, a.dram_write_bytes
            rows.append([rep.fmt, a.name, a.method, f"{_fmt_int(a.macs_effectual)}/{_fmt_int(a.macs_total)}",
                         _fmt_int(a.weight_bytes), f"{_fmt_int(rd['ifmap'])}/{_fmt_int(rd['weight'])}/{_fmt_int(rd['psum'])}",
                         f"{_fmt_int(wr['ofmap'])}/{_fmt_int(wr['psum'])}", f"{_fmt_int(buf_r)}/{_fmt_int(buf_w)}",
                         _fmt_int(a.latency_cycles), _fmt_int(a.stall_cycles), f"{a.utilization:.2f}",
                         f"{cycles_to_us(a.latency_cycles, rep.clock_hz):.2f}"]
                        + [f"{pj_to_nj(lr.energy_pj[c]):.2f}" for c in comps] + [f"{pj_to_nj(lr.total_energy_pj):.2f}"])
    return _table(rows, head, set(range(3, len(head)))) + "\n" + LAYER_LEGEND


def image_table(reports: list[Report]) -> str:
    """Per format in full: energy, bytes, MACs, cycles and every energy part in %; a one-line legend under it."""
    comps = components(reports)
    head = ["format", "energy uJ/img", "DRAM B/img", "weight B", "MACs eff/total", "cycles", "stall",
            "latency us/img"] + [f"{COMPONENT_SHORT[c]} %" for c in comps]
    rows = []
    for rep in reports:
        e = rep.energy_pj
        total = rep.total_energy_pj or 1.0
        rows.append([rep.fmt, f"{rep.energy_per_image_uj:.4f}", _fmt_int(rep.dram_bytes / rep.batch),
                     _fmt_int(rep.weight_bytes), f"{_fmt_int(rep.macs_effectual)}/{_fmt_int(rep.macs_total)}",
                     _fmt_int(rep.cycles), _fmt_int(rep.stall_cycles), f"{rep.latency_us / rep.batch:.2f}"]
                    + [f"{100 * e[c] / total:.1f}" for c in comps])
    return _table(rows, head, set(range(1, len(head)))) + "\n" + IMAGE_LEGEND


def crossbar_table(reports: list[Report]) -> str:
    """Crossbar placement per format: crossbars used / on chip, cell utilization, ADC share, one-time
    programming energy and time, reloads per batch and endurance."""
    head = ["format", "crossbars", "on chip", "fit", "cell util", "ADC conv", "ADC %", "program uJ", "program us",
            "reloads", "writes/cell/img", "images to wear-out"]
    rows = []
    for rep in reports:
        s = rep.crossbar_summary()
        if s is None:
            continue
        wear = s["images_until_worn_out"]
        rows.append([rep.fmt, _fmt_int(s["crossbars"]), _fmt_int(s["chip_crossbars"]),
                     "yes" if s["weights_fit_on_chip"] else "no", f"{s['utilization']:.2f}",
                     _fmt_int(s["adc_conversions"] / rep.batch), f"{100 * s['adc_share']:.1f}",
                     f"{s['programming_energy_uj']:.2f}", f"{s['programming_time_us']:.2f}",
                     str(s["reload_rounds_per_batch"]), f"{s['writes_per_cell_per_image']:.3g}",
                     "-" if wear is None else f"{wear:.3g}"])
    return _table(rows, head, set(range(1, len(head)))) + "\n" + CROSSBAR_LEGEND
