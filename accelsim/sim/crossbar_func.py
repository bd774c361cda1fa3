"""Functional model of a layer on ReRAM crossbars: the integer result the analog hardware produces.

One GEMM Y = X W (``accelsim.mapping.operands`` gives X, W per lowering) runs as mapped by
``accelsim.mapping.crossbar``: W's slices are conductance levels G (K x M columns); an input x is
applied as DAC steps c = 0..C-1 (two's complement: the low bits in ``dac_bits`` chunks of weight
2^(c*dac_bits), then the sign bit with weight -2^(n-1); ``mapping.crossbar.input_cycles``). For
every row tile t (``rows`` rows of one crossbar), step c, pixel p and column m the analog column
sum is

    I[t, c, p, m] = sum over rows r of tile t of step_c(x[p, r]) * G[r, m]

(an integer count of conductance steps x DAC steps when the cells are ideal). The ADC digitizes it
(``CrossbarSpec.adc_mode``): code = min(floor(I / lsb + 1/2), 2^adc_bits - 1) (I >= 0), value =
code * lsb; the shift-and-add and the partial-sum adders accumulate exactly:

    acc[p, m] = sum_t sum_c weight_c * value[t, c, p, m]

and ``combine_columns`` turns column sums into dot products (slice shifts, differential or
offset correction). With ``adc_bits >= spec.lossless_adc_bits`` every value equals I and the result
equals the golden integer accumulator bit for bit. The matmuls run in float32 BLAS (exact: sums
< 2^24); the ADC + shift-add loop is a numba kernel, compiled on first use (numba is imported
there, not at import time).

Non-idealities (``NonIdeal``, seeded): each cell's conductance G = level * (1 + sigma * N(0, 1))
(clipped at 0; level-0 cells stay off), a fraction of cells stuck at level 0 and a fraction stuck
at the top level. ``CrossbarKernels`` is a drop-in for ``accelsim.kernels`` in
``accelsim.runtime``'s ``QuantizedGraph.run`` and records each layer's error against the golden accumulators.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.arch.crossbar import CrossbarSpec
from accelsim.blas import one_thread
from accelsim.errors import ConfigError, FormatError
from accelsim.jit import lazy_kernel
from accelsim.formats import binary, fixed, flexpoint, reference
from accelsim.formats.conv import ConvSpec, convolve
from accelsim.mapping.crossbar import WeightEncoding, combine_columns, conductance_levels, weight_encoding
from accelsim.mapping.operands import conv_by_gemms


@dataclass(frozen=True)
class NonIdeal:
    conductance_sigma: float = 0.0     # relative spread of a programmed conductance
    stuck_off_fraction: float = 0.0    # cells stuck at level 0
    stuck_on_fraction: float = 0.0     # cells stuck at the top level
    seed: int = 0

    def __post_init__(self):
        for name in ("conductance_sigma", "stuck_off_fraction", "stuck_on_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= (1.0 if "fraction" in name else 10.0):
                raise ConfigError(f"nonideal.{name}: {v!r} is out of range")
        if self.stuck_off_fraction + self.stuck_on_fraction > 1.0:
            raise ConfigError("nonideal.stuck_off_fraction + stuck_on_fraction must be <= 1")

    @property
    def ideal(self) -> bool:
        return self.conductance_sigma == 0 and self.stuck_off_fraction == 0 and self.stuck_on_fraction == 0


def operand_bits(lo: int, hi: int) -> tuple[int, bool]:
    """Smallest (bits, signed) two's complement / unsigned code holding every value in [lo, hi]."""
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    n = 1
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n, True


