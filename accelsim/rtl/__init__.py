"""Reference RTL of the simulated compute core (docs/rtl.md): an R x C systolic array (os, ws) with a
processing element per format family, the requantization unit and a tile controller, generated as
SystemVerilog from the ArchSpec and the format registry (``sv``, ``config``); ``program`` writes a
layer's descriptor tables from the vectors' manifest; ``run`` builds it with Verilator under cocotb
and checks every layer's output and compute cycles; ``area`` synthesizes it with Yosys. cocotb,
Verilator and Yosys are the optional ``accelsim[rtl]`` extra (``tools``), imported only when used."""
