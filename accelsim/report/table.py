"""Plain-text tables of Reports: per layer (all formats) and per generated image."""
from __future__ import annotations

from accelsim.energy import COMPONENTS, Report

_COMPONENT_HEAD = {"dram": "DRAM", "dram_act": "ACT", "dram_bg": "DRAMbg", "buffer": "buf", "mac": "MAC",
                   "leakage": "leak", "crossbar": "xbar", "adc": "ADC", "shift_add": "S+A", "xbar_write": "xwr"}


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


def layer_table(reports: list[Report]) -> str:
    comps = components(reports)
    head = ["format", "layer", "lowering", "MACs eff/total", "weight B", "DRAM rd I/W/P B", "DRAM wr O/P B",
            "buf rd/wr KiB", "cycles", "stall", "util", "lat us"] + \
           [f"{_COMPONENT_HEAD[c]} nJ" for c in comps] + ["total nJ"]
    rows = []
    for rep in reports:
        for lr in rep.layers:
            a = lr.activity
            buf_r = sum(v for k, v in a.buffer_access_bits.items() if k.endswith(".read")) / 8192
            buf_w = sum(v for k, v in a.buffer_access_bits.items() if k.endswith(".write")) / 8192
            rd, wr = a.dram_read_bytes, a.dram_write_bytes
            rows.append([rep.fmt, a.name, a.method, f"{_fmt_int(a.macs_effectual)}/{_fmt_int(a.macs_total)}",
                         _fmt_int(a.weight_bytes), f"{_fmt_int(rd['ifmap'])}/{_fmt_int(rd['weight'])}/{_fmt_int(rd['psum'])}",
                         f"{_fmt_int(wr['ofmap'])}/{_fmt_int(wr['psum'])}", f"{buf_r:.1f}/{buf_w:.1f}",
                         _fmt_int(a.latency_cycles), _fmt_int(a.stall_cycles), f"{a.utilization:.2f}",
                         f"{a.latency_cycles / rep.clock_hz * 1e6:.2f}"]
                        + [f"{lr.energy_pj[c] / 1e3:.2f}" for c in comps] + [f"{lr.total_energy_pj / 1e3:.2f}"])
    return _table(rows, head, set(range(3, len(head))))


def image_table(reports: list[Report]) -> str:
    comps = components(reports)
    head = ["format", "energy/image uJ", "DRAM B", "weight B", "MACs eff/total", "cycles", "stall",
            "latency us"] + [f"{_COMPONENT_HEAD[c]} %" for c in comps]
    rows = []
    for rep in reports:
        e = rep.energy_pj
        total = rep.total_energy_pj or 1.0
        rows.append([rep.fmt, f"{rep.energy_per_image_uj:.4f}", _fmt_int(rep.dram_bytes / rep.batch),
                     _fmt_int(rep.weight_bytes), f"{_fmt_int(rep.macs_effectual)}/{_fmt_int(rep.macs_total)}",
                     _fmt_int(rep.cycles), _fmt_int(rep.stall_cycles), f"{rep.latency_us:.2f}"]
                    + [f"{100 * e[c] / total:.1f}" for c in comps])
    return _table(rows, head, set(range(1, len(head))))


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
    return _table(rows, head, set(range(1, len(head))))
