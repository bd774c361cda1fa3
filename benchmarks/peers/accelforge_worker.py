"""AccelForge side of benchmarks/vs_accelforge.py, run in AccelForge's own venv
(benchmarks/peers/setup_accelforge.sh): it never imports accelsim, and accelsim never imports it.

    python accelforge_worker.py JOB.json OUT.json

JOB.json (written by the driver): ``arch`` (the shared architecture: energies in pJ per action of
``bits_per_action`` bits, sizes in bits, leak power in W, clock in Hz), ``layers`` (one Einsum each:
tensor projections and the iteration space) and ``mapper`` (the caps on AccelForge's FFM mapper).
Each layer is mapped on its own (one Einsum per spec, so nothing is fused across layers: every
layer's tensors go through MainMemory, as in accelsim). OUT.json: per layer the mapper's wall time,
energy per component (dynamic and leak apart, pJ), action counts, latency, and the mapping found
(as a compact loop nest); plus the package versions. A job with ``stack`` (benchmarks/vs_accelforge.py
--fusion-stack) instead maps several Einsums as one workload, three times: every tensor through
MainMemory; intermediates allowed to stay in the InputBuffer (AccelForge's FFM fuses across Einsums);
intermediates kept out of MainMemory (forced fusion). Written whole at the end (temp file + rename).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time

T_START = time.perf_counter()


def arch_yaml(a: dict) -> str:
    """AccelForge arch text for the shared architecture: MainMemory -> InputBuffer, WeightBuffer,
    OutputBuffer (each keeps one tensor) -> rows x cols PEs (inputs multicast along a row, outputs
    reduced down a column) -> a weight register -> MAC. Energies in J per action."""
    def mem(name, keep, m, extra=""):
        return f"""
  - !Memory
    name: {name}
    size: {m['size_bits']}
    leak_power: {m['leak_power_w']!r}
    area: 0
    bits_per_action: {m['bits_per_action']}{extra}
    actions:
    - {{name: read, energy: {m['read_pj'] * 1e-12!r}, throughput: {m['throughput_actions_per_s']}}}
    - {{name: write, energy: {m['write_pj'] * 1e-12!r}, throughput: {m['throughput_actions_per_s']}}}
    tensors: {{keep: {keep}}}"""
    d = a["dram"]
    dram = {**d, "size_bits": "inf"}
    text = "arch:\n  nodes:"
    text += mem("MainMemory", "~Intermediates, may_keep: All", dram)
    b = a["buffers"]
    text += mem("InputBuffer", "input", b["ifmap"], f"\n    bits_per_value: {{All: {b['ifmap']['bits_per_value']}}}")
    text += mem("WeightBuffer", "weight", b["weight"], f"\n    bits_per_value: {{All: {b['weight']['bits_per_value']}}}")
    text += mem("OutputBuffer", "output", b["ofmap"], f"\n    bits_per_value: {{All: {b['ofmap']['bits_per_value']}}}")
    text += f"""
  - !Container
    name: PE
    spatial:
    - {{name: cols, fanout: {a['cols']}, reuse: input}}
    - {{name: rows, fanout: {a['rows']}, reuse: output}}
  - !Memory
    name: Register
    size: weight.bits_per_value if weight else 0
    leak_power: 0
    area: 0
    actions:
    - {{name: read, energy: 0, throughput: inf}}
    - {{name: write, energy: 0, throughput: inf}}
    tensors: {{keep: weight}}
  - !Compute
    name: MAC
    leak_power: 0
    area: 0
    actions:
    - {{name: compute, energy: {a['mac_pj'] * 1e-12!r}, throughput: {a['clock_hz']!r}}}
"""
    return text


def workload_yaml(layer: dict, bits: dict) -> str:
    acc = []
    for t in layer["tensors"]:
        proj = ", ".join(f"{k}: {v}" for k, v in t["projection"].items())
        acc.append(f"    - {{name: {t['name']}, projection: {{{proj}}}{', output: True' if t.get('output') else ''}}}")
    space = ", ".join(f"0 <= {v} < {n}" for v, n in layer["space"].items())
    return f"""workload:
  bits_per_value: {{{', '.join(f'{k}: {v}' for k, v in bits.items())}}}
  einsums:
  - name: {layer['name']}
    tensor_accesses:
{chr(10).join(acc)}
    iteration_space_shape: [{space}]
    renames: {{input: I, weight: Wt, output: O}}
