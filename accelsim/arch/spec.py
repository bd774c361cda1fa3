"""ArchSpec: the accelerator as frozen dataclasses. Every field carries its unit in its name and its
allowed range in ``metadata`` ("range": (lo, hi) inclusive, or "choices"); ``accelsim.arch.loader``
validates YAML against exactly these fields, and ``__post_init__`` validates direct construction
the same way, so a spec can never exist in an invalid state."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from accelsim.errors import ConfigError

if TYPE_CHECKING:
    from accelsim.arch.crossbar import CrossbarSpec

DATAFLOWS = ("os", "ws", "is")
BUFFER_ROLES = ("ifmap", "weight", "ofmap", "global")
DRAM_TYPES = ("lpddr4", "ddr4", "hbm2")


def _rng(lo, hi, **extra):
    return {"range": (lo, hi), **extra}


def _choices(*values):
    return {"choices": values}


def check_fields(obj, path: str) -> None:
    """Type and range check of every field of a spec dataclass; raises ConfigError naming the key path."""
    for f in fields(obj):
        if f.metadata.get("skip"):
            continue
        v = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        t = f.type if isinstance(f.type, str) else f.type.__name__
        if t.endswith(" | None"):   # optional: None means "not given"
            if v is None:
                continue
            t = t[:-len(" | None")]
        if t == "bool":
            if not isinstance(v, bool):
                raise ConfigError(f"{key}: expected true or false, got {v!r}")
        elif t == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{key}: expected an integer, got {v!r}")
        elif t == "float":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{key}: expected a number, got {v!r}")
            object.__setattr__(obj, f.name, float(v))
            v = float(v)
        elif t == "str":
            if not isinstance(v, str):
                raise ConfigError(f"{key}: expected a string, got {v!r}")
        if "range" in f.metadata:
            lo, hi = f.metadata["range"]
            if not lo <= v <= hi:
                raise ConfigError(f"{key}: {v!r} is out of range; allowed [{lo}, {hi}]")
        if "choices" in f.metadata and v not in f.metadata["choices"]:
            raise ConfigError(f"{key}: {v!r} is not allowed; choose one of {', '.join(map(str, f.metadata['choices']))}")
        if f.metadata.get("power_of_two") and v & (v - 1):
            raise ConfigError(f"{key}: {v!r} must be a power of two")


@dataclass(frozen=True)
class DramSpec:
    """Off-chip DRAM: organisation, JEDEC timings and energy. Presets in presets/_dram.yaml cite
    their datasheet / JEDEC / tool sources. Energies: read/write per bit moved (array + I/O where the
    source gives it), one ACTIVATE+PRECHARGE pair for a whole row of the channel, background
    (active standby) power per channel, one all-bank REFRESH of a channel.

    Refresh: every ``t_refi_ns`` each channel is blocked for ``t_rfc_ns`` (all-bank refresh), so a
    transfer takes ``refresh_stretch`` times its refresh-free time (the average-case model), and a
    channel spends ``refresh_energy_pj`` per ``t_refi_ns`` on refresh, on top of the background
    power. ``t_refi_ns = 0`` means refresh is not modelled (then the other two must be 0)."""
    name: str
    type: str = field(metadata=_choices(*DRAM_TYPES))
    channels: int = field(metadata=_rng(1, 64))
    bus_bits: int = field(metadata=_rng(8, 1024, power_of_two=True))       # per channel
    data_rate_mtps: int = field(metadata=_rng(100, 20000))                  # transfers per second / 1e6
    banks: int = field(metadata=_rng(1, 64, power_of_two=True))             # per channel
    row_bytes: int = field(metadata=_rng(256, 16384, power_of_two=True))    # page size per channel
    burst_length: int = field(metadata=_choices(2, 4, 8, 16, 32))
    t_rcd_ns: float = field(metadata=_rng(0.0, 1000.0))
    t_rp_ns: float = field(metadata=_rng(0.0, 1000.0))
    t_cl_ns: float = field(metadata=_rng(0.0, 1000.0))
    t_ras_ns: float = field(metadata=_rng(0.0, 1000.0))
    t_rrd_ns: float = field(metadata=_rng(0.0, 1000.0))
    t_faw_ns: float = field(metadata=_rng(0.0, 1000.0))
    read_energy_pj_per_bit: float = field(metadata=_rng(0.0, 1000.0))
    write_energy_pj_per_bit: float = field(metadata=_rng(0.0, 1000.0))
    activate_energy_pj: float = field(metadata=_rng(0.0, 1e6))
    background_power_mw: float = field(metadata=_rng(0.0, 1e5))
    t_refi_ns: float = field(default=0.0, metadata=_rng(0.0, 1e6))
    t_rfc_ns: float = field(default=0.0, metadata=_rng(0.0, 1e5))
    refresh_energy_pj: float = field(default=0.0, metadata=_rng(0.0, 1e8))

    def __post_init__(self):
        check_fields(self, "dram")
        if self.t_refi_ns == 0.0 and (self.t_rfc_ns or self.refresh_energy_pj):
            raise ConfigError("dram.t_refi_ns: 0 (refresh not modelled) but t_rfc_ns or refresh_energy_pj is set; "
                              "give the refresh interval")
        if self.t_refi_ns and not self.t_rfc_ns < self.t_refi_ns:
            raise ConfigError(f"dram.t_rfc_ns: {self.t_rfc_ns!r} must be below t_refi_ns ({self.t_refi_ns!r})")

    @property
    def burst_bytes(self) -> int:
        return self.bus_bits // 8 * self.burst_length

    @property
    def peak_bytes_per_ns(self) -> float:
        return self.channels * self.bus_bits / 8 * self.data_rate_mtps / 1000.0

    @property
    def t_burst_ns(self) -> float:
        return self.burst_length * 1000.0 / self.data_rate_mtps

    @property
    def t_rc_ns(self) -> float:
        return self.t_ras_ns + self.t_rp_ns

    @property
    def refresh_stretch(self) -> float:
        """Factor on a transfer's time: the channel is available t_refi - t_rfc of every t_refi."""
        return self.t_refi_ns / (self.t_refi_ns - self.t_rfc_ns) if self.t_refi_ns else 1.0

    @property
    def refresh_power_mw(self) -> float:
        """Refresh power of one channel: refresh_energy_pj per t_refi_ns (pJ/ns = mW)."""
        return self.refresh_energy_pj / self.t_refi_ns if self.t_refi_ns else 0.0


