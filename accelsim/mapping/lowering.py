"""Lowering a layer to the GEMMs a systolic array executes, three ways for transposed convolution.

- ``zero_insert``: a stride-1 conv over the zero-dilated, padded input (what a plain conv accelerator
  does; SCALE-Sim and ZigZag model DCGAN this way). GEMM: output pixels x (Cin*k*k) x Cout.
- ``phase``: zero-free phase decomposition (GANAX, LerGAN): output pixels split into stride^2
  phases, each a dense conv with only the taps that hit real inputs.
- ``scatter``: input-stationary GEMM (input pixels x Cin x Cout*k*k) whose products are
  overlap-added into the output; products landing in the cropped padding are computed and dropped.

Every lowering reports total MACs (what the array executes) and effectual MACs (products of a real
input with a weight that reach the output); conv2d/linear lower one way (``direct``).
"""
from __future__ import annotations

from dataclasses import dataclass

from accelsim.errors import ConfigError, InfeasibleError
from accelsim.workload.layer import Layer

LOWERINGS = ("zero_insert", "phase", "scatter")
DEFAULT_LOWERING = "phase"


@dataclass(frozen=True)
class Gemm:
    """One GEMM repeated ``count`` times (groups, phases): rows x reduction x cols."""
    pixels: int      # P: output pixels (gather forms) or input pixels (scatter), batch included
    window: int      # K: reduction length per output
    filters: int     # F: output channels (per group) or Cout*k*k (scatter)
    count: int = 1

    @property
    def macs(self) -> int:
        return self.pixels * self.window * self.filters * self.count


@dataclass(frozen=True)
class Lowered:
    layer: Layer
    method: str                    # direct | zero_insert | phase | scatter | elementwise
    gemms: tuple[Gemm, ...]
    zeros_in_dram: bool = False    # zero_insert only: the dilated input is materialised in DRAM

    @property
    def macs_total(self) -> int:
        return sum(g.macs for g in self.gemms)

    @property
    def macs_effectual(self) -> int:
        return self.layer.macs_effectual

    @property
    def stored_input_hw(self) -> tuple[int, int]:
        """Spatial size of the input tensor as it sits in DRAM."""
        if self.method == "zero_insert" and self.zeros_in_dram:
            return zero_inserted_hw(self.layer)
        return self.layer.in_hw


def zero_inserted_hw(layer: Layer) -> tuple[int, int]:
    """Height/width of the zero-dilated and padded input of a transposed conv (stride-1 conv input)."""
    out = []
    for n, k, s, p, op, d in zip(layer.in_hw, layer.kernel_hw, layer.stride_hw, layer.padding_hw,
                                 layer.output_padding_hw, layer.dilation_hw):
        pad = d * (k - 1) - p
        if pad < 0:
            raise InfeasibleError(f"layer {layer.name!r}: padding > dilation*(kernel-1) cannot be zero-inserted "
                                  "in DRAM")
        out.append((n - 1) * s + 1 + 2 * pad + op)
    return tuple(out)


def _phase_counts(n_out: int, k: int, s: int, p: int, d: int) -> list[tuple[int, int]]:
    """Per output phase r in [0, s): (output positions with o % s == r, taps t with (t*d) % s == (r+p) % s)."""
    res = []
    for r in range(s):
        n_pos = len(range(r, n_out, s))
        n_taps = sum(1 for t in range(k) if (t * d) % s == (r + p) % s)
        res.append((n_pos, n_taps))
    return res


def lower(layer: Layer, method: str = DEFAULT_LOWERING, zeros_in_dram: bool = False) -> Lowered:
    if not layer.is_conv:
        return Lowered(layer, "elementwise", ())
    g = layer.groups
    cin_g, cout_g = layer.in_channels // g, layer.out_channels // g
    if layer.op != "conv_transpose2d":
        gemm = Gemm(layer.batch * layer.out_pixels, cin_g * layer.kernel_taps, cout_g, g)
        return Lowered(layer, "direct", (gemm,))
    if method not in LOWERINGS:
        raise ConfigError(f"lowering must be one of {', '.join(LOWERINGS)}, got {method!r}")
    if method == "zero_insert":
        if zeros_in_dram:
            zero_inserted_hw(layer)  # validates
        gemm = Gemm(layer.batch * layer.out_pixels, cin_g * layer.kernel_taps, cout_g, g)
        return Lowered(layer, method, (gemm,), zeros_in_dram)
    if method == "scatter":
        gemm = Gemm(layer.batch * layer.in_pixels, cin_g, cout_g * layer.kernel_taps, g)
        return Lowered(layer, method, (gemm,))
    (ho, wo), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (layer.out_hw, layer.kernel_hw, layer.stride_hw,
                                                        layer.padding_hw, layer.dilation_hw)
    gemms = []
    for nh, th in _phase_counts(ho, kh, sh, ph, dh):
        for nw, tw in _phase_counts(wo, kw, sw, pw, dw):
            if nh * nw and th * tw:
                gemms.append(Gemm(layer.batch * nh * nw, cin_g * th * tw, cout_g, g))
    return Lowered(layer, method, tuple(gemms))
