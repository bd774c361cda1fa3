"""Hardware-aware search of per-layer formats (issue 15 item 4): the simulator is the cost model, the
runtime the quality model, both on the same generator graph.

Given a model, an arch, a ladder of formats (most to least precise, e.g. ``w8a8 > w4a8 > w2a8 >
w1a8``) and a cost (energy per image, DRAM bytes or weight bits), ``search`` walks greedily down the
ladder, HAQ-style without the learning: from every layer at the top, each step tries lowering each
layer by one rung, prices every try with ``accelsim.api.simulate`` and scores it with
``accelsim.runtime`` (PSNR of the integer kernels' output against the float generator on fixed
inputs), and takes the try that loses the least quality per unit of cost saved; it stops when every
layer is at the bottom. Every assignment it evaluated (and the baselines) forms the candidate set;
the answer is the Pareto set of quality against cost, and the best assignment within a budget.

Baselines, evaluated the same way: every uniform format of the ladder, and ApGAN's rule (Roohi et
al., "ApGAN: Approximate GAN for Robust Low Energy Learning from Imprecise Components", IEEE TC
2019): binarise the weights of the k layers with the most data redundancy, measured as the size
c x h x w of the layer's input feature map, for k = 1..L, the others at the top of the ladder.
``beats`` says, for each baseline, which searched assignment dominates it (cost <= and quality >=).

Layers that are not MAC layers (residual adds, upsampling) are priced at the top format of the
ladder; calibration runs once (``runtime.calibrate``) and is shared by every assignment.

Widths, in the MFAGAN style (Cheng et al., "MFAGAN: A Compression Framework for Memory-Efficient
On-Device Super-Resolution GAN", arXiv 2107.12679: a hardware-aware search of a sub-generator, G and
D distilled): ``search_widths`` enumerates the sub-generators of a model with a width knob (sr-x4:
``features`` / ``shrink``, the teacher's 48/24), prices each in one format with the simulator (no
training needed for the cost), keeps those within the budget, distils the ``distil`` costliest of
them (the nearest the budget) from the teacher with ``compress.distill.distill_sr`` (pixel L1, and
with ``adv_weight > 0`` the non-saturating loss under a student PatchGAN distilled from a teacher
PatchGAN trained against the teacher generator on LR/HR patches), scores them (PSNR against the HR
ground truth for sr-x4) and returns the Pareto set of quality against cost and the chosen one (the
best quality within the budget; the teacher itself competes when it fits).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from accelsim.errors import ConfigError, FormatError

COSTS = {"energy_uj": "energy per image, uJ", "dram_bytes": "DRAM bytes per batch",
         "weight_bits": "weight storage, bits"}
DEFAULT_LADDER = ("w8a8", "w4a8", "w2a8", "w1a8")
CALIB_SEED = 1234     # as accelsim generate: calibration inputs disjoint from the evaluation seed


@dataclass(frozen=True)
class Candidate:
    """One per-layer assignment, priced and scored."""
    formats: tuple[tuple[str, str], ...]    # (layer, format) in layer order
    energy_uj: float
    dram_bytes: int
    weight_bits: int
    psnr_db: float
    ssim: float
    origin: str                             # "search", "uniform", "apgan-k<k>"

    def cost(self, kind: str) -> float:
        return float(getattr(self, kind))

    @property
    def label(self) -> str:
        """Formats as one assignment string (the default the most common, exceptions by layer)."""
        names = [f for _, f in self.formats]
        default = max(dict.fromkeys(names), key=names.count)
        return ",".join([default] + [f"{l}={f}" for l, f in self.formats if f != default])

    def to_json(self) -> dict:
        return {"formats": dict(self.formats), "assignment": self.label, "energy_uj": self.energy_uj,
                "dram_bytes": self.dram_bytes, "weight_bits": self.weight_bits, "psnr_db": self.psnr_db,
                "ssim": None if math.isnan(self.ssim) else self.ssim, "origin": self.origin}


@dataclass
class SearchResult:
    model: str
    arch: str
    ladder: tuple[str, ...]
    cost: str
    n_inputs: int
    candidates: list[Candidate]                      # every evaluated assignment, in evaluation order
    path: list[Candidate]                            # the greedy walk, top to bottom
    baselines: list[Candidate]
    seconds: float
    beats: dict[str, str | None] = field(default_factory=dict)   # baseline label -> dominating search label

    def pareto(self) -> list[Candidate]:
        """Candidates no other candidate dominates (cost <= and PSNR >=, one strictly), cheapest first."""
        c = self.cost
        front = [a for a in self.candidates
                 if not any(b.cost(c) <= a.cost(c) and b.psnr_db >= a.psnr_db
                            and (b.cost(c) < a.cost(c) or b.psnr_db > a.psnr_db) for b in self.candidates)]
        return sorted(set(front), key=lambda a: (a.cost(c), -a.psnr_db))

    def best_within(self, budget: float) -> Candidate | None:
        ok = [a for a in self.candidates if a.cost(self.cost) <= budget]
        return max(ok, key=lambda a: (a.psnr_db, -a.cost(self.cost))) if ok else None


class Evaluator:
    """Prices (simulator) and scores (runtime) per-layer assignments of one model on one arch, with
    one calibration and fixed inputs shared by all; results are cached by assignment."""

    def __init__(self, model: str, arch, n_inputs: int = 32, calib: int = 32, seed: int = 0,
                 lowering: str | None = None, impl: str = "cpp", weight_quantizer: str = "minmax"):
        from accelsim.api import DEFAULT_LOWERING
        from accelsim.arch import ArchSpec, load_arch
        from accelsim.graph.reference import load
        from accelsim.runtime import calibrate
        from accelsim.workload.from_graph import from_graph
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or not 1 <= n_inputs <= 4096:
            raise ConfigError(f"n_inputs must be an integer in [1, 4096], got {n_inputs!r}")
        if isinstance(calib, bool) or not isinstance(calib, int) or not 1 <= calib <= 4096:
            raise ConfigError(f"calib must be an integer in [1, 4096], got {calib!r}")
        self.loaded = load(model)
        self.graph = self.loaded.graph
        self.layers = [n.name for n in self.graph.mac_nodes]
        self.workload = from_graph(self.graph, self.loaded.name)
        self.arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
        self.lowering = lowering or DEFAULT_LOWERING
        self.impl = impl
        from accelsim.formats.fixed import check_weight_quantizer
        self.weight_quantizer = check_weight_quantizer(weight_quantizer)
        self.x = self.loaded.example_inputs(n_inputs, seed)
        self.ref = self.graph.run_float(self.x)
        self.ranges = calibrate(self.graph, self.loaded.example_inputs(calib, CALIB_SEED))
        self.tanh = self.graph.node(self.graph.outputs[0]).op == "tanh"
        self.redundancy = {l.name: l.input_elems for l in self.workload.layers if l.name in self.layers}
        self._cache: dict[tuple, Candidate] = {}

    def __call__(self, formats: dict[str, str], origin: str) -> Candidate:
        from accelsim.api import simulate
        from accelsim.quality import output_scores
        from accelsim.runtime import quantize
        key = tuple((l, formats[l]) for l in self.layers)
        if key in self._cache:
            return self._cache[key]
        top = formats[self.layers[0]]
        report = simulate(self.workload, self.arch, {**dict(key), "*": top}, lowering=self.lowering)
        out = quantize(self.graph, dict(key), ranges=self.ranges,
                       weight_quantizer=self.weight_quantizer).run(self.x, impl=self.impl)
        if isinstance(out, tuple):
            out = out[0]
        s = output_scores(out, self.ref if not isinstance(self.ref, tuple) else self.ref[0], self.tanh)
        weight_bits = sum(int(lr.activity.weight_bytes) * 8 for lr in report.layers)
        cand = Candidate(key, report.energy_per_image_uj, int(report.dram_bytes), weight_bits,
                         float(s["psnr_db"]), float(s["ssim"]), origin)
        self._cache[key] = cand
        return cand


def _ladder(formats) -> tuple[str, ...]:
    from accelsim.formats.registry import get, parse_list
    ladder = parse_list(",".join(formats) if not isinstance(formats, str) else formats, "ladder")
    if len(ladder) < 2:
        raise FormatError(f"ladder: give at least two formats, most precise first, got {', '.join(ladder)}")
    for f in ladder:
        if get(f).is_float:
            raise FormatError(f"ladder: {f} is a float format; the search walks integer formats")
    return ladder


def apgan_assignments(ev: Evaluator, ladder: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    """ApGAN's rule: binary weights (the ladder's binary-weight rung, else w1a8) on the k layers with
    the largest input c x h x w, k = 1..L; the rest at the top of the ladder."""
    from accelsim.formats.registry import get
    binary = next((f for f in ladder if get(f).weight_kind == "binary" and get(f).act_kind != "binary"), "w1a8")
    order = sorted(ev.layers, key=lambda l: (-ev.redundancy.get(l, 0), ev.layers.index(l)))
    out = []
    for k in range(1, len(order) + 1):
        chosen = set(order[:k])
        out.append((f"apgan-k{k}", {l: binary if l in chosen else ladder[0] for l in ev.layers}))
    return out


def search(model: str, arch, ladder=DEFAULT_LADDER, cost: str = "energy_uj", n_inputs: int = 32,
           calib: int = 32, seed: int = 0, lowering: str | None = None, progress=None,
           weight_quantizer: str = "minmax") -> SearchResult:
    """The greedy walk down ``ladder`` (see the module docstring) and the baselines. ``progress``:
    called as ``progress(done, total)`` after each evaluation (total is an upper bound until the end)."""
    if cost not in COSTS:
        raise ConfigError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    t0 = time.perf_counter()
    ladder = _ladder(ladder)
    ev = Evaluator(model, arch, n_inputs, calib, seed, lowering, weight_quantizer=weight_quantizer)
    apgan = apgan_assignments(ev, ladder)
    total = search_budget(len(ev.layers), len(ladder)) + len(ladder) + len(apgan)   # an upper bound
    done = [0]

    def tick():
        done[0] += 1
        if progress is not None:
            progress(min(done[0], total - 1), total)

    state = {l: 0 for l in ev.layers}                # rung per layer

    def assign(st):
        return {l: ladder[r] for l, r in st.items()}

    current = ev(assign(state), "search")
    tick()
    path = [current]
    while True:
        tries = []
        for l in ev.layers:
            if state[l] + 1 < len(ladder):
                st = {**state, l: state[l] + 1}
                tries.append((st, ev(assign(st), "search")))
                tick()
        if not tries:
            break

        def rank(item, cur=current):
            c = item[1]
            saved = cur.cost(cost) - c.cost(cost)
            lost = cur.psnr_db - c.psnr_db
            # loss per unit saved; a try that saves nothing goes last (then the smaller loss)
            return (0, lost / saved, -saved) if saved > 0 else (1, lost, 0.0)

        state, current = min(tries, key=rank)
        path.append(current)
    baselines = []
    for origin, a in [("uniform", {l: f for l in ev.layers}) for f in ladder] + apgan:
        c = ev(a, origin)
        tick()
        if c.origin != origin:        # the same assignment was already evaluated under another name
            c = Candidate(c.formats, c.energy_uj, c.dram_bytes, c.weight_bits, c.psnr_db, c.ssim, origin)
        baselines.append(c)
    if progress is not None:
        progress(total, total)
    searched = list({c.formats: c for c in ev._cache.values() if c.origin == "search"}.values())
    everything = {c.formats: c for c in baselines}
    everything.update({c.formats: c for c in searched})      # an assignment the search reached is the search's
    everything = list(everything.values())
    beats = {}
    for b in baselines:
        dom = [s for s in searched if s.cost(cost) <= b.cost(cost) and s.psnr_db >= b.psnr_db]
        beats[f"{b.origin}: {b.label}"] = min(dom, key=lambda s: s.cost(cost)).label if dom else None
    return SearchResult(ev.loaded.name, ev.arch.name, ladder, cost, n_inputs, everything, path, baselines,
                        time.perf_counter() - t0, beats)


# ---- widths (MFAGAN-style sub-generator search) -----------------------------------------------------
WIDTH_KNOBS = {"sr-x4": ("features", "shrink")}      # models whose hidden widths the search can set
SR_TEACHER_WIDTHS = (48, 24)
SR_WIDTH_GRID = tuple((f, s) for f in range(6, 49, 6) for s in range(6, 25, 6) if s <= f)
WIDTH_FORMATS = ("fp32", "int8", "int4", "ternary", "binary", "flex16")   # compress.precision kinds


@dataclass(frozen=True)
class WidthCandidate:
    """One sub-generator: its widths, its cost in the search's format, and (once trained) quality."""
    widths: tuple[int, ...]                 # (features, shrink) for sr-x4
    fmt: str
    energy_uj: float
    dram_bytes: int
    weight_bits: int
    macs: int
    psnr_db: float | None = None            # against the float teacher's output
    psnr_gt_db: float | None = None         # against the HR ground truth (sr-x4)
    origin: str = "priced"                  # "priced" (cost only), "teacher", "distilled", "untrained" (steps 0)
    steps: int = 0
    train_seconds: float = 0.0

    def cost(self, kind: str) -> float:
        return float(getattr(self, kind))

    @property
    def quality(self) -> float | None:
        return self.psnr_gt_db if self.psnr_gt_db is not None else self.psnr_db

    @property
    def label(self) -> str:
        return "/".join(map(str, self.widths))

    def to_json(self) -> dict:
        return {"widths": list(self.widths), "label": self.label, "format": self.fmt, "energy_uj": self.energy_uj,
                "dram_bytes": self.dram_bytes, "weight_bits": self.weight_bits, "macs": self.macs,
                "psnr_db": self.psnr_db, "psnr_gt_db": self.psnr_gt_db, "origin": self.origin, "steps": self.steps,
                "train_seconds": self.train_seconds}


