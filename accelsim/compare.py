"""One table for every compression: the survey's "unified metrics" (Tantawy et al., open problem 1).

For each recipe (``accelsim.compress.recipe`` syntax, rows of ``accelsim.compress.zoo.RECIPES`` by
default) the steps are literally:

1. build the compressed generator (``zoo.build``: shipped trained parts, then the deterministic steps);
2. run it on fixed latents: its graph through ``accelsim.runtime`` (the C++ kernels) when it carries
   a quantized format, else the float64 golden convolution (pruned / shared / low-rank / distilled float weights);
3. score the images against the fp32 generator's on the same latents (PSNR, SSIM) and, for digit
   generators, digit-FID against the real digits (``accelsim.quality``); for ``sr-x4`` also PSNR
   against the ground-truth crop;
4. describe it to the simulator (``workload_of``): its real layer shapes (a distilled student is
   narrower, a low-rank layer is two layers), its format, and the exact stored size of every weight
   tensor (``Compression.exact_weight_bits``), then ``accelsim.simulate`` prices one generated image.

Sizes: ``weight_bits`` is the exact encoded size of the conv weights (codes, sparse index, scales,
codebooks, Huffman tables), ``compression_ratio`` = fp32 weight bits / weight bits. MACs: ``macs_effectual``
counts products of a real input with a *nonzero* weight (pruned weights make products ineffectual);
``macs_total`` is what the dense array executes (it does not skip zeros).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from accelsim import files
from accelsim.compress.chain import CompressedGenerator
from accelsim.errors import ConfigError, ModelError
from accelsim.files import write_atomic
from accelsim.workload import Compression, Layer, Workload, get_format

log = logging.getLogger(__name__)

DIGIT_MODELS = ("dcgan-digits",)
SR_MODELS = ("sr-x4",)
SR_INPUT_HW = (32, 32)     # the shipped evaluation crop: 32x32 LR -> 128x128 HR
QUALITY_SEED = 0           # evaluation latents (calibration uses the disjoint CALIB_SEED)
CALIB_SEED, CALIB_N = 1234, 64


@dataclass(frozen=True)
class CompareRow:
    name: str
    fmt: str
    weight_bits: int
    compression_ratio: float
    weight_density: float
    macs_effectual: int
    macs_total: int
    dram_bytes: int
    energy_per_image_uj: float
    latency_us: float
    psnr_db: float
    ssim: float
    fid: float | None
    psnr_gt_db: float | None     # sr-x4: against the ground-truth HR crop

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("compression_ratio", "energy_per_image_uj", "latency_us", "psnr_db", "ssim", "fid",
                  "psnr_gt_db", "weight_density"):
            if d[k] is not None and math.isfinite(d[k]):
                d[k] = round(d[k], 6)
            elif d[k] is not None:
                d[k] = None if math.isnan(d[k]) else ("inf" if d[k] > 0 else "-inf")
        return d


# ---- the generator as the simulator sees it --------------------------------------------------------
def input_chw(cg: CompressedGenerator) -> tuple[int, int, int]:
    first = cg.layers[0]
    if cg.model in SR_MODELS:
        return (first.in_channels, *SR_INPUT_HW)
    return (first.in_channels, 1, 1)


def workload_of(cg: CompressedGenerator) -> tuple[Workload, dict, dict]:
    """(Workload, format by layer, Compression by layer) of a compressed generator: real shapes,
    the format it executes in, and the exact stored size of every weight tensor."""
    from accelsim.formats.registry import parse_assignment
    by_layer = parse_assignment(cg.fmt, [cl.name for cl in cg.layers])
    chw = input_chw(cg)
    hw = chw[1:]
    layers, formats, comps = [], {}, {}
    for cl in cg.layers:
        k = cl.weight.shape[2:]
        layer = Layer(cl.name, "conv_transpose2d" if cl.transposed else "conv2d", cl.in_channels, cl.out_channels,
                      hw, k, cl.stride, cl.padding, bias=cl.bias is not None,
                      post_ops=() if cl.act == "none" else (cl.act,))
        enc = cg.encodings[cl.name]
        formats[cl.name] = get_format(by_layer[cl.name])
        comps[cl.name] = Compression(weight_density=max(enc.density, 1e-9), weight_storage=enc.sparse_format,
                                     weight_block_elems=int(np.prod(enc.block)) if enc.sparse_format == "blockmap" else 1,
                                     exact_weight_bits=enc.size_bits())
        layers.append(layer)
        hw = layer.out_hw
    return Workload(cg.name, tuple(layers), chw, f"accelsim.compress {cg.model}"), formats, comps


def effectual_macs(cg: CompressedGenerator, workload: Workload) -> int:
    """Geometric effectual MACs scaled by each layer's fraction of nonzero weights."""
    return int(sum(round(l.macs_effectual * cg.encodings[l.name].density) for l in workload.layers))


