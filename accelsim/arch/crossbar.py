"""CrossbarSpec: ReRAM crossbar tiles of an in-memory-computing accelerator (DESIGN.md section 4).

A chip has ``tiles`` x ``crossbars_per_tile`` crossbars of ``rows`` x ``cols`` cells. Weights are
stationary in the cells (``bits_per_cell`` bits each, programmed to one of ``cell_levels``
equally spaced conductance levels); inputs are applied bit-serially through ``dac_bits``-bit DACs on
the rows; every column's current is digitized by an ADC of ``adc_bits`` shared by ``cols_per_adc``
columns. Units are in the names; ranges are validated like every other spec (``check_fields``).
Equations and sources: docs/crossbar.md. Per-action energies come from the energy tables
(hwcomponents-neurosim, hwcomponents-adc), unless ``cell_read_energy_pj`` / ``cell_write_energy_pj``
override the cell's own energies.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from accelsim.arch.spec import _choices, _rng, check_fields
from accelsim.errors import ConfigError

SIGNED_ENCODINGS = ("differential", "offset")
ADC_MODES = ("scaled", "clipped")
# Sample cells shipped with hwcomponents-neurosim: nvsim_RRAM is a 1R crossbar cell (4 F^2, no access
# transistor), nvmexplorer_RRAM a 1T1R cell (53 F^2, CMOS access); both 10 ns / 0.6 pJ SET pulses.
CELL_MODELS = ("nvsim_RRAM", "nvmexplorer_RRAM")


@dataclass(frozen=True)
class CrossbarSpec:
    """ReRAM crossbar tiles.

    signed_encoding: how signed fixed-point / flexpoint / binary weights are stored:
        ``differential`` -- a positive and a negative column per weight slice (w = G+ - G-);
        ``offset`` -- one column per slice holding w + offset, minus offset x (a per-crossbar
        reference column of unit cells that measures the sum of the inputs). Ternary weights always
        use a differential pair (+1 -> (1, 0), 0 -> (0, 0), -1 -> (0, 1)).
    adc_mode: how an ADC of ``adc_bits`` digitizes a column sum I (in units of one conductance step
        times one DAC step); full scale I_max = rows * (2^bits_per_cell - 1) * (2^dac_bits - 1):
        ``scaled`` -- step lsb = 2^max(0, ceil(log2(I_max + 1)) - adc_bits) covers the full scale;
        ``clipped`` -- step lsb = 1 (unit resolution), sums above 2^adc_bits - 1 saturate.
        Both: code = min(floor(I / lsb + 1/2), 2^adc_bits - 1), value = code * lsb (lossless when
        adc_bits >= ceil(log2(I_max + 1))).
    sample_and_hold: True (ISAAC): one read latches every column, the ADCs convert them while the
        next input bit is applied; False (NeuroSim): the ``cols_per_adc`` column groups are read one
        after another, one read pulse each.
    pipelined: True: layers run as a pipeline (ISAAC), intermediate activations stay in the on-chip
        buffers when they fit; False: layer by layer through DRAM.
    replicate_weights: when the whole network fits, spare crossbars hold copies of the slowest
        layers' weights (ISAAC balances its pipeline so), each copy taking a share of the pixels.
    Buffers (ArchSpec.buffers) describe one tile's buffer; the chip holds ``tiles`` of them.
    Defaults are the isaac-like preset's values (arch/presets/isaac-like.yaml cites each source).
    """
    rows: int = field(default=128, metadata=_rng(2, 1024))
    cols: int = field(default=128, metadata=_rng(2, 1024))
    bits_per_cell: int = field(default=2, metadata=_rng(1, 4))
    cell_levels: int = field(default=4, metadata=_rng(2, 64))
    dac_bits: int = field(default=1, metadata=_rng(1, 8))
    adc_bits: int = field(default=8, metadata=_rng(1, 16))
    adc_mode: str = field(default="clipped", metadata=_choices(*ADC_MODES))
    cols_per_adc: int = field(default=128, metadata=_rng(1, 1024))
    adc_sample_rate_msps: float = field(default=1280.0, metadata=_rng(1.0, 100000.0))
    sample_and_hold: bool = True
    read_latency_ns: float = field(default=100.0, metadata=_rng(0.1, 100000.0))
    write_latency_ns: float = field(default=10.0, metadata=_rng(0.1, 1e9))
    endurance_cycles: float = field(default=1e6, metadata=_rng(1.0, 1e18))
    tiles: int = field(default=168, metadata=_rng(1, 1 << 20))
    crossbars_per_tile: int = field(default=96, metadata=_rng(1, 1 << 16))
    signed_encoding: str = field(default="offset", metadata=_choices(*SIGNED_ENCODINGS))
    cell_model: str = field(default="nvsim_RRAM", metadata=_choices(*CELL_MODELS))
    pipelined: bool = True
    replicate_weights: bool = True
    vector_lanes: int = field(default=168, metadata=_rng(1, 1 << 20))
    cell_read_energy_pj: float | None = field(default=None, metadata=_rng(0.0, 1e6))
    cell_write_energy_pj: float | None = field(default=None, metadata=_rng(0.0, 1e9))

    def __post_init__(self):
        check_fields(self, "crossbar")
        if self.cell_levels < 1 << self.bits_per_cell:
            raise ConfigError(f"crossbar.cell_levels: {self.cell_levels} levels cannot hold {self.bits_per_cell} bits "
                             f"per cell; allowed [{1 << self.bits_per_cell}, 64]")
        if self.cols_per_adc > self.cols:
            raise ConfigError(f"crossbar.cols_per_adc: {self.cols_per_adc} is out of range; allowed [1, {self.cols}] "
                             "(crossbar.cols)")

    @property
    def chip_crossbars(self) -> int:
        return self.tiles * self.crossbars_per_tile

    @property
    def cells_per_crossbar(self) -> int:
        return self.rows * self.cols

    @property
    def adcs_per_crossbar(self) -> int:
        return -(-self.cols // self.cols_per_adc)

    @property
    def max_column_sum(self) -> int:
        """Largest column sum a read can produce (conductance steps x DAC steps), the ADC full scale."""
        return self.rows * ((1 << self.bits_per_cell) - 1) * ((1 << self.dac_bits) - 1)

    @property
    def lossless_adc_bits(self) -> int:
        """ADC resolution at which every column sum is converted exactly."""
        return self.max_column_sum.bit_length()

    @property
    def adc_lsb(self) -> int:
        """ADC step in column-sum units (see ``adc_mode``)."""
        if self.adc_mode == "clipped":
            return 1
        return 1 << max(0, self.lossless_adc_bits - self.adc_bits)

    @property
    def read_cycle_ns(self) -> float:
        """Time to apply one input bit (DAC step) to a crossbar and digitize every column."""
        convert_ns = 1000.0 / self.adc_sample_rate_msps
        if self.sample_and_hold:
            return max(self.read_latency_ns, self.cols_per_adc * convert_ns)
        return self.cols_per_adc * (self.read_latency_ns + convert_ns)