@dataclass
class WidthSearchResult:
    model: str
    arch: str
    fmt: str
    cost: str
    budget: float
    priced: list[WidthCandidate]            # every enumerated width, cost only, cheapest first
    evaluated: list[WidthCandidate]         # the distilled students (and the teacher when it fits)
    chosen: WidthCandidate
    quality_metric: str                     # "psnr_gt_db" or "psnr_db"
    seconds: float
    discriminator: dict = field(default_factory=dict)   # what the adversarial term used, if any
    generators: dict = field(default_factory=dict, repr=False)   # widths -> the scored CompressedGenerator (fp32)

    @property
    def within(self) -> list[WidthCandidate]:
        return [c for c in self.priced if c.cost(self.cost) <= self.budget]

    def pareto(self) -> list[WidthCandidate]:
        """Evaluated candidates no other dominates (cost <= and quality >=, one strictly), cheapest first."""
        c = self.cost
        ev = self.evaluated
        front = [a for a in ev if not any(b.cost(c) <= a.cost(c) and b.quality >= a.quality
                                          and (b.cost(c) < a.cost(c) or b.quality > a.quality) for b in ev)]
        return sorted(front, key=lambda a: (a.cost(c), -a.quality))


def parse_widths(text, model: str = "sr-x4") -> tuple[tuple[int, ...], ...]:
    """``"24/12,12/6"`` (or a sequence of tuples) as width tuples of ``model``; ConfigError naming
    ``widths`` when malformed, repeated, below the minimum or above the teacher's."""
    from accelsim.compress.distill import SR_MIN_WIDTH
    knobs = _knobs(model)
    items = [w.strip() for w in text.split(",")] if isinstance(text, str) else list(text)
    out = []
    for item in items:
        try:
            w = tuple(int(v) for v in item.split("/")) if isinstance(item, str) else tuple(int(v) for v in item)
        except (TypeError, ValueError):
            raise ConfigError(f"widths: {item!r} is not {'/'.join(knobs)} (integers, e.g. 24/12)") from None
        if len(w) != len(knobs):
            raise ConfigError(f"widths: {item!r} is not {'/'.join(knobs)} (integers, e.g. 24/12)")
        for name, v, top in zip(knobs, w, SR_TEACHER_WIDTHS):
            if not SR_MIN_WIDTH <= v <= top:
                raise ConfigError(f"widths: {item!r}: {name} must be in [{SR_MIN_WIDTH}, {top}] (the teacher's), got {v}")
        if w in out:
            raise ConfigError(f"widths: {item!r} is repeated")
        out.append(w)
    if not out:
        raise ConfigError("widths: no candidate widths given")
    return tuple(out)


