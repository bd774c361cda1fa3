"""The compression comparison as a text table and as an energy-vs-quality plot (Pareto front marked).

Both take JSON-ready rows (``accelsim.compare.CompareRow.to_json()``), so a saved comparison can be
re-plotted without re-running it."""
from __future__ import annotations

import math

from accelsim.errors import ConfigError
from accelsim.report.files import save_figure
from accelsim.report.table import _fmt_int, _table


def _num(v, spec: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):          # "inf" from JSON
        return v
    return format(v, spec) if math.isfinite(v) else str(v)


def compare_table(rows: list[dict], front: list[str] = ()) -> str:
    head = ["compression", "format", "weight bits", "ratio", "density", "MACs eff", "DRAM B/image",
            "energy/image uJ", "latency us", "PSNR dB", "SSIM", "digit-FID", "PSNR GT dB", "Pareto"]
    body = []
    for r in rows:
        body.append([r["name"], r["fmt"], _fmt_int(r["weight_bits"]), f"{r['compression_ratio']:.1f}x",
                     f"{r['weight_density']:.2f}", _fmt_int(r["macs_effectual"]), _fmt_int(r["dram_bytes"]),
                     f"{r['energy_per_image_uj']:.3f}", f"{r['latency_us']:.1f}", _num(r["psnr_db"], ".2f"),
                     _num(r["ssim"], ".4f"), _num(r["fid"], ".2f"), _num(r["psnr_gt_db"], ".2f"),
                     "*" if r["name"] in front else ""])
    return _table(body, head, set(range(2, len(head) - 1))) + "\n" + COMPARE_LEGEND


COMPARE_LEGEND = ("weight bits: exact stored size of the weights (codes, per-channel scales, sparse indices, "
                  "codebooks, Huffman tables), also what DRAM moves | ratio: fp32 weight bits / weight bits | "
                  "density: nonzero weights | MACs eff: products of a real input and a nonzero weight | "
                  "*: on the energy-quality Pareto front\n"
                  "why `accelsim energy` differs: it prices the format's codes (and shared exponents) only, "
                  "without the per-channel scales (4 bytes per output channel), so its energy and DRAM bytes are slightly lower")


def plot_compare(rows: list[dict], path: str, title: str, front: list[str], quality_key: str = "fid") -> None:
    """Energy per image (x, log) vs quality (y: digit-FID, lower is better, or PSNR vs fp32); the
    Pareto front drawn as a step line, every point labelled."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib (pip install accelsim[plot])") from None

    def q(r):
        v = r[quality_key]
        if v == "inf":
            return None
        return v if isinstance(v, (int, float)) and math.isfinite(v) else None

    pts = [(r["energy_per_image_uj"], q(r), r["name"]) for r in rows if q(r) is not None]
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    on = [p for p in pts if p[2] in front]
    off = [p for p in pts if p[2] not in front]
    ax.scatter([p[0] for p in off], [p[1] for p in off], color="tab:gray", s=28, label="compression")
    ax.scatter([p[0] for p in on], [p[1] for p in on], color="tab:red", s=40, zorder=3, label="Pareto front")
    on.sort()
    if len(on) > 1:
        ax.step([p[0] for p in on], [p[1] for p in on], where="post", color="tab:red", lw=1.2, alpha=0.7)
    for x, y, name in pts:
        ax.annotate(name, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("energy per generated image (uJ, log scale)")
    ax.set_ylabel("digit-FID (lower is better)" if quality_key == "fid" else "PSNR vs fp32 (dB, higher is better)")
    if quality_key == "fid":
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=130)
    finally:
        plt.close(fig)
