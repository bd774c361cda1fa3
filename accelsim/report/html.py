"""``accelsim report``: one self-contained HTML page (inline SVG, no script, no network) an architect can
look at and send: the answer per format, the energy breakdown, the per-layer table, utilisation and a
roofline per layer, the compression comparison's Pareto plot and, given a sweep store, the buffer curves.

``render(doc)`` takes one JSON-ready document (``energy``: ``reports_to_json``; ``roofline``: the
array's peak and the DRAM bandwidth; ``compare``: rows and front; ``sweep``: curves and answers) and
embeds it verbatim in ``<script type="application/json" id="accelsim-data">``, so every number on the
page can be checked against the data it was drawn from (tests/test_report_html.py does).
"""
from __future__ import annotations

import html
import json
import math

from accelsim.report.table import COMPONENT_SHORT, pj_to_uj

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac", "#86bcb6", "#d37295")
W, H, PAD = 720, 300, 56       # plot size and margin (px)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table(head: list[str], rows: list[list], cls: str) -> str:
    out = [f'<table class="{cls}"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>")
    return "".join(out) + "</tbody></table>"


def _svg(body: list[str], title: str, height: int = H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" '
            f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>' + "".join(body) + "</svg>")


def _scale(lo: float, hi: float, a: float, b: float, log: bool = False):
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    span = (hi - lo) or 1.0
    return lambda v: a + (b - a) * (((math.log10(v) if log else v) - lo) / span)


def _axes(x_label: str, y_label: str, height: int = H) -> list[str]:
    return [f'<line x1="{PAD}" y1="{height - PAD}" x2="{W - 12}" y2="{height - PAD}" stroke="#333"/>',
            f'<line x1="{PAD}" y1="12" x2="{PAD}" y2="{height - PAD}" stroke="#333"/>',
            f'<text x="{(W + PAD) / 2}" y="{height - 14}" text-anchor="middle" font-size="12">{_e(x_label)}</text>',
            f'<text x="14" y="{(height - PAD) / 2}" font-size="12" transform="rotate(-90 14 {(height - PAD) / 2})" '
            f'text-anchor="middle">{_e(y_label)}</text>']


def _ticks(lo: float, hi: float, sx, height: int, axis: str, log: bool = False) -> list[str]:
    out = []
    vals = ([10 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
             if lo <= 10 ** k <= hi] if log else [lo + (hi - lo) * k / 4 for k in range(5)])
    for v in vals:
        p = sx(v)
        label = f"{v:g}" if log or abs(v) >= 100 or v == 0 else f"{v:.3g}"
        if axis == "x":
            out.append(f'<text x="{p:.1f}" y="{height - PAD + 16}" text-anchor="middle" font-size="10">{label}</text>')
        else:
            out.append(f'<text x="{PAD - 6}" y="{p + 3:.1f}" text-anchor="end" font-size="10">{label}</text>')
    return out


def breakdown_svg(energy: dict) -> str:
    """Stacked horizontal bars: uJ per image per format, one colour per energy part."""
    results = energy["results"]
    parts = [c for c in results[0]["energy_pj"]]
    height = PAD + 28 * len(results) + 40
    total_max = max(sum(r["energy_pj"].values()) / energy["batch"] for r in results) or 1.0
    sx = _scale(0.0, pj_to_uj(total_max), PAD + 70, W - 110)     # room for the total's label
    body = []
    for i, r in enumerate(results):
        y, x = 16 + 28 * i, PAD + 70
        body.append(f'<text x="{PAD + 64}" y="{y + 14}" text-anchor="end" font-size="12">{_e(r["format"])}</text>')
        for k, c in enumerate(parts):
            w = sx(pj_to_uj(r["energy_pj"][c] / energy["batch"])) - (PAD + 70)
            if w > 0:
                body.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="20" fill="{PALETTE[k % len(PALETTE)]}">'
                            f'<title>{_e(r["format"])} {_e(COMPONENT_SHORT.get(c, c))}: '
                            f'{pj_to_uj(r["energy_pj"][c] / energy["batch"]):.4f} uJ</title></rect>')
                x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + 14}" font-size="11">{r["energy_per_image_uj"]:.4f} uJ</text>')
    ly = 16 + 28 * len(results) + 12
    for k, c in enumerate(parts):
        lx = PAD + 70 + 105 * (k % 6)
        row = ly + 16 * (k // 6)
        body.append(f'<rect x="{lx}" y="{row}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
                    f'<text x="{lx + 14}" y="{row + 9}" font-size="10">{_e(COMPONENT_SHORT.get(c, c))}</text>')
    return _svg(body, "energy per generated image by part", height + 16 * (len(parts) // 6))


def roofline_svg(energy: dict, roof: dict) -> str:
    """Per layer and format: MACs per cycle against MACs per DRAM byte (log-log), under the roofs
    min(peak MACs/cycle, DRAM bytes/cycle x intensity)."""
    pts = [(l["macs_total"] / l["dram_bytes"], l["macs_total"] / l["cycles"], r["format"], l["name"])
           for r in energy["results"] for l in r["layers"] if l["dram_bytes"] > 0 and l["cycles"] > 0 and l["macs_total"] > 0]
    peak, bw = roof["peak_macs_per_cycle"], roof["dram_bytes_per_cycle"]
    if not pts:
        return "<p>No layer with MACs and DRAM traffic to place on a roofline.</p>"
    x_lo, x_hi = min(p[0] for p in pts) / 2, max(max(p[0] for p in pts) * 2, 2 * peak / bw)
    y_lo, y_hi = min(p[1] for p in pts) / 2, peak * 2
    sx, sy = _scale(x_lo, x_hi, PAD, W - 20, True), _scale(y_lo, y_hi, H - PAD, 12, True)
    body = _axes("arithmetic intensity: MACs per DRAM byte (log)", "MACs per cycle (log)")
    body += _ticks(x_lo, x_hi, sx, H, "x", True) + _ticks(y_lo, y_hi, sy, H, "y", True)
    knee = peak / bw
    xs = [x_lo, max(x_lo, min(knee, x_hi)), x_hi]
    line = " ".join(f"{sx(x):.1f},{sy(min(peak, bw * x)):.1f}" for x in xs if min(peak, bw * x) >= y_lo)
    body.append(f'<polyline points="{line}" fill="none" stroke="#222" stroke-width="1.5"/>')
    body.append(f'<text x="{W - 24}" y="{sy(peak) - 6:.1f}" text-anchor="end" font-size="10">roofs: peak {peak:g} '
                f'MACs/cycle, DRAM {bw:g} B/cycle</text>')
    fmts = list(dict.fromkeys(p[2] for p in pts))
    for x, y, f, name in pts:
        c = PALETTE[fmts.index(f) % len(PALETTE)]
        body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{c}"><title>{_e(f)} {_e(name)}: '
                    f'{x:.3g} MACs/B, {y:.3g} MACs/cycle</title></circle>')
    for k, f in enumerate(fmts):
        body.append(f'<circle cx="{PAD + 14 + 72 * k}" cy="{H + 8}" r="4" fill="{PALETTE[k % len(PALETTE)]}"/>'
                    f'<text x="{PAD + 22 + 72 * k}" y="{H + 12}" font-size="10">{_e(f)}</text>')
    return _svg(body, "roofline per layer", H + 22)


def pareto_svg(rows: list[dict], front: list[str], quality_key: str) -> str:
    """Energy per image (x) against quality (y), the Pareto front joined."""
    def q(r):
        v = r.get(quality_key)
        return v if isinstance(v, (int, float)) and math.isfinite(v) else None
    pts = [(r["energy_per_image_uj"], q(r), r["name"]) for r in rows if q(r) is not None]
    if not pts:
        return "<p>No row with a finite quality score to plot.</p>"
    x_lo, x_hi = min(p[0] for p in pts) * 0.9, max(p[0] for p in pts) * 1.1
    y_lo, y_hi = min(p[1] for p in pts), max(p[1] for p in pts)
    pad = (y_hi - y_lo) * 0.08 or 1.0
    sx, sy = _scale(x_lo, x_hi, PAD, W - 20, True), _scale(y_lo - pad, y_hi + pad, H - PAD, 12)
    label = {"psnr_db": "PSNR vs fp32, dB (higher is better)", "fid": "digit-FID (lower is better)"}[quality_key]
    body = _axes("energy per generated image, uJ (log)", label)
    body += _ticks(x_lo, x_hi, sx, H, "x", True) + _ticks(y_lo - pad, y_hi + pad, sy, H, "y")
    on = sorted(p for p in pts if p[2] in front)
    if len(on) > 1:
        body.append('<polyline points="' + " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in on) +
                    '" fill="none" stroke="#e15759" stroke-width="1.2"/>')
    for x, y, name in pts:
        c = "#e15759" if name in front else "#888"
        body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{c}"><title>{_e(name)}: {x:.4f} uJ, '
                    f'{y:.2f}</title></circle><text x="{sx(x) + 6:.1f}" y="{sy(y) - 5:.1f}" font-size="9">{_e(name)}</text>')
    return _svg(body, "energy vs quality, Pareto front")


def sweep_svg(curves: list[dict]) -> str:
    """Energy per image against the on-chip buffer size, one line per curve."""
    pts = [(b, e) for c in curves for b, e in zip(c["buffer_kib"], c["energy_per_image_pj"])]
    if not pts:
        return "<p>The sweep store has no feasible point.</p>"
    x_lo, x_hi = min(p[0] for p in pts), max(p[0] for p in pts)
    y_lo, y_hi = min(p[1] for p in pts), max(p[1] for p in pts)
    if x_hi == x_lo:
        x_hi = x_lo * 2
    sx = _scale(x_lo, x_hi, PAD, W - 20, True)
    sy = _scale(pj_to_uj(y_lo) * 0.95, pj_to_uj(y_hi) * 1.05, H - PAD, 12)
    body = _axes("on-chip buffer, KiB (log)", "energy per image, uJ")
    body += _ticks(x_lo, x_hi, sx, H, "x", True) + _ticks(pj_to_uj(y_lo) * 0.95, pj_to_uj(y_hi) * 1.05, sy, H, "y")
    for k, c in enumerate(curves):
        col = PALETTE[k % len(PALETTE)]
        body.append('<polyline points="' + " ".join(f"{sx(b):.1f},{sy(pj_to_uj(e)):.1f}" for b, e in
                                                      zip(c["buffer_kib"], c["energy_per_image_pj"])) +
                    f'" fill="none" stroke="{col}" stroke-width="1.5"/>')
        name = " ".join(str(c.get(k2, "")) for k2 in ("fmt", "array", "dram", "lowering") if c.get(k2) is not None)
        body.append(f'<text x="{PAD + 10}" y="{20 + 13 * k}" font-size="10" fill="{col}">{_e(name)}</text>')
    return _svg(body, "buffer sweep: energy per image against buffer size")


STYLE = ("body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}"
         "table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 6px}"
         "td{text-align:right}td:first-child{text-align:left}th{background:#f3f3f3}.legend{font-size:11px;color:#555}"
         "h2{margin-top:28px;border-bottom:1px solid #ddd}")


def render(doc: dict) -> str:
    """The page (a str) for a document (module docstring)."""
    e, s = doc["energy"], doc["energy"]["summary"]
    base = s["baseline"]
    ratio = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           f"<title>accelsim report: {_e(e['model'])} on {_e(e['arch'])}</title><style>{STYLE}</style></head><body>",
           f"<h1>{_e(e['model'])} on {_e(e['arch'])}</h1>",
           f"<p>{_e(doc.get('setup', ''))}</p>",
           "<h2>Energy per generated image</h2>",
           _table(["format", "energy uJ/img", f"E vs {base}", "DRAM B/img", f"DRAM vs {base}", "latency us/img",
                   "top energy part"],
                  [[r["format"], f"{r['energy_per_image_uj']:.4f}", ratio(r["energy_vs_baseline"]),
                    f"{r['dram_bytes_per_image']:,.0f}", ratio(r["dram_vs_baseline"]), f"{r['latency_us_per_image']:.2f}",
                    f"{COMPONENT_SHORT.get(r['dominant_component'], r['dominant_component'])} "
                    f"{100 * r['dominant_share']:.1f}%"] for r in s["rows"]], "summary"),
           breakdown_svg(e),
           "<h2>Per layer</h2>",
           _table(["format", "layer", "op", "MACs eff", "MACs total", "DRAM B", "cycles", "stall", "PE util %",
                   "energy uJ", "mapping"],
                  [[r["format"], l["name"], l["op"], f"{l['macs_effectual']:,}", f"{l['macs_total']:,}",
                    f"{l['dram_bytes']:,}", f"{l['cycles']:,}", f"{l['stall_cycles']:,}",
                    f"{100 * l['utilization']:.1f}", f"{pj_to_uj(l['energy_total_pj']):.4f}", l.get("mapping", "")]
                   for r in e["results"] for l in r["layers"]], "layers"),
           '<p class="legend">MACs eff: products of real inputs (not inserted or padding zeros) | PE util: busy '
           "PE-cycles / (PEs x compute cycles) | energy per layer per batch</p>"]
    if doc.get("roofline"):
        out += ["<h2>Roofline per layer</h2>", roofline_svg(e, doc["roofline"])]
    if doc.get("compare"):
        c = doc["compare"]
        out += ["<h2>Compressions: energy against quality</h2>", pareto_svg(c["rows"], c["pareto_front"], c["quality_key"]),
                _table(["compression", "format", "weight bits", "DRAM B/image", "energy uJ/image", "PSNR dB", "SSIM",
                        "Pareto"],
                       [[r["name"], r["fmt"], f"{r['weight_bits']:,}", f"{r['dram_bytes']:,}",
                         f"{r['energy_per_image_uj']:.4f}", "-" if r["psnr_db"] is None else str(r["psnr_db"]),
                         "-" if r["ssim"] is None else str(r["ssim"]), "*" if r["name"] in c["pareto_front"] else ""]
                        for r in c["rows"]], "compare")]
    if doc.get("sweep"):
        out += ["<h2>Buffer sweep</h2>", sweep_svg(doc["sweep"]["curves"]),
                _table(["format", "array", "lowering", "recommended KiB", "energy uJ there", "knee (DRAM) KiB"],
                       [[a["fmt"], a["array"], a["lowering"], "-" if a["recommended_buffer_kib"] is None else
                         f"{a['recommended_buffer_kib']:g}", "-" if a["recommended_energy_per_image_pj"] is None else
                         f"{pj_to_uj(a['recommended_energy_per_image_pj']):.4f}",
                         "-" if a["knee_dram_buffer_kib"] is None else f"{a['knee_dram_buffer_kib']:g}"]
                        for a in doc["sweep"]["answers"]], "sweep")]
    data = json.dumps(doc, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    out.append(f'<script type="application/json" id="accelsim-data">{data}</script>')
    out.append(f'<p class="legend">{_e(doc.get("generated_by", "accelsim report"))}</p></body></html>')
    return "\n".join(out) + "\n"