def _knobs(model) -> tuple[str, ...]:
    if not isinstance(model, str) or model not in WIDTH_KNOBS:
        known = ", ".join(f"{m} ({'/'.join(k)})" for m, k in WIDTH_KNOBS.items())
        raise ConfigError(f"widths: model {model!r} has no width knob the search can set (width search: {known}); "
                          "search its per-layer formats instead")
    return WIDTH_KNOBS[model]


def _width_kind(fmt: str) -> str:
    from accelsim.compress.precision import kernel_format
    from accelsim.formats.registry import canonical
    if fmt in WIDTH_FORMATS:
        return fmt
    try:
        name = canonical(fmt)
    except FormatError:
        name = None
    for kind in WIDTH_FORMATS:
        if name is not None and canonical(kernel_format(kind) if kind != "fp32" else "fp32") == name:
            return kind
    raise FormatError(f"format: {fmt!r} is not one the width search prices (one format for the whole "
                      f"sub-generator: {', '.join(WIDTH_FORMATS)} or their names such as w8a8)")


def sr_student_shape(widths: tuple[int, int], seed: int = 0):
    """A CompressedGenerator of sr-x4's layout at these widths with placeholder weights (normal,
    fixed seed): what the simulator prices (the cost of a dense format depends only on shapes)."""
    import numpy as np

    from accelsim.compress.chain import from_weights
    features, shrink = widths
    rng = np.random.default_rng(seed)
    shapes = {"conv1": (features, 3, 5, 5), "conv2": (shrink, features, 1, 1)}
    shapes.update({f"conv{i}": (shrink, shrink, 3, 3) for i in range(3, 7)})
    shapes.update({"conv7": (features, shrink, 1, 1), "deconv": (features, 3, 8, 8)})
    weights = {}
    for name, shape in shapes.items():
        weights[f"{name}.weight"] = rng.normal(0.0, 0.1, shape)
        weights[f"{name}.bias"] = np.zeros(shape[1] if name == "deconv" else shape[0])
    return from_weights("sr-x4", weights)