# ---- running it -------------------------------------------------------------------------------------
def model_inputs(model: str, n: int, seed: int = QUALITY_SEED, z_dim: int = 64) -> np.ndarray:
    """Fixed inputs: latents for the DCGANs, the shipped LR crop (in [-1, 1]) for sr-x4."""
    from accelsim.models import registry
    if model in SR_MODELS:
        lr = sr_eval_crop()["lr"].astype(np.float64)
        return (lr / 127.5 - 1.0).transpose(2, 0, 1)[None]
    return registry.latents(n, seed, z_dim=z_dim).astype(np.float64)


def sr_eval_crop() -> dict:
    from accelsim.models.registry import WEIGHTS_DIR
    with np.load(os.path.join(WEIGHTS_DIR, "sr_eval.npz")) as f:
        return {k: f[k].copy() for k in f.files}


def run(cg: CompressedGenerator, x: np.ndarray, impl: str = "cpp") -> np.ndarray:
    """Images of ``cg`` for inputs ``x``: its graph run by ``accelsim.runtime`` in ``cg.fmt`` (the C++
    kernels or the golden model; activation ranges calibrated on ``CALIB_N`` latents of seed
    ``CALIB_SEED``, or on ``x`` itself for sr-x4), else the float64 forward pass cast to float32."""
    if cg.fmt == "fp32":
        return cg.forward(x, np.float32).astype(np.float64)
    from accelsim.runtime import quantize
    if cg.model in SR_MODELS:
        calib = x
    else:
        from accelsim.models import registry
        calib = registry.latents(CALIB_N, CALIB_SEED, z_dim=x.shape[1]).astype(np.float64)
    graph = cg.to_graph(input_chw(cg))
    return np.asarray(quantize(graph, cg.fmt, calib).run(x, impl=impl), np.float64)


def quality(cg: CompressedGenerator, x: np.ndarray, ref_images: np.ndarray, n_images: int, n_fid: int,
            impl: str = "cpp") -> dict:
    """PSNR/SSIM of ``cg``'s images for inputs ``x`` against ``ref_images`` (the fp32 generator's),
    digit-FID on the first ``n_fid`` (digit models), PSNR against ground truth (sr-x4)."""
    from accelsim import quality as q
    out = run(cg, x, impl)
    ref = ref_images
    m = {"psnr_db": q.psnr_db(out[:n_images], ref[:n_images]), "ssim": q.ssim(out[:n_images], ref[:n_images]),
         "fid": None, "psnr_gt_db": None}
    if cg.model in DIGIT_MODELS and n_fid > 0:
        m["fid"] = q.digit_fid(out[:n_fid])
    if cg.model in SR_MODELS:
        m["psnr_gt_db"] = sr_psnr_gt_db(np.clip(np.rint((out[0].transpose(1, 2, 0) + 1.0) * 127.5), 0, 255))
    return m


SR_CROP = (slice(4, -4), slice(4, -4))      # PSNR against HR without a 4-pixel border


def sr_psnr_gt_db(img_hwc_255: np.ndarray) -> float:
    """PSNR (dB, range 255) of an 8-bit HR image against the shipped ground-truth crop, border excluded."""
    from accelsim import quality as q
    hr = sr_eval_crop()["hr"].astype(np.float64)
    return q.psnr_db(img_hwc_255[SR_CROP], hr[SR_CROP], data_range=255.0)


def sr_bicubic_psnr_gt_db(scale: int = 4) -> float:
    """The reference row of every SR table: bicubic upscaling of the same LR crop, rounded to 8 bits."""
    from accelsim import quality as q
    lr = sr_eval_crop()["lr"].astype(np.float64)
    up = q.bicubic_upscale(lr.transpose(2, 0, 1), scale).transpose(1, 2, 0)
    return sr_psnr_gt_db(np.clip(np.rint(up), 0, 255))


# ---- the table --------------------------------------------------------------------------------------
# ---- the row cache ---------------------------------------------------------------------------------
ROW_CACHE_VERSION = 1


@lru_cache(maxsize=1)
def code_digest() -> str:
    """``accelsim.files.code_digest`` with the weights (shipped trained parts included): what a row's
    numbers can depend on besides its arguments (remembered per process; cleared after a row trains)."""
    return files.code_digest(weights=True)


