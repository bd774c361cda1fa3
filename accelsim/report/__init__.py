"""Reports: text tables, JSON, and the stacked-bar plot (matplotlib imported lazily)."""
from accelsim.report.json_out import reports_to_json
from accelsim.report.table import crossbar_table, image_summary, image_table, layer_table, summary_table


def plot_breakdown(reports, path: str) -> None:
    from accelsim.report.plot import plot_breakdown as _plot
    _plot(reports, path)


__all__ = ["crossbar_table", "image_summary", "image_table", "layer_table", "plot_breakdown", "reports_to_json",
           "summary_table"]
