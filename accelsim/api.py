"""``simulate(workload, arch) -> Report``: the whole flow as a literal list of steps.

    workload -> formats -> energy table -> per layer: lower -> tile -> replay -> price -> Report

A crossbar arch (``arch.kind == "crossbar"``, ReRAM tiles) takes the same steps; only "tile ->
replay" becomes "map weights to crossbars -> count reads and ADC conversions" (accelsim.sim.crossbar),
after one placement step for the whole network (do all weights fit on chip).
"""
from __future__ import annotations

from functools import lru_cache

from accelsim.arch import DEFAULT_ARCH, ArchSpec, load_arch
from accelsim.errors import ConfigError, FormatError
from accelsim.energy import LayerResult, Report, energy_table, price
from accelsim.energy.tables import sram_energy
from accelsim.mapping import DEFAULT_LOWERING, LOWERINGS, MapperCosts, lower, search, shortlist, tiling
from accelsim.mapping.fusion import FusionCosts, LayerBase, check_fusion, plan_fusion
from accelsim.mapping.lowering import Gemm
from accelsim.sim import compute_cycles, crossbar_network, simulate_conv, simulate_crossbar, simulate_elementwise
from accelsim.sim import engine
from accelsim.sim.engine import dram_bits, fused_activity
from accelsim.workload import Compression, Format, Workload, plan
from accelsim.workload.models import resolve_workload

DEFAULT_MODEL = "dcgan-digits"
LOWERING_CHOICES = LOWERINGS + ("best",)


def _metric(result: LayerResult, objective: str) -> float:
    if objective == "dram":
        return result.activity.dram_bytes
    if objective == "latency":
        return result.activity.latency_cycles
    if objective == "edp":
        return result.total_energy_pj * result.activity.latency_cycles
    return result.total_energy_pj


# how many of the mapper's best estimates the energy, latency and edp objectives simulate
SHORTLIST = 4


def _mapped(lowered, plan, arch: ArchSpec, objective: str, table, costs: MapperCosts):
    """The activity of ``lowered`` under the mapping that wins ``objective``. dram: the mapper's own
    choice (its DRAM byte count is exact). energy, latency, edp: the mapper's estimates of
    activates, static energy and DRAM time are coarse, so its ``SHORTLIST`` best candidates and the
    dram objective's choice are simulated and the one the simulator prices best is kept (never
    worse than the dram objective's mapping on that objective; tests/test_mapping_objectives.py)."""
    if objective == "dram":
        return simulate_conv(search(lowered, plan, arch, objective, costs), plan, arch)
    maps = shortlist(lowered, plan, arch, objective, costs, SHORTLIST) + (search(lowered, plan, arch, "dram", costs),)
    results = [_priced(simulate_conv(m, plan, arch), table) for m in maps]
    return min(results, key=lambda r: _metric(r, objective)).activity


def _elementwise_op(fmt: Format) -> tuple:
    return ("add", "fp" if fmt.act_kind == "float" else "int", max(fmt.act_bits, 8))


def _priced(activity, table) -> LayerResult:
    """Energy of a layer's actions; a crossbar layer's one-time weight programming priced apart."""
    xb = activity.crossbar
    return LayerResult(activity, price(activity.actions, table),
                       price(xb.programming_actions, table) if xb is not None else None)


@lru_cache(maxsize=64)
def _table(arch: ArchSpec, ops: frozenset):
    return energy_table(arch, ops)


def clear_memos() -> None:
    """Forget every remembered intermediate result (tile searches, layer replays, energy tables, SRAM
    lookups). Results never depend on them; benchmarks call this to time a warm interpreter on work it
    has not seen (a repeated identical call is otherwise answered from memory)."""
    tiling.forget()
    engine.forget()
    sram_energy.cache_clear()
    _table.cache_clear()


