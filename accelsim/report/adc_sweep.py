"""ADC-resolution sweep output: a text table and a two-axis PNG (matplotlib imported lazily)."""
from __future__ import annotations

from accelsim.errors import ConfigError
from accelsim.report.files import save_figure
from accelsim.report.table import _table


def _opt(v, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def adc_sweep_table(points) -> str:
    head = ["ADC bits", "lossless", "energy/image uJ", "ADC uJ", "ADC %", "latency us", "PSNR dB",
            "max |acc err|", "mean rel err", "clipped %"]
    rows = [[str(p.adc_bits), "yes" if p.lossless else "no", f"{p.energy_per_image_uj:.4f}",
             f"{p.adc_energy_per_image_uj:.4f}", f"{100 * p.adc_share:.1f}", f"{p.latency_us:.2f}",
             _opt(p.psnr_db, ".2f"), _opt(p.max_abs_error, "d"), _opt(p.mean_rel_error, ".3g"),
             _opt(None if p.clipped_fraction is None else 100 * p.clipped_fraction, ".3g")] for p in points]
    return _table(rows, head, set(range(len(head))))


def plot_adc_sweep(points, info: dict, path: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib (pip install accelsim[plot])") from None
    bits = [p.adc_bits for p in points]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot(bits, [p.energy_per_image_uj for p in points], "o-", color="tab:blue", label="energy / image")
    ax.plot(bits, [p.adc_energy_per_image_uj for p in points], "s--", color="tab:cyan", label="ADC energy / image")
    ax.set_xlabel("ADC bits")
    ax.set_ylabel("energy per image (uJ)")
    if any(p.psnr_db is not None for p in points):
        ax2 = ax.twinx()
        ax2.plot(bits, [p.psnr_db for p in points], "^-", color="tab:red", label="PSNR vs fp32")
        if info.get("psnr_golden_db") is not None:
            ax2.axhline(info["psnr_golden_db"], color="tab:red", ls=":", label="golden quantized")
        ax2.set_ylabel("PSNR vs fp32 (dB)")
        ax2.legend(loc="lower right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{info['model']} {info['format']} on {info['arch']} ({info['lowering']})")
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=120)
    finally:
        plt.close(fig)
