"""The one place where action counts become energy: sum over actions of count x pJ per action."""
from __future__ import annotations

from accelsim.energy.tables import EnergyTable
from accelsim.errors import ConfigError

# The first seven are every arch's; the last four only crossbar archs' (ADC conversions, crossbar
# cells + row DACs + column drivers, shift-and-add, and cell writes when weights are reloaded).
COMPONENTS = ("dram", "dram_act", "dram_bg", "dram_ref", "buffer", "mac", "leakage", "crossbar", "adc", "shift_add",
              "xbar_write")
DIGITAL_COMPONENTS = COMPONENTS[:7]


def price(actions: dict, table: EnergyTable) -> dict:
    """Energy in pJ per component for a dict of action counts. Unknown actions are an error."""
    out = dict.fromkeys(COMPONENTS, 0.0)
    for key, count in actions.items():
        if key not in table.entries:
            raise ConfigError(f"no energy for action {key!r} in the table of arch {table.arch_name!r}")
        for component, pj in table.entries[key]:
            out[component] += float(count) * pj
    return out
