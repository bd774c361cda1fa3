"""The cocotb test of one layer (imported by the simulator, not by accelsim): reset, start the tile
controller, wait for done (bounded by ACCELSIM_RTL_MAX_CYCLES), dump the output buffer, and write
the cycle counters to the JSON file named by ACCELSIM_RTL_RESULT."""
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge


@cocotb.test()
async def run_layer(dut):
    limit = int(os.environ["ACCELSIM_RTL_MAX_CYCLES"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.dump.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    dut.start.value = 1
    await RisingEdge(dut.clk)
    dut.start.value = 0
    timeout = ClockCycles(dut.clk, limit)
    fired = await First(RisingEdge(dut.done), timeout)
    finished = fired is not timeout and int(dut.done.value) == 1
    if finished:
        await RisingEdge(dut.clk)
        dut.dump.value = 1
        await RisingEdge(dut.clk)
        dut.dump.value = 0
        await RisingEdge(dut.clk)
    with open(os.environ["ACCELSIM_RTL_RESULT"], "w") as f:
        json.dump({"done": finished, "compute_cycles": int(dut.compute_cycles.value),
                   "control_cycles": int(dut.control_cycles.value)}, f)
    assert finished, f"the core did not finish within {limit} cycles"
