"""Stacked-bar PNG of the energy breakdown per format (matplotlib imported only here, lazily)."""
from __future__ import annotations

from accelsim.energy import COMPONENTS, Report
from accelsim.errors import ConfigError
from accelsim.report.files import save_figure
from accelsim.report.table import COMPONENT_LABEL, pj_to_uj


def plot_breakdown(reports: list[Report], path: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib (pip install accelsim[plot])") from None
    names = [r.fmt for r in reports]
    fig, ax = plt.subplots(figsize=(1.2 * len(reports) + 3, 4.5))
    bottom = [0.0] * len(reports)
    shown = {c for r in reports for c in r.components}
    for comp in (c for c in COMPONENTS if c in shown):
        vals = [pj_to_uj(r.energy_pj[comp]) / r.batch for r in reports]
        ax.bar(names, vals, bottom=bottom, label=COMPONENT_LABEL[comp])
        bottom = [b + v for b, v in zip(bottom, vals)]
    first = reports[0]
    ax.set_ylabel("energy per generated image (uJ)")
    ax.set_title(f"{first.model} on {first.arch} ({first.lowering} lowering)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=120)
    finally:
        plt.close(fig)
