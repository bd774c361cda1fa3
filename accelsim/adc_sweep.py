"""Energy per image and image quality of a generator on a ReRAM crossbar arch, against the ADC
resolution (``accelsim adc-sweep``).

For every ADC resolution b the arch's crossbar spec is copied with ``adc_bits = b``; then
- energy: ``accelsim.simulate`` prices one image (the ADC energy per conversion follows b through
  the survey model; 1..3-bit ADCs are priced as 4-bit, the model's lower end);
- quality: the shipped generator's graph, quantized by ``accelsim.runtime``, runs on ``images`` fixed latents
  with every convolution through the crossbar functional model (``CrossbarKernels``, lowering as
  given), and its images are scored by PSNR against the fp32 generator on the same latents. The
  accumulators' error against the golden model (max |error|, mean |error| / mean |golden|) and the
  fraction of conversions that saturated are reported too. Models without shipped weights get the
  energy only.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from accelsim.api import simulate
from accelsim.arch import ArchSpec, load_arch
from accelsim.errors import ConfigError
from accelsim.quality import psnr_db
from accelsim.workload import get_model


@dataclass(frozen=True)
class AdcPoint:
    adc_bits: int
    lossless: bool                 # adc_bits >= the crossbar's lossless resolution
    energy_per_image_uj: float
    adc_energy_per_image_uj: float
    adc_share: float
    latency_us: float
    psnr_db: float | None          # crossbar images vs fp32 (None: no shipped weights)
    max_abs_error: int | None      # accumulators vs golden, over all layers
    mean_rel_error: float | None   # mean |error| / mean |golden accumulator|, over all layers
    clipped_fraction: float | None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def parse_bits(spec: str) -> list[int]:
    """``3:10`` (inclusive) or ``4,6,8``."""
    if len(str(spec)) > 200:
        raise ConfigError(f"adc_bits: value too long ({len(str(spec))} characters)")
    if not all(v.strip().isascii() and v.strip().isdigit() for v in str(spec).replace(":", ",").split(",")) \
            or str(spec).count(":") > 1:
        raise ConfigError(f"adc_bits: expected LO:HI or a comma list of integers (ASCII digits), got {spec!r}")
    try:
        if ":" in spec:
            lo, hi = (int(v) for v in spec.split(":"))
            if not (1 <= lo <= 16 and 1 <= hi <= 16):   # before range(): 1:10**12 is no list to build
                raise ConfigError(f"adc_bits: {spec!r} must give bits in [1, 16]")
            bits = list(range(lo, hi + 1))
        else:
            bits = [int(v) for v in spec.split(",") if v.strip()]
    except ValueError as exc:
        if str(exc).startswith("adc_bits"):
            raise
        raise ConfigError(f"adc_bits: expected LO:HI or a comma list of integers, got {spec!r}") from None
    if not bits or min(bits) < 1 or max(bits) > 16:
        raise ConfigError(f"adc_bits: {spec!r} must give bits in [1, 16] (LO <= HI)")
    if len(set(bits)) != len(bits):
        raise ConfigError(f"adc_bits: a value is repeated in {spec!r}")
    return bits


CALIB_N, CALIB_SEED = 64, 1234     # calibration latents, disjoint from the evaluation seed


def _quantized(model: str, fmt: str):
    """The shipped generator's graph in ``fmt`` (``accelsim.runtime``), calibrated on fixed latents."""
    from accelsim.graph.shipped import shipped_graph
    from accelsim.models import registry
    from accelsim.runtime import quantize
    graph = shipped_graph(model)
    return quantize(graph, fmt, registry.latents(CALIB_N, CALIB_SEED, z_dim=graph.inputs[0].shape[1]))


def _quality(model: str, fmt: str, spec, lowering: str, images: int, seed: int, ref, z, nonideal):
    from accelsim.sim.crossbar_func import CrossbarKernels

    kernels = CrossbarKernels(spec, lowering, nonideal)
    out = _quantized(model, fmt).run(z, kernels)
    errs = kernels.errors
    conv = sum(e.conversions for e in errs)
    mean_golden = sum(e.mean_abs_golden for e in errs)
    return (psnr_db(out, ref), max((e.max_abs for e in errs), default=0),
            sum(e.mean_abs for e in errs) / mean_golden if mean_golden else 0.0,
            sum(e.clipped for e in errs) / conv if conv else 0.0)


def adc_sweep(model: str, arch: ArchSpec | str, adc_bits, fmt: str = "int8", lowering: str = "phase",
              images: int = 16, seed: int = 0, nonideal=None) -> tuple[list[AdcPoint], dict]:
    """Points per ADC resolution, and a dict with the reference quality (golden quantized generator
    and lossless ADC resolution)."""
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    if arch.kind != "crossbar":
        raise ConfigError(f"arch: {arch.name!r} has no ReRAM crossbars (try isaac-like or neurosim-like)")
    if images < 1:
        raise ConfigError(f"images must be >= 1, got {images}")
    workload = get_model(model)
    from accelsim.models import registry
    has_weights = model in registry.available()
    ref = z = None
    info = {"model": model, "arch": arch.name, "format": fmt, "lowering": lowering, "images": images,
            "lossless_adc_bits": arch.crossbar.lossless_adc_bits, "adc_mode": arch.crossbar.adc_mode,
            "psnr_golden_db": None}
    if has_weights:
        fp32 = _quantized(model, "fp32")
        z = registry.latents(images, seed, z_dim=fp32.graph.inputs[0].shape[1])
        ref = fp32.run(z)
        info["psnr_golden_db"] = psnr_db(_quantized(model, fmt).run(z, "reference"), ref)
    points = []
    for b in adc_bits:
        a = dataclasses.replace(arch, crossbar=dataclasses.replace(arch.crossbar, adc_bits=b))
        rep = simulate(workload, a, fmt, lowering=lowering)
        q = (_quality(model, fmt, a.crossbar, lowering, images, seed, ref, z, nonideal) if has_weights
             else (None, None, None, None))
        points.append(AdcPoint(b, b >= a.crossbar.lossless_adc_bits, rep.energy_per_image_uj,
                               rep.energy_pj["adc"] / 1e6, rep.adc_share, rep.latency_us, *q))
    return points, info
