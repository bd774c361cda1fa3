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


def search_budget(n_layers: int, n_rungs: int) -> int:
    """Assignments the greedy walk evaluates at most: (L (R-1)) steps, each trying <= L layers."""
    steps = n_layers * (n_rungs - 1)
    return 1 + steps * n_layers


__all__ = [
    "COSTS",
    "DEFAULT_LADDER",
    "Candidate",
    "Evaluator",
    "SearchResult",
    "apgan_assignments",
    "search",
    "search_budget",
]
