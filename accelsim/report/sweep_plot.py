"""Sweep figures (matplotlib imported only inside the functions, lazily):

- ``plot_buffer_sweep``: DRAM traffic and energy per image vs on-chip buffer size (log2 x axis), one
  line per curve (format, plus any other swept axis), knees and recommended buffers marked, the
  compulsory DRAM traffic as a dashed line;
- ``plot_heatmap``: energy per image over two swept axes (e.g. buffer x array), one panel per format.
Files are written through a temporary file and a rename: a failed plot leaves nothing behind.
"""
from __future__ import annotations

import math

from accelsim.errors import ConfigError
from accelsim.report.files import save_figure

AXIS_LABELS = {"buffer_kib": "total on-chip buffer", "array": "PE array (rows x cols)", "dram": "DRAM",
               "dataflow": "dataflow", "lowering": "transposed-conv lowering"}


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib (pip install accelsim[plot])") from None
    return plt


def _size_label(kib: float) -> str:
    if kib >= 1024:
        return f"{kib / 1024:g} MiB"
    return f"{kib:g} KiB"


def _save(fig, path: str) -> None:
    save_figure(fig, path, dpi=150, bbox_inches="tight")


def _curve_label(curve, varying) -> str:
    lab = curve.label
    parts = [lab["fmt"]]
    for k in varying:
        parts.append(_axis_value(lab, k))
    return ", ".join(parts)


def _log_if_wide(ax, values) -> None:
    """Log y when the curves span more than a decade; plain numbers on the ticks either way."""
    from matplotlib.ticker import FuncFormatter
    vals = [v for v in values if v > 0]
    if vals and max(vals) / min(vals) > 10:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(
            lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** math.floor(math.log10(v))) in (2, 5) else ""))


def plot_buffer_sweep(curves, answers, path: str, title: str) -> None:
    """``curves`` and ``answers`` from accelsim.sweep.analysis, in the same order."""
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator

    varying = [k for k in ("array", "dram", "dataflow", "lowering") if len({getattr(a, k) for a in answers}) > 1]
    fig, (ax_d, ax_e) = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ("-", "--", ":", "-.")
    fmts = list(dict.fromkeys(c.label["fmt"] for c in curves))        # colour: format
    combos = list(dict.fromkeys(_curve_label(c, varying).split(", ", 1)[-1] for c in curves))  # style: the rest
    all_d, all_e = [], []
    for c, a in zip(curves, answers):
        if not c.buffer_kib:
            continue
        color = colors[fmts.index(c.label["fmt"]) % len(colors)]
        k = combos.index(_curve_label(c, varying).split(", ", 1)[-1]) if varying else 0
        ls = styles[k % len(styles)]
        mib = [d / 2 ** 20 for d in c.dram_bytes_per_image]
        uj = [e / 1e6 for e in c.energy_per_image_pj]
        all_d += mib
        all_e += uj
        marker = ".osD^v"[k // len(styles) % 6] if len(c.buffer_kib) <= 40 else None
        ax_d.plot(c.buffer_kib, mib, color=color, ls=ls, marker=marker, lw=1.6, label=_curve_label(c, varying))
        ax_e.plot(c.buffer_kib, uj, color=color, ls=ls, marker=marker, lw=1.6)
        if c.compulsory_dram_bytes_per_image:
            ax_d.axhline(c.compulsory_dram_bytes_per_image / 2 ** 20, color=color, ls="--", lw=0.9, alpha=0.7)
        for ax, knee, ys in ((ax_d, a.knee_dram_buffer_kib, mib), (ax_e, a.knee_energy_buffer_kib, uj)):
            if knee is not None:
                ax.plot(knee, ys[c.buffer_kib.index(knee)], "o", ms=10, mfc="none", mec=color, mew=2)
        if a.recommended_buffer_kib is not None:
            ax_e.plot(a.recommended_buffer_kib, a.recommended_energy_per_image_pj / 1e6, "*", ms=13, color=color,
                      mec="black", mew=0.6)
    _log_if_wide(ax_d, all_d)
    _log_if_wide(ax_e, all_e)
    tol = answers[0].tolerance if answers else 0.05
    for ax, ylabel in ((ax_d, "DRAM traffic per image (MiB)"), (ax_e, "energy per image (\u00b5J)")):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(LogLocator(base=2, numticks=20))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _size_label(v) if v > 0 else ""))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel("total on-chip buffer capacity (log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    ax_d.set_title("DRAM traffic")
    ax_e.set_title("energy")
    handles, labels = ax_d.get_legend_handles_labels()
    handles += [Line2D([], [], ls="none", marker="o", ms=9, mfc="none", mec="black", mew=2),
                Line2D([], [], ls="none", marker="*", ms=12, color="grey", mec="black", mew=0.6),
                Line2D([], [], ls="--", color="grey", lw=0.9)]
    labels += ["knee (Kneedle)", f"smallest buffer within {100 * tol:g}% of best energy",
               "compulsory DRAM traffic"]
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.995, 0.5), fontsize=9, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    try:
        _save(fig, path)
    finally:
        plt.close(fig)