def input_steps(x: np.ndarray, n_bits: int, signed: bool, dac_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """DAC levels (C, P, K) float32 and step weights (C,) int64 with x = sum_c weight_c * level_c."""
    x = np.asarray(x, dtype=np.int64)
    lo, hi = (-(1 << (n_bits - 1)), (1 << (n_bits - 1)) - 1) if signed else (0, (1 << n_bits) - 1)
    if x.size and (x.min() < lo or x.max() > hi):
        kind = "signed" if signed else "unsigned"
        raise FormatError(f"crossbar inputs must lie in [{lo}, {hi}] ({n_bits}-bit {kind}), "
                          f"got [{x.min()}, {x.max()}]")
    u = x & ((1 << n_bits) - 1)
    low = n_bits - 1 if signed else n_bits
    steps, weights = [], []
    for j in range(-(-low // dac_bits)):
        width = min(dac_bits, low - j * dac_bits)
        steps.append((u >> (j * dac_bits)) & ((1 << width) - 1))
        weights.append(1 << (j * dac_bits))
    if signed:
        steps.append((u >> (n_bits - 1)) & 1)
        weights.append(-(1 << (n_bits - 1)))
    return np.stack(steps).astype(np.float32), np.array(weights, dtype=np.int64)


def adc_convert(current, spec: CrossbarSpec) -> np.ndarray:
    """The ADC of ``spec`` on column sums (reference form of the numba kernel): value = code * lsb."""
    lsb = spec.adc_lsb
    code = np.clip(np.floor(np.asarray(current, dtype=np.float64) / lsb + 0.5), 0, (1 << spec.adc_bits) - 1)
    return code.astype(np.int64) * lsb


@lazy_kernel
def _adc_kernel(numba):
    """The ADC + shift-add loop (numba)."""

    @numba.njit(cache=True, nogil=True)
    def adc_shift_add(a, weights, lsb, max_code, acc):
        clipped = 0
        inv = 1.0 / lsb
        for c in range(a.shape[0]):
            w = weights[c] * np.int64(lsb)
            for p in range(a.shape[1]):
                for m in range(a.shape[2]):
                    code = np.floor(a[c, p, m] * inv + 0.5)
                    if code > max_code:
                        code = max_code
                        clipped += 1
                    elif code < 0.0:
                        code = 0.0
                    acc[p, m] += np.int64(code) * w
        return clipped

    return adc_shift_add


@dataclass
class GemmStats:
    conversions: int = 0
    clipped: int = 0


def _conductances(levels: np.ndarray, spec: CrossbarSpec, nonideal: NonIdeal | None, rng) -> np.ndarray:
    g = levels.astype(np.float32)
    if nonideal is None or nonideal.ideal:
        return g
    if nonideal.conductance_sigma:
        g = np.maximum(g * (1.0 + nonideal.conductance_sigma * rng.standard_normal(g.shape)), 0.0).astype(np.float32)
    if nonideal.stuck_off_fraction or nonideal.stuck_on_fraction:
        r = rng.random(g.shape)
        g[r < nonideal.stuck_off_fraction] = 0.0
        g[(r >= nonideal.stuck_off_fraction) & (r < nonideal.stuck_off_fraction + nonideal.stuck_on_fraction)] = \
            (1 << spec.bits_per_cell) - 1
    return g


def crossbar_matmul(x, w, enc: WeightEncoding, spec: CrossbarSpec, *, x_bits: int, x_signed: bool,
                    nonideal: NonIdeal | None = None, rng=None, stats: GemmStats | None = None) -> np.ndarray:
    """Y (P x F, int64) = X (P x K) W (K x F) through the crossbars of ``spec``, as described above."""
    levels, layout = conductance_levels(w, enc, spec)
    g = _conductances(levels, spec, nonideal, rng if rng is not None else np.random.default_rng(0))
    steps, weights = input_steps(x, x_bits, x_signed, spec.dac_bits)
    n_steps, p, k = steps.shape
    acc = np.zeros((p, layout.columns), dtype=np.int64)
    kernel = _adc_kernel()
    max_code = float((1 << spec.adc_bits) - 1)
    live = [c for c in range(n_steps) if steps[c].any()]   # an all-zero step converts to zeros
    for r0 in range(0, k, spec.rows):
        if stats is not None:
            stats.conversions += n_steps * p * layout.columns
        if not live:
            continue
        sub = steps[live, :, r0:r0 + spec.rows].reshape(len(live) * p, -1)
        a = (sub @ g[r0:r0 + spec.rows]).reshape(len(live), p, layout.columns)
        clipped = kernel(a, weights[live], float(spec.adc_lsb), max_code, acc)
        if stats is not None:
            stats.clipped += int(clipped)
    return combine_columns(acc, layout, enc)


@dataclass
class LayerError:
    """One layer's crossbar accumulators against the golden ones (integer units)."""
    max_abs: int
    mean_abs: float
    mean_abs_golden: float
    conversions: int
    clipped: int

    @property
    def exact(self) -> bool:
        return self.max_abs == 0


@dataclass
class CrossbarKernels:
    """``accelsim.kernels``-compatible convolutions that run through the crossbar functional model
    (``QuantizedGraph.run(z, impl=CrossbarKernels(spec))``). Transposed convolutions use
    ``lowering``; each call appends a ``LayerError`` to ``errors`` when ``compare`` is on."""
    spec: CrossbarSpec
    lowering: str = "phase"
    nonideal: NonIdeal | None = None
    compare: bool = True
    errors: list = field(default_factory=list)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.nonideal.seed if self.nonideal else 0)

    # everything but the MACs is digital: the golden model's vector ops
    requantize_integer = staticmethod(reference.requantize_integer)
    requantize_torch = staticmethod(reference.requantize_torch)
    quantize = staticmethod(reference.quantize)
    dequantize = staticmethod(reference.dequantize)
    instance_norm_codes = staticmethod(reference.instance_norm_codes)

    def _conv(self, x, w, spec: ConvSpec, enc: WeightEncoding, x_bits: int, x_signed: bool, bias, golden):
        stats = GemmStats()

        def matmul(a, b):
            return crossbar_matmul(a, b, enc, self.spec, x_bits=x_bits, x_signed=x_signed, nonideal=self.nonideal,
                                   rng=self._rng, stats=stats)

        with one_thread():   # bits independent of the thread count; also far faster for these small GEMMs
            acc = conv_by_gemms(x, w, spec, self.lowering if spec.transposed else "direct", matmul)
        if bias is not None:
            acc += np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
        if self.compare:
            ref = golden()
            err = np.abs(acc - ref)
            self.errors.append(LayerError(int(err.max()) if err.size else 0, float(err.mean()) if err.size else 0.0,
                                          float(np.abs(ref).mean()) if ref.size else 0.0, stats.conversions,
                                          stats.clipped))
        return acc

    def conv_int(self, x, w, *, x_bits: int, x_signed: bool, x_zero_point: int, w_kind: str = "fixed",
                 w_bits: int = 8, bias=None, spec: ConvSpec) -> np.ndarray:
        """Accumulators ``bias + sum (x - z_x) * w`` as the crossbars compute them (int64)."""
        fmt = fixed.IntFormat(x_bits, x_signed)
        fmt.check_codes(x, "x")
        n_bits, signed = operand_bits(fmt.qmin - x_zero_point, fmt.qmax - x_zero_point)
        xi = np.asarray(x, np.int64) - int(x_zero_point)
        enc = weight_encoding(w_kind, w_bits, self.spec)
        return self._conv(xi, w, spec, enc, n_bits, signed, bias,
                          lambda: fixed.conv_accumulate(x, x_zero_point, w, bias, spec))

    def conv_xnor(self, x, w, *, bias=None, spec: ConvSpec) -> np.ndarray:
        """Binary x binary: inputs +-1 (padding 0) as 2-bit signed steps, binary weights."""
        enc = weight_encoding("binary", 1, self.spec)
        return self._conv(np.asarray(x, np.int64), w, spec, enc, 2, True, bias,
                          lambda: binary.conv_xnor(x, w, bias, spec))

    def conv_flex(self, xm, x_exp: int, wm, w_exp: int, *, bias=None, spec: ConvSpec, out_exp: int | None = None):
        """flex16+5: int16 mantissas through the crossbars, the shared exponents applied digitally."""
        enc = weight_encoding("flex", 16, self.spec)

        def golden():
            acc = convolve(np.asarray(xm, np.int64), np.asarray(wm, np.int64), spec)
            return acc + (0 if bias is None else np.asarray(bias, np.int64).reshape(1, -1, 1, 1))

        acc = self._conv(np.asarray(xm, np.int64), wm, spec, enc, 16, True, bias, golden)
        return flexpoint.flex_output(acc, flexpoint.check_exponent(x_exp) + flexpoint.check_exponent(w_exp), out_exp)