@dataclass(frozen=True)
class BufferSpec:
    """One on-chip SRAM buffer. role: ifmap, weight, ofmap (separate buffers) or global (shared)."""
    role: str = field(metadata=_choices(*BUFFER_ROLES))
    size_kib: float = field(metadata=_rng(0.25, 1048576.0))
    word_bits: int = field(metadata=_rng(8, 8192))
    banks: int = field(metadata=_rng(1, 256))
    double_buffered: bool = True

    def __post_init__(self):
        check_fields(self, f"buffers.{self.role}")
        if self.word_bits % 8:
            raise ConfigError(f"buffers.{self.role}.word_bits: {self.word_bits} must be a multiple of 8")

    @property
    def size_bytes(self) -> int:
        return int(round(self.size_kib * 1024))

    @property
    def usable_bits(self) -> int:
        """Capacity one tile may occupy: half when double buffered (the other half is being filled)."""
        bits = self.size_bytes * 8
        return bits // 2 if self.double_buffered else bits


@dataclass(frozen=True)
class ArraySpec:
    rows: int = field(metadata=_rng(1, 1024))
    cols: int = field(metadata=_rng(1, 1024))
    dataflow: str = field(metadata=_choices(*DATAFLOWS))

    def __post_init__(self):
        check_fields(self, "array")


@dataclass(frozen=True)
class ArchSpec:
    """A digital accelerator (``array``: a PE array) or a ReRAM in-memory one (``crossbar``: tiles of
    crossbars, ``accelsim.arch.crossbar``); exactly one of the two is given."""
    name: str
    clock_mhz: float = field(metadata=_rng(1.0, 10000.0))
    tech_node_nm: int = field(metadata=_rng(5, 180))
    array: ArraySpec | None = field(metadata={"skip": True})
    buffers: tuple[BufferSpec, ...] = field(metadata={"skip": True})
    dram: DramSpec = field(metadata={"skip": True})
    source: str = ""
    crossbar: CrossbarSpec | None = field(default=None, metadata={"skip": True})

    def __post_init__(self):
        check_fields(self, "")
        if (self.array is None) == (self.crossbar is None):
            raise ConfigError("array, crossbar: give exactly one of array (a PE array) or crossbar (ReRAM tiles)")
        roles = [b.role for b in self.buffers]
        if len(set(roles)) != len(roles):
            raise ConfigError("buffers: each role may appear once")
        if roles == ["global"]:
            return
        if sorted(roles) != ["ifmap", "ofmap", "weight"]:
            raise ConfigError(f"buffers: give either one 'global' buffer or all of ifmap, weight, ofmap; got {roles}")

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def kind(self) -> str:
        """``digital`` (PE array) or ``crossbar`` (ReRAM in-memory computing)."""
        return "digital" if self.crossbar is None else "crossbar"

    @property
    def vector_lanes(self) -> int:
        """Elementwise operations per cycle (residual add, upsample): the array's columns, or the
        crossbar chip's digital lanes."""
        return self.array.cols if self.crossbar is None else self.crossbar.vector_lanes

    @property
    def shared_buffer(self) -> bool:
        return len(self.buffers) == 1

    def buffer(self, role: str) -> BufferSpec:
        """The buffer holding ``role`` (ifmap/weight/ofmap); the global buffer when shared."""
        for b in self.buffers:
            if b.role == role or b.role == "global":
                return b
        raise ConfigError(f"no buffer for {role!r}")

    def cycles(self, ns):
        """Clock cycles in ``ns`` nanoseconds (a float, or an array of them): the one ns -> cycles
        conversion."""
        return ns * self.clock_mhz / 1000.0

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram.peak_bytes_per_ns * 1000.0 / self.clock_mhz
