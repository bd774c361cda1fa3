"""Simulation: systolic-array fold timing (SCALE-Sim compatible), DRAM bank/row timing, and the cycle
engine that replays tile schedules. Emits cycles and action counts; prices nothing."""
from accelsim.sim.array import SramTraffic, compute_cycles, fold_cycles, folds, scalesim_reported_cycles, sram_traffic
from accelsim.sim.dram import DramResult, service
from accelsim.sim.engine import LayerActivity, simulate_conv, simulate_elementwise, timeline

__all__ = ["DramResult", "LayerActivity", "SramTraffic", "compute_cycles", "fold_cycles", "folds",
           "scalesim_reported_cycles", "service", "simulate_conv", "simulate_elementwise", "sram_traffic",
           "timeline"]
