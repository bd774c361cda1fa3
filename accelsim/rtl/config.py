"""What one RTL build is: the array (rows, columns, dataflow) from an ArchSpec, the processing element
from the format registry, and the widths derived from both. Nothing here is typed twice: the rows,
columns and dataflow are ``arch.array``'s, the operand widths and the PE family are the
``NumericFormat``'s, the accumulator width is the exact bound of docs/quantization.md section 2 for
the longest reduction the build must run (or the registry's ``acc_bits`` when no model is given).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from accelsim.arch import ArchSpec, load_arch
from accelsim.errors import ConfigError, FormatError
from accelsim.formats import registry

DATAFLOWS = ("os", "ws")
FAMILIES = ("int", "ternary", "signadd", "xnor")


def pe_family(fmt: registry.NumericFormat) -> str:
    """intN x intN MAC, ternary add/sub/skip, binary-weight sign-add, XNOR-popcount."""
    if fmt.weight_kind == "int" and fmt.act_kind == "int":
        return "int"
    if fmt.weight_kind == "ternary" and fmt.act_kind == "int":
        return "ternary"
    if fmt.weight_kind == "binary" and fmt.act_kind == "int":
        return "signadd"
    if fmt.weight_kind == "binary" and fmt.act_kind == "binary":
        return "xnor"
    raise FormatError(f"format {fmt.name}: no RTL processing element for {fmt.weight_kind} weights with "
                      f"{fmt.act_kind} activations (RTL formats: wNaM, w2aM, w1aM, w1a1)")


def exact_acc_bits(window: int, fmt: registry.NumericFormat, x_bits: int | None = None) -> int:
    """Bits of a signed accumulator that holds any sum of ``window`` products without wrapping:
    |x - z_x| <= 2^A - 1 (any zero point in the code range), |w| <= 2^(N-1) - 1 (symmetric;
    1 for ternary and binary); w1a1: |sum| <= window. The bias is added after the array (requant)."""
    if window < 1:
        raise ConfigError(f"window must be >= 1, got {window}")
    fam = pe_family(fmt)
    if fam == "xnor":
        bound = window        # a sum of +-1 (the bias is added after the array)
    else:
        a = x_bits or fmt.act_bits
        wmax = (1 << (fmt.weight_bits - 1)) - 1 if fam == "int" else 1
        bound = window * ((1 << a) - 1) * wmax
    return bound.bit_length() + 1


@dataclass(frozen=True)
class RtlConfig:
    """One Verilator build: the array, the PE, the widths and the buffer depths (words)."""
    arch_name: str
    rows: int
    cols: int
    dataflow: str
    fmt: str                    # canonical registry name
    family: str                 # int | ternary | signadd | xnor
    w_bits: int                 # weight code bits the PE takes (N; 2 ternary; 1 binary)
    x_bits: int                 # activation bits (codes; 1 for w1a1 signs)
    acc_bits: int               # PE accumulator / partial-sum width
    depths: dict = field(default_factory=dict)   # buffer depths: x, w, bias, y, psum, lut, tables
    mutant: str | None = None

    @property
    def xop_bits(self) -> int:
        """The activation operand entering the array: x - z_x, one bit wider than the code; a w1a1
        sign bit as it is (1 = +1, 0 = -1)."""
        return 1 if self.family == "xnor" else self.x_bits + 1

    @property
    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.fmt} {self.rows}x{self.cols} {self.dataflow}" + (f" mutant={self.mutant}" if self.mutant else "")


DEFAULT_DEPTHS = {"x": 65536, "w": 262144, "ch": 1024, "y": 65536, "psum": 65536, "lut": 65536,
                  "gemm": 64, "pix": 65536, "pixin": 262144, "ktab": 65536, "taps": 1024}


def make_config(arch: ArchSpec | str, fmt: str, acc_bits: int | None = None, depths: dict | None = None,
                mutant: str | None = None) -> RtlConfig:
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    if arch.array is None:
        raise ConfigError(f"arch {arch.name}: the RTL is a PE array; this arch has crossbar tiles")
    a = arch.array
    if a.dataflow not in DATAFLOWS:
        raise ConfigError(f"array.dataflow: the RTL builds os and ws arrays, got {a.dataflow!r}")
    nf = registry.get(fmt)
    fam = pe_family(nf)
    w_bits = {"int": nf.weight_bits, "ternary": 2, "signadd": 1, "xnor": 1}[fam]
    x_bits = nf.act_bits
    return RtlConfig(arch.name, a.rows, a.cols, a.dataflow, nf.name, fam, w_bits, x_bits,
                     acc_bits or nf.acc_bits, dict(DEFAULT_DEPTHS, **(depths or {})), mutant)