def _axis_value(row: dict, axis: str):
    if axis == "array":
        return "-" if row["array_rows"] is None else f"{row['array_rows']}x{row['array_cols']}"
    return row[axis]


def _axis_values(rows: list[dict], axis: str) -> list:
    """Buffer sizes ascending, arrays by PE count, other axes in the order the sweep gave them."""
    values = list(dict.fromkeys(_axis_value(r, axis) for r in rows))
    if axis == "buffer_kib":
        return sorted(values)
    if axis == "array":
        return sorted(values, key=lambda v: (int(v.split("x")[0]) * int(v.split("x")[1]), v))
    return values


def plot_heatmap(rows: list[dict], x_axis: str, y_axis: str, path: str, title: str) -> None:
    """Energy per image (uJ) over ``x_axis`` x ``y_axis`` (names from AXIS_LABELS), one panel per
    format; infeasible cells grey."""
    plt = _pyplot()
    import numpy as np

    fmts = list(dict.fromkeys(r["fmt"] for r in rows))
    xs, ys = _axis_values(rows, x_axis), _axis_values(rows, y_axis)
    n = len(fmts)
    ncols = math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    panel = (min(8.0, max(4.5, 0.55 * len(xs) + 2.2)), min(6.0, max(3.2, 0.45 * len(ys) + 1.8)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows), squeeze=False)
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    for k, fmt in enumerate(fmts):
        ax = axes[k // ncols][k % ncols]
        grid = np.full((len(ys), len(xs)), np.nan)
        for r in rows:
            if r["fmt"] == fmt and r["status"] == "ok":
                grid[ys.index(_axis_value(r, y_axis)), xs.index(_axis_value(r, x_axis))] = r["energy_per_image_pj"] / 1e6
        im = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto", cmap=cmap)
        fig.colorbar(im, ax=ax, label="energy per image (\u00b5J)")
        if len(xs) * len(ys) <= 120:
            lo, hi = np.nanmin(grid), np.nanmax(grid)
            for (i, j), v in np.ndenumerate(grid):
                if not np.isnan(v):   # dark text on the bright (high) end of viridis
                    light = hi > lo and (v - lo) / (hi - lo) > 0.6
                    ax.text(j, i, f"{v:.0f}" if v >= 100 else f"{v:.3g}", ha="center", va="center", fontsize=7,
                            color="black" if light else "white")
        step_x = max(1, len(xs) // 12)
        step_y = max(1, len(ys) // 12)
        fmt_tick = lambda axis, v: _size_label(v) if axis == "buffer_kib" else str(v)  # noqa: E731
        ax.set_xticks(range(0, len(xs), step_x), [fmt_tick(x_axis, v) for v in xs[::step_x]], rotation=45,
                      ha="right")
        ax.set_yticks(range(0, len(ys), step_y), [fmt_tick(y_axis, v) for v in ys[::step_y]])
        ax.set_xlabel(AXIS_LABELS[x_axis])
        ax.set_ylabel(AXIS_LABELS[y_axis])
        ax.set_title(f"{fmt} (grey: no tiling fits)" if np.isnan(grid).any() else fmt)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    try:
        _save(fig, path)
    finally:
        plt.close(fig)
