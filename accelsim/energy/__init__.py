"""Energy: one energy reference table per architecture (CACTI SRAM, Horowitz arithmetic, DRAM presets)
and the single function that prices action counts."""
from accelsim.energy.model import COMPONENTS, DIGITAL_COMPONENTS, price
from accelsim.energy.result import LayerResult, Report
from accelsim.energy.tables import EnergyTable, arith_energy_pj, buffer_energy, energy_table, sram_energy

__all__ = ["COMPONENTS", "DIGITAL_COMPONENTS", "EnergyTable", "LayerResult", "Report", "arith_energy_pj",
           "buffer_energy", "energy_table", "price", "sram_energy"]