def simulate(workload: Workload | str = DEFAULT_MODEL, arch: ArchSpec | str = DEFAULT_ARCH,
             fmt: str | Format | dict = "int8", *, lowering: str = DEFAULT_LOWERING, objective: str = "dram",
             compression: Compression | dict | None = None, batch: int = 1,
             zeros_in_dram: bool = False, fusion: str = "none") -> Report:
    """Simulate one generated batch of ``workload`` on ``arch``.

    fmt: a format name, a Format, or a dict layer name -> format (key "*" for the rest).
    lowering: zero_insert | phase | scatter for every transposed convolution, or best (per layer, the
        one that wins on the objective). objective: dram | energy | latency | edp (energy x latency),
        for the mapper and for "best".
    zeros_in_dram: with zero_insert, the dilated input is stored in DRAM (as SCALE-Sim/ZigZag model it).
    fusion: none (every layer's activations go through DRAM) | auto (layer fusion, accelsim.mapping.fusion:
        stacks of consecutive layers keep their intermediate tensors on chip, whole or in row bands; never
        more DRAM bytes than none). Systolic-array archs only.
    """
    check_fusion(fusion)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"batch must be an integer >= 1, got {batch!r}")
    if not isinstance(workload, (Workload, str)):
        raise ConfigError(f"workload must be a Workload or a model reference string, got {type(workload).__name__}")
    if not isinstance(arch, (ArchSpec, str)):
        raise ConfigError(f"arch must be an ArchSpec or a preset name / YAML path, got {type(arch).__name__}")
    if not isinstance(fmt, (str, Format, dict)):
        raise FormatError(f"fmt must be a format name, a Format or a dict layer -> format, got {type(fmt).__name__}")
    if compression is not None and not isinstance(compression, (Compression, dict)):
        raise ConfigError(f"compression must be a Compression or a dict layer -> Compression, "
                          f"got {type(compression).__name__} {compression!r}")
    # 1. workload and architecture
    workload = workload if isinstance(workload, Workload) else resolve_workload(workload)
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    # 2. format and compression of every layer
    plans = plan(workload.with_batch(batch), fmt, compression)
    # 3. the energy reference table (the only source of pJ)
    ops = frozenset(op for p in plans for op in p.fmt.mac_ops + (_elementwise_op(p.fmt),))
    table = _table(arch, ops)
    read_pj = table.pj(("dram_read_bit",)) * 8
    write_pj = table.pj(("dram_write_bit",)) * 8
    act_pj, cycle_pj = table.pj(("dram_activate",)), table.pj(("cycle",))
    transfer_cycles = arch.cycles(arch.dram.t_cl_ns)
    a = arch.array
    if lowering not in LOWERING_CHOICES:
        raise ConfigError(f"lowering must be one of {', '.join(LOWERING_CHOICES)}, got {lowering!r}")
    if objective not in tiling.OBJECTIVES:   # checked here too: a crossbar arch never reaches the mapper
        raise ConfigError(f"objective must be one of {', '.join(tiling.OBJECTIVES)}, got {objective!r}")
    if fusion != "none" and arch.kind == "crossbar":
        raise ConfigError(f"fusion {fusion!r} applies to systolic-array archs; crossbar arch {arch.name!r} places "
                          "its activations on chip itself (use fusion='none')")
    # 3b. crossbar archs: do all weights fit on chip, which activations stay on chip (None: digital)
    net = crossbar_network(plans, arch, lowering) if arch.kind == "crossbar" else None
    results = []
    for i, p in enumerate(plans):
        candidates = []
        methods = LOWERINGS if lowering == "best" and p.layer.op == "conv_transpose2d" else (lowering,)
        if net is not None:   # crossbars: the placement resolved "best" (weights must fit together)
            methods = (net.lowerings[i],)
        for method in methods:
            # 4. lower the layer to GEMMs
            lowered = lower(p.layer, method if method != "best" else DEFAULT_LOWERING, zeros_in_dram)
            if lowered.method == "elementwise":
                activity = simulate_elementwise(p, arch)
            elif net is not None:
                # 5-6. map the weights to crossbars, count reads / ADC conversions / cycles per input bit
                activity = simulate_crossbar(lowered, p, arch, net, i)
            else:
                # 5. tile it to the buffers, 6. replay the tile schedule through DRAM and the array
                cycles = sum(compute_cycles(g, a.rows, a.cols, a.dataflow) for g in lowered.gemms)
                activity = _mapped(lowered, p, arch, objective, table,
                                   MapperCosts(read_pj, write_pj, cycles, act_pj, cycle_pj, transfer_cycles))
            # 7. price the action counts
            candidates.append(_priced(activity, table))
        # "best": per layer, the lowering that wins on the objective (then fewer executed MACs)
        results.append(min(candidates, key=lambda r: (_metric(r, objective), r.activity.macs_total)))
    stacks = ()
    if fusion == "auto":
        # 8. layer fusion: stacks of layers keep their activations on chip; re-price the layers it changes
        results, fplan = _fuse(workload, plans, arch, table, objective, results, zeros_in_dram)
        stacks = fplan.stacks
    fmt_name = fmt if isinstance(fmt, str) else getattr(fmt, "name", "mixed")
    return Report(workload.name, arch.name, fmt_name, lowering, arch.clock_hz, batch, tuple(results), fusion, stacks)