def price_width(cg, kind: str, arch, lowering: str = "phase") -> WidthCandidate:
    """The simulator's cost of ``cg`` (a sub-generator) in ``kind``, as ``compare.evaluate_generator``
    prices it (``workload_of``: the shapes, the format, the exact stored weight bits)."""
    from accelsim.api import simulate
    from accelsim.compare import workload_of
    from accelsim.compress.precision import quantize
    q = cg if kind == "fp32" else quantize(cg, kind)
    workload, formats, comps = workload_of(q)
    report = simulate(workload, arch, formats, compression=comps, lowering=lowering)
    widths = (q.layers[0].out_channels, q.layers[1].out_channels)
    return WidthCandidate(widths, kind, float(report.energy_per_image_uj), int(report.dram_bytes),
                          int(q.weight_bits()), int(report.macs_total))


def search_widths(model: str, arch, budget: float, cost: str = "energy_uj", fmt: str = "fp32", widths=None,
                  distil: int = 3, steps: int = 300, pairs=None, lr: float = 1e-3, batch_size: int = 64,
                  adv_weight: float = 0.0, disc_steps: int = 200, disc_width: int = 16, discriminator=None,
                  seed: int = 0, threads: int | None = None, lowering: str = "phase",
                  progress=None) -> WidthSearchResult:
    """The MFAGAN-style width search (module docstring). ``widths``: candidate width tuples (default
    ``SR_WIDTH_GRID``, 26 sub-generators of sr-x4), ``pairs``: (LR images, HR images) to train on
    (default ``distill.sr_training_pairs()``: needs scikit-image; not needed when ``steps == 0``,
    which scores the untrained bilinear starts). ``adv_weight > 0``: a teacher PatchGAN of width
    ``disc_width`` is trained ``disc_steps`` steps against the teacher generator, a student of half
    its width distilled from it for ``disc_steps`` steps, and each student generator is distilled under
    it (frozen); ``discriminator``: a trained student PatchGAN to use instead (no D training here).
    ``progress(done, total)`` after each pricing / training. Every cost is the simulator's;
    a candidate over the budget is never trained nor chosen."""
    import numpy as np

    from accelsim.arch import ArchSpec, load_arch
    from accelsim.compress import zoo
    from accelsim.compress.precision import quantize

    t0 = time.perf_counter()
    _knobs(model)
    if cost not in COSTS:
        raise ConfigError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not (math.isfinite(budget) and budget > 0):
        raise ConfigError(f"budget must be a positive number, got {budget!r}")
    for name, v, lo in (("distil", distil, 1), ("steps", steps, 0), ("disc_steps", disc_steps, 1),
                        ("batch_size", batch_size, 1), ("disc_width", disc_width, 2)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
    if not (isinstance(adv_weight, (int, float)) and math.isfinite(adv_weight) and adv_weight >= 0):
        raise ConfigError(f"adv_weight must be a number >= 0, got {adv_weight!r}")
    if adv_weight > 0 and steps == 0:
        raise ConfigError("adv_weight: the adversarial term needs training (steps > 0)")
    kind = _width_kind(fmt)
    cands = parse_widths(widths if widths is not None else SR_WIDTH_GRID, model)
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    teacher = zoo.build(model, "fp32")
    teacher_widths = tuple(SR_TEACHER_WIDTHS)
    total = len(cands) + distil + (2 if adv_weight > 0 else 0)
    done = [0]

    def tick():
        done[0] += 1
        if progress is not None:
            progress(min(done[0], total - 1), total)

    priced = []
    for w in cands:
        priced.append(price_width(sr_student_shape(w), kind, arch, lowering))
        tick()
    priced.sort(key=lambda c: (c.cost(cost), c.widths))
    within = [c for c in priced if c.cost(cost) <= budget]
    if not within:
        cheapest = priced[0]
        raise ConfigError(f"budget: no {model} width fits {COSTS[cost]} <= {budget:g} in {kind}; the cheapest "
                          f"candidate, {cheapest.label}, costs {cheapest.cost(cost):,.6g}")
    if steps > 0 and pairs is None:   # the training images (scikit-image), once a width is known to fit
        from accelsim.compress.distill import sr_training_pairs
        pairs = sr_training_pairs()
    # quality: the one evaluator of accelsim compare, on the shipped evaluation input
    from accelsim import compare
    x = compare.model_inputs(model, 1)
    ref = teacher.forward(x, np.float32).astype(np.float64)
    gt = model in compare.SR_MODELS
    metric = "psnr_gt_db" if gt else "psnr_db"

    def score(cg, c: WidthCandidate, origin: str, steps_run: int, secs: float) -> WidthCandidate:
        q = cg if kind == "fp32" else quantize(cg, kind)
        m = compare.quality(q, x, ref, 1, 0)
        return WidthCandidate(c.widths, kind, c.energy_uj, c.dram_bytes, c.weight_bits, c.macs,
                              float(m["psnr_db"]), None if m["psnr_gt_db"] is None else float(m["psnr_gt_db"]),
                              origin, steps_run, round(secs, 1))

    evaluated = []
    chosen_pool = [c for c in within if c.widths != teacher_widths]
    to_train = sorted(chosen_pool, key=lambda c: (-c.cost(cost), c.widths))[:distil]
    teacher_fits = next((c for c in within if c.widths == teacher_widths), None)
    generators = {}
    if teacher_fits is not None:
        evaluated.append(score(teacher, teacher_fits, "teacher", 0, 0.0))
        generators[teacher_widths] = teacher
    disc_info, disc = {}, None
    sampler = None
    if steps > 0:
        from accelsim.compress.finetune import lr_patch_sampler, paired_patch_sampler
        sampler = lr_patch_sampler(pairs[0])
    if adv_weight > 0 and discriminator is not None:
        disc, disc_info = discriminator, {"given": True, "adv_weight": adv_weight}
        tick()
        tick()
    elif adv_weight > 0:
        from accelsim.compress.distill import (
            distill_patch_discriminator,
            train_patch_discriminator,
        )
        pair_sampler = paired_patch_sampler(pairs[0], pairs[1])
        s0 = time.perf_counter()
        d_t, st = train_patch_discriminator(teacher, pair_sampler, disc_steps, width=disc_width, seed=seed,
                                            threads=threads)
        tick()
        disc, sd = distill_patch_discriminator(d_t, teacher, pair_sampler, disc_steps, width=disc_width // 2,
                                               seed=seed, threads=threads)
        tick()
        disc_info = {"teacher_width": disc_width, "student_width": disc_width // 2, "steps": disc_steps,
                     "teacher_last_real_logit": st["real_logit"], "teacher_last_fake_logit": st["fake_logit"],
                     "student_l1": sd["l1"], "student_sign_agreement": sd["sign_agreement"],
                     "adv_weight": adv_weight, "seconds": round(time.perf_counter() - s0, 1)}
    from accelsim.compress.distill import distill_sr
    for c in to_train:
        s0 = time.perf_counter()
        student = distill_sr(teacher, c.widths[0], c.widths[1], steps, sampler, lr=lr, batch_size=batch_size,
                             seed=seed, threads=threads, discriminator=disc, adv_weight=adv_weight)
        evaluated.append(score(student, c, "distilled" if steps else "untrained", steps, time.perf_counter() - s0))
        generators[c.widths] = student
        tick()
    if progress is not None:
        progress(total, total)
    chosen = max(evaluated, key=lambda c: (c.quality, -c.cost(cost)))
    assert chosen.cost(cost) <= budget
    return WidthSearchResult(model, arch.name, kind, cost, float(budget), priced, evaluated, chosen, metric,
                             time.perf_counter() - t0, disc_info, generators)


def search_budget(n_layers: int, n_rungs: int) -> int:
    """Assignments the greedy walk evaluates at most: (L (R-1)) steps, each trying <= L layers."""
    steps = n_layers * (n_rungs - 1)
    return 1 + steps * n_layers


__all__ = [
    "COSTS",
    "DEFAULT_LADDER",
    "SR_WIDTH_GRID",
    "WIDTH_FORMATS",
    "WIDTH_KNOBS",
    "Candidate",
    "Evaluator",
    "SearchResult",
    "WidthCandidate",
    "WidthSearchResult",
    "apgan_assignments",
    "parse_widths",
    "price_width",
    "search",
    "search_budget",
    "search_widths",
    "sr_student_shape",
]