"""


VARIANTS = ("unfused", "fused", "forced")


def fusion_arch_yaml(a: dict, variant: str) -> str:
    """The shared arch for a multi-Einsum stack. ``unfused``: MainMemory keeps every tensor (each Einsum
    reads its input from DRAM and writes its output there: the per-layer baseline). ``fused``:
    intermediate tensors (made and used inside the stack) may skip MainMemory and be kept in the
    InputBuffer (producer's output -> InputBuffer -> consumer's input), the on-chip path accelsim's
    fusion uses (its pool is the ifmap + ofmap buffer); the mapper picks. ``forced``: as fused, but
    intermediates may not be in MainMemory at all (the cheapest fused mapping, for comparison)."""
    text = arch_yaml(a)
    dram = "tensors: {keep: ~Intermediates, may_keep: All}"
    if variant == "unfused":
        return text.replace(dram, "tensors: {keep: All}", 1)
    if variant == "forced":
        text = text.replace(dram, "tensors: {keep: ~Intermediates, may_keep: ~Intermediates}", 1)
    return text.replace("tensors: {keep: input}", "tensors: {keep: input, may_keep: Intermediates}", 1)


def stack_workload_yaml(layers: list, bits: dict) -> str:
    """Several Einsums in one workload; a tensor shared by name links a producer to its consumer."""
    out = [f"workload:\n  bits_per_value: {{{', '.join(f'{k}: {v}' for k, v in bits.items())}}}\n  einsums:"]
    for layer in layers:
        acc = []
        for t in layer["tensors"]:
            proj = ", ".join(f"{k}: {v}" for k, v in t["projection"].items())
            acc.append(f"    - {{name: {t['name']}, projection: {{{proj}}}{', output: True' if t.get('output') else ''}}}")
        space = ", ".join(f"0 <= {v} < {n}" for v, n in layer["space"].items())
        i, w, o = (t["name"] for t in layer["tensors"])
        out.append(f"  - name: {layer['name']}\n    tensor_accesses:\n" + "\n".join(acc)
                   + f"\n    iteration_space_shape: [{space}]\n    renames: {{input: {i}, weight: {w}, output: {o}}}")
    return "\n".join(out) + "\n"


def walk(node, depth=0) -> list:
    """The whole mapping tree (a multi-Einsum mapping nests per-Einsum branches), one line per node."""
    kind = type(node).__name__
    line = "  " * depth + kind
    if kind == "Storage":
        line += f" {node.component}: {','.join(sorted(node.tensors))}"
    elif kind in ("Temporal", "Spatial"):
        line += f" {node.rank_variable}/{node.tile_shape}"
    elif kind == "Compute":
        line += f" {node.component} ({getattr(node, 'einsum', '')})"
    lines = [line]
    for c in getattr(node, "nodes", None) or []:
        lines += walk(c, depth + 1)
    return lines


def map_spec(af, arch_path: str, wl_path: str, caps: dict):
    """AccelForge's mapper on an arch and a workload file, with the mapper caps: (mapping, wall s)."""
    t0 = time.perf_counter()
    spec = af.Spec.from_yaml(arch_path, wl_path)
    for k, v in caps.items():
        setattr(spec.mapper, k, v)
    m = spec.map_workload_to_arch(print_progress=False)
    return m, time.perf_counter() - t0


def run_stack(af, arch: dict, stack: dict, caps: dict, workdir: str) -> dict:
    """Map one multi-Einsum stack three times (every tensor through DRAM; intermediates allowed on chip;
    intermediates forced on chip)."""
    out = {}
    wl_path = os.path.join(workdir, "stack.yaml")
    with open(wl_path, "w") as f:
        f.write(stack_workload_yaml(stack["layers"], stack["bits_per_value"]))
    for variant in VARIANTS:
        arch_path = os.path.join(workdir, f"arch-{variant}.yaml")
        with open(arch_path, "w") as f:
            f.write(fusion_arch_yaml(arch, variant))
        m, wall = map_spec(af, arch_path, wl_path, caps)
        row = m.data.iloc[0]
        energy, leak, actions = {}, {}, {}
        for col, v in row.items():
            parts = col.split("<SEP>")
            if len(parts) < 4 or parts[0] == "Total":
                continue
            if parts[1] == "energy":
                tgt = leak if parts[-1] == "leak" else energy
                tgt[parts[2]] = tgt.get(parts[2], 0.0) + float(v) * 1e12
            elif parts[1] == "action" and len(parts) >= 5:
                key = f"{parts[0]}.{parts[2]}.{parts[3]}.{parts[4]}"      # einsum.component.tensor.action
                actions[key] = actions.get(key, 0.0) + float(v)
        out[variant] = {"wall_s": wall, "latency_s": float(row["Total<SEP>latency"]),
                        "energy_pj": float(row["Total<SEP>energy"]) * 1e12,
                        "dynamic_pj_by_component": energy, "leak_pj_by_component": leak, "actions": actions,
                        "mapping_tree": walk(m.mapping()), "arch_yaml": open(arch_path).read()}
        print(f"accelforge: stack {variant} mapped in {wall:.1f} s", file=sys.stderr, flush=True)
    out["workload_yaml"] = open(wl_path).read()
    return out