def _fusion_args(workload: Workload, plans, arch: ArchSpec, table, results, zeros_in_dram: bool) -> dict:
    """What ``accelsim.mapping.fusion`` needs besides the objective: the layer-by-layer results as
    ``LayerBase``, the lowered layers, prices, and the compute cycles of a band."""
    a = arch.array
    acts = [r.activity for r in results]
    lowered = [act.mapping.lowered if act.mapping is not None else lower(p.layer, DEFAULT_LOWERING, zeros_in_dram)
               for act, p in zip(acts, plans)]
    base = []
    for act in acts:
        rd, wr = dram_bits(act)
        tile = act.mapping.tile_bits["weight"] if act.mapping is not None else 0.0
        base.append(LayerBase(rd, wr, act.macs_total, act.compute_cycles, act.stall_cycles, tile))
    batch = plans[0].layer.batch
    memo: dict = {}

    def cycles_of(i: int, rows: int) -> int:
        """Compute cycles of one image's band of ``rows`` tiled rows of layer i (its GEMMs' pixels cut
        in proportion)."""
        key = (i, rows)
        if key not in memo:
            lw = lowered[i]
            total = lw.layer.in_hw[0] if lw.method == "scatter" else lw.layer.out_hw[0]
            cyc = 0
            for g in lw.gemms:
                px = g.pixels // batch
                px = px if rows >= total else -(-px * rows // total)
                cyc += compute_cycles(Gemm(px, g.window, g.filters, g.count), a.rows, a.cols, a.dataflow)
            memo[key] = cyc
        return memo[key]

    cycle_pj = table.pj(("cycle",)) if ("cycle",) in table.entries else 0.0
    costs = FusionCosts(table.pj(("dram_read_bit",)), table.pj(("dram_write_bit",)),
                        tuple(sum(table.pj(op) for op in p.fmt.mac_ops) for p in plans), cycle_pj)
    return {"workload": workload.with_batch(batch), "plans": plans, "lowered": lowered, "arch": arch, "base": base,
            "costs": costs, "cycles_of": cycles_of}


def _fuse(workload: Workload, plans, arch: ArchSpec, table, objective: str, results: list, zeros_in_dram: bool):
    fplan = plan_fusion(objective=objective, **_fusion_args(workload, plans, arch, table, results, zeros_in_dram))
    fused = [r if lf is None else _priced(fused_activity(r.activity, lf, p, arch), table)
             for r, lf, p in zip(results, fplan.layers, plans)]
    return fused, fplan


def fusion_inputs(workload: Workload | str, arch: ArchSpec | str, fmt="int8", *, lowering: str = DEFAULT_LOWERING,
                  objective: str = "dram", batch: int = 1, zeros_in_dram: bool = False) -> dict:
    """The keyword arguments of ``accelsim.mapping.fusion.plan_fusion`` / ``evaluate_stack`` for a
    workload on a systolic-array arch (its layer-by-layer simulation included): for inspecting a
    fusion plan, or pricing one stack configuration by hand."""
    workload = workload if isinstance(workload, Workload) else resolve_workload(workload)
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    rep = simulate(workload, arch, fmt, lowering=lowering, objective=objective, batch=batch,
                   zeros_in_dram=zeros_in_dram)
    plans = plan(workload.with_batch(batch), fmt)
    ops = frozenset(op for p in plans for op in p.fmt.mac_ops + (_elementwise_op(p.fmt),))
    return _fusion_args(workload, plans, arch, _table(arch, ops), list(rep.layers), zeros_in_dram)


def simulate_formats(workload: Workload | str, arch: ArchSpec | str, formats, **kwargs) -> list[Report]:
    workload = workload if isinstance(workload, Workload) else resolve_workload(workload)
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    return [simulate(workload, arch, f, **kwargs) for f in formats]
