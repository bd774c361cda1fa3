"""Simulation: systolic-array fold timing (SCALE-Sim compatible), DRAM bank/row timing, the cycle
engine that replays tile schedules, and the ReRAM crossbar model (``crossbar``; its numba functional
model ``crossbar_func`` is imported on demand). Emits cycles and action counts; prices nothing."""
from accelsim.sim.array import (SramTraffic, compute_cycles, control_cycles, fold_cycles, folds, scalesim_reported_cycles,
                                sram_traffic)
from accelsim.sim.crossbar import XbarLayerStats, XbarNetwork, crossbar_network, simulate_crossbar
from accelsim.sim.dram import DramResult, service
from accelsim.sim.engine import LayerActivity, simulate_conv, simulate_elementwise, timeline

__all__ = ["DramResult", "LayerActivity", "SramTraffic", "XbarLayerStats", "XbarNetwork", "compute_cycles",
           "control_cycles", "crossbar_network", "fold_cycles", "folds", "scalesim_reported_cycles", "service", "simulate_conv",
           "simulate_crossbar", "simulate_elementwise", "sram_traffic", "timeline"]