def row_key(model: str, recipe: str, arch, *, lowering: str, n_images: int, n_fid: int, impl: str,
            fusion: str) -> str:
    """The hash a row is cached under: the code (``code_digest``), the recipe and everything that
    decides the row (arch in full, lowering, fusion, image counts, implementation)."""
    payload = {"v": ROW_CACHE_VERSION, "code": code_digest(), "model": model, "recipe": recipe,
               "arch": asdict(arch), "lowering": lowering, "fusion": fusion, "n_images": n_images,
               "n_fid": n_fid, "impl": impl}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class RowCache:
    """Rows of ``evaluate`` kept as one JSON file per row hash in ``directory`` (which must exist;
    written atomically; an unreadable or foreign file is a miss, never an error)."""

    def __init__(self, directory: str):
        self.directory = directory

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, f"{key}.json")

    def get(self, key: str) -> CompareRow | None:
        try:
            with open(self._path(key)) as f:
                data = json.load(f)
            if data.get("key") != key:
                return None
            return CompareRow(**data["row"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def put(self, key: str, row: CompareRow) -> None:
        def write_to(tmp: str) -> None:
            with open(tmp, "w") as f:
                json.dump({"key": key, "row": asdict(row)}, f)

        write_atomic(self._path(key), write_to, "cache")


def default_cache_dir() -> str:
    """``$ACCELSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/accelsim``, else ``~/.cache/accelsim``."""
    if os.environ.get("ACCELSIM_CACHE_DIR"):
        return os.environ["ACCELSIM_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "accelsim")


def evaluate(model: str, recipes, arch="edge-npu", *, lowering: str = "phase", n_images: int = 256,
             n_fid: int = 2000, impl: str = "cpp", allow_training: bool = False, progress=None,
             fusion: str = "none", cache: RowCache | None = None) -> list[CompareRow]:
    """One ``CompareRow`` per recipe, in order. ``progress(done, total, detail)`` is called before each
    recipe and once at the end. ``fusion``: as ``simulate``'s, for the energy and DRAM columns.
    ``cache``: rows are looked up by ``row_key`` and computed rows stored; a row whose trained part
    must be trained in this call is neither looked up nor stored (training is not deterministic)."""
    from accelsim.arch import load_arch
    from accelsim.compress import zoo
    from accelsim.compress.recipe import check_recipe

    for recipe in recipes:
        check_recipe(recipe)
    arch = load_arch(arch) if isinstance(arch, str) else arch
    reference = zoo.build(model, "fp32")
    fp32_bits = reference.weight_bits()
    if model not in DIGIT_MODELS:
        n_fid = 0
    inputs = []   # (latents, fp32 images): made on the first row not found in the cache
    rows = []
    for k, recipe in enumerate(recipes):
        if progress:
            progress(k, len(recipes), recipe)
        trains = zoo.needs_training(model, recipe)
        if not allow_training and trains:
            raise ConfigError(f"recipe {recipe!r} needs training and its trained part is not shipped for "
                              f"{model!r}: run 'python -m accelsim.compress.zoo --model {model}' (needs torch) "
                              "or pass allow_training=True")
        key = row_key(model, recipe, arch, lowering=lowering, n_images=n_images, n_fid=n_fid, impl=impl,
                      fusion=fusion) if cache is not None and not trains else None
        hit = cache.get(key) if key is not None else None
        if hit is not None:
            rows.append(hit)
            log.info("%s: from the row cache (%s)", recipe, key[:12])
            continue
        if not inputs:
            x = model_inputs(model, max(n_images, n_fid), z_dim=reference.layers[0].in_channels)
            inputs.extend((x, reference.forward(x, np.float32).astype(np.float64)))
        x, ref_images = inputs
        rows.append(evaluate_generator(zoo.build(model, recipe), recipe, arch, x, ref_images, fp32_bits,
                                       lowering=lowering, n_images=n_images, n_fid=n_fid, impl=impl, fusion=fusion))
        log.info("%s: %d weight bits, %.3f uJ/image, PSNR %.2f dB", recipe, rows[-1].weight_bits,
                 rows[-1].energy_per_image_uj, rows[-1].psnr_db)
        if key is not None:
            cache.put(key, rows[-1])
        if trains:   # it wrote trained parts under models/weights: the code digest has changed
            code_digest.cache_clear()
    if progress:
        progress(len(rows), len(rows), "done")
    return rows


def evaluate_generator(cg: CompressedGenerator, name: str, arch, x: np.ndarray, ref_images: np.ndarray,
                       fp32_bits: int, *, lowering: str = "phase", n_images: int = 256, n_fid: int = 2000,
                       impl: str = "cpp", fusion: str = "none") -> CompareRow:
    """The ``CompareRow`` of one compressed generator (a recipe's, or one trained outside the recipes):
    priced by ``accelsim.simulate`` as ``workload_of`` describes it, scored by ``quality`` on inputs
    ``x`` against the fp32 generator's images ``ref_images``; ``fp32_bits`` is the reference size."""
    from accelsim.api import simulate
    from accelsim.arch import load_arch
    from accelsim.formats.registry import canonical
    arch = load_arch(arch) if isinstance(arch, str) else arch
    if cg.model not in DIGIT_MODELS:
        n_fid = 0
    workload, formats, comps = workload_of(cg)
    report = simulate(workload, arch, formats, compression=comps, lowering=lowering, fusion=fusion)
    m = quality(cg, x, ref_images, n_images, n_fid, impl)
    bits = cg.weight_bits()
    return CompareRow(name, canonical(cg.fmt), bits, fp32_bits / bits, cg.density(), effectual_macs(cg, workload),
                      report.macs_total, report.dram_bytes, report.energy_per_image_uj, report.latency_us,
                      m["psnr_db"], m["ssim"], m["fid"], m["psnr_gt_db"])


def pareto_front(rows: list[CompareRow], quality_key: str = "fid") -> list[str]:
    """Names of the rows no other row beats on both energy per image and quality (lower FID or
    higher PSNR is better)."""
    def qual(r):
        v = getattr(r, quality_key)
        return math.inf if v is None or (isinstance(v, float) and math.isnan(v)) else (v if quality_key == "fid" else -v)
    front = []
    for r in rows:
        dominated = any((o.energy_per_image_uj <= r.energy_per_image_uj and qual(o) <= qual(r))
                        and (o.energy_per_image_uj < r.energy_per_image_uj or qual(o) < qual(r)) for o in rows)
        if not dominated:
            front.append(r.name)
    return front


# ---- post-training quantization rows for any model (the one runtime) ---------------------------------
PTQ_FORMATS = ("fp32", "w8a8", "w4a8", "w4a4", "w2a8", "w1a8", "w1a1", "flex16+5")


def evaluate_ptq(loaded, formats, arch="edge-npu", *, lowering: str = "phase", n_images: int = 16,
                 n_calib: int = 32, impl: str = "cpp", progress=None, fusion: str = "none") -> list[CompareRow]:
    """One row per format for any loaded model (``accelsim.graph.reference.LoadedModel``): the graph
    quantized after training by the runtime (calibration on ``n_calib`` inputs of seed CALIB_SEED),
    run on ``n_images`` inputs of seed QUALITY_SEED, PSNR/SSIM against the float graph, and the
    same graph priced by the simulator in that format (dense weights at the format's width)."""
    from accelsim import quality as q
    from accelsim.api import simulate
    from accelsim.arch import load_arch
    from accelsim.formats.registry import parse_list
    from accelsim.runtime import quantize
    from accelsim.workload.from_graph import from_graph

    formats = parse_list(",".join(formats) if not isinstance(formats, str) else formats)
    arch = load_arch(arch) if isinstance(arch, str) else arch
    g = loaded.graph
    x, calib = loaded.example_inputs(n_images, QUALITY_SEED), loaded.example_inputs(n_calib, CALIB_SEED)
    ref = g.run_float(x)
    if isinstance(ref, tuple):
        raise ModelError(f"{loaded.origin}: compare scores one output; the model has {len(ref)}")
    tanh_out = g.node(g.outputs[0]).op == "tanh"
    workload = from_graph(g, loaded.name)
    fp32_bits = 32 * workload.conv_weights
    rows = []
    for k, fmt in enumerate(formats):
        if progress:
            progress(k, len(formats), fmt)
        report = simulate(workload, arch, fmt, lowering=lowering, fusion=fusion)
        out = quantize(g, fmt, calib).run(x, impl=impl)
        s = q.output_scores(out, ref, tanh_out)
        bits = _weight_bits(workload, fmt)
        rows.append(CompareRow(fmt, fmt, bits, fp32_bits / bits, 1.0, workload.macs_effectual, report.macs_total,
                               report.dram_bytes, report.energy_per_image_uj, report.latency_us, s["psnr_db"], s["ssim"],
                               None, None))
        log.info("%s: %.3f uJ/image, PSNR %.2f dB", fmt, report.energy_per_image_uj, s["psnr_db"])
    if progress:
        progress(len(rows), len(rows), "done")
    return rows


def _weight_bits(workload, fmt: str) -> int:
    """Dense weight storage of every layer in ``fmt`` (codes plus the format's per-tensor overhead)."""
    f = get_format(fmt)
    return sum(Compression().weight_storage_bits(l.weight_elems, l.out_channels, f)
               for l in workload.layers if l.weight_elems)