def describe(mapping) -> str:
    """The mapping as one line, outer -> inner: [Memory: tensors], loops rank/tile (t: temporal,
    s-<dim>: spatial)."""
    out = []
    for n in mapping.nodes:
        kind = type(n).__name__
        if kind == "Storage":
            out.append(f"[{n.component}: {','.join(sorted(n.tensors))}]")
        elif kind == "Temporal":
            out.append(f"t {n.rank_variable}/{n.tile_shape}")
        elif kind == "Spatial":
            out.append(f"s-{n.name} {n.rank_variable}/{n.tile_shape}")
        elif kind == "Compute":
            out.append(f"{n.component}")
    return " ".join(out)


def run_layer(af, arch_text: str, layer: dict, caps: dict, workdir: str) -> dict:
    arch_path = os.path.join(workdir, "arch.yaml")
    wl_path = os.path.join(workdir, f"{layer['name']}.yaml")
    with open(arch_path, "w") as f:
        f.write(arch_text)
    with open(wl_path, "w") as f:
        f.write(workload_yaml(layer, layer["bits_per_value"]))
    m, wall = map_spec(af, arch_path, wl_path, caps)
    row = m.data.iloc[0]
    energy, leak, actions = {}, {}, {}
    name = layer["name"]
    for col, v in row.items():
        parts = col.split("<SEP>")
        if parts[0] != name or len(parts) < 4:
            continue
        if parts[1] == "energy":
            comp, action = parts[2], parts[-1]
            tgt = leak if action == "leak" else energy
            tgt[comp] = tgt.get(comp, 0.0) + float(v) * 1e12
        elif parts[1] == "action":
            key = f"{parts[2]}.{parts[4]}"
            actions[key] = actions.get(key, 0.0) + float(v)
            tkey = f"{parts[2]}.{parts[3]}.{parts[4]}"
            actions[tkey] = float(v)
    return {"layer": name, "wall_s": wall, "latency_s": float(row["Total<SEP>latency"]),
            "energy_pj": float(row["Total<SEP>energy"]) * 1e12,
            "dynamic_energy_pj": float(row["Total<SEP>dynamic_energy"]) * 1e12,
            "leak_energy_pj": float(row["Total<SEP>leak_energy"]) * 1e12,
            "dynamic_pj_by_component": energy, "leak_pj_by_component": leak, "actions": actions,
            "latency_s_by_component": {c.split("<SEP>")[2]: float(v) for c, v in row.items()
                                       if c.startswith(f"{name}<SEP>latency<SEP>")},
            "mapping": describe(m.mapping())}


def main(argv) -> int:
    job_path, out_path = argv[1], argv[2]
    with open(job_path) as f:
        job = json.load(f)
    t0 = time.perf_counter()
    import accelforge as af
    from importlib import metadata
    import_s = time.perf_counter() - t0
    arch_text = arch_yaml(job["arch"])
    results = []
    with tempfile.TemporaryDirectory(prefix="af-worker-") as wd:
        cwd = os.getcwd()
        os.chdir(wd)           # the mapper writes mapping.svg into the working directory
        try:
            if job.get("stack"):
                results = run_stack(af, job["arch"], job["stack"], job.get("mapper", {}), wd)
            for layer in job.get("layers", []):
                results.append(run_layer(af, arch_text, layer, job.get("mapper", {}), wd))
                print(f"accelforge: {layer['name']} mapped in {results[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
        finally:
            os.chdir(cwd)
    versions = {p: metadata.version(p) for p in ("accelforge", "hwcomponents", "numpy")}
    out = {"versions": versions, "python": sys.version.split()[0], "import_s": import_s,
           "process_s": time.perf_counter() - T_START, "arch_yaml": arch_text,
           ("stack" if job.get("stack") else "layers"): results}
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
