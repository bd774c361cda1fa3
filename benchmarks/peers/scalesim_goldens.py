"""Generate tests/data/scalesim/goldens.csv: SCALE-Sim 3.0.0's own numbers (compute cycles, SRAM and
DRAM reads/writes per operand) for small conv layers on many array / SRAM / dataflow configurations,
so tests/test_scalesim_goldens.py can compare accelsim against SCALE-Sim without SCALE-Sim installed.

Run it in accelsim's dev venv; SCALE-Sim runs in its own interpreter (see benchmarks/peers/scalesim_run.py):

    python benchmarks/peers/scalesim_goldens.py [--scalesim-python /work/bench-venvs/scalesim/bin/python]
                                                [--out tests/data/scalesim] [--work DIR]

The configurations are data in this file: the hand-picked ones below and RANDOM_COUNT layers drawn
with seed RANDOM_SEED (each small enough that SCALE-Sim finishes in seconds). Layers are valid convs
for both tools: no padding, (H - R) % stride == 0 on both axes (SCALE-Sim's output size), 1-byte words.
The CSV is rewritten whole (to a temporary file first, then renamed); README.md next to it records the
SCALE-Sim version, numpy, Python, the config template and the wall time of the run.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scalesim_run  # noqa: E402

RANDOM_SEED = 14
RANDOM_COUNT = 32
# SCALE-Sim's memory model walks every operand address in Python; keep each layer's demand small
MAX_DEMAND = 1_500_000

LAYER_FIELDS = ("name", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride")
CONFIG_FIELDS = ("array_rows", "array_cols", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "dataflow")
RESULT_FIELDS = ("compute_cycles", "total_cycles_incl_prefetch", "stall_cycles", "sram_ifmap_reads",
                 "sram_filter_reads", "sram_ofmap_writes", "dram_ifmap_reads", "dram_filter_reads",
                 "dram_ofmap_writes")
FIELDS = LAYER_FIELDS + CONFIG_FIELDS + RESULT_FIELDS


def conv(name, hw, k, c, f, s=1):
    h, w = hw if isinstance(hw, tuple) else (hw, hw)
    kh, kw = k if isinstance(k, tuple) else (k, k)
    return {"name": name, "ifmap_h": h, "ifmap_w": w, "filter_h": kh, "filter_w": kw, "channels": c,
            "num_filters": f, "stride": s}


def cfg(rows, cols, kib, dataflow="os"):
    i, fl, o = kib if isinstance(kib, tuple) else (kib, kib, kib)
    return {"array_rows": rows, "array_cols": cols, "ifmap_sram_kib": i, "filter_sram_kib": fl,
            "ofmap_sram_kib": o, "dataflow": dataflow}


# (layer, config): hand-picked. The first is issue 14's example (accelsim 54,008 B against SCALE-Sim's
# 53,714 B before the tiler took any tile size).
ISSUE = conv("issue14_c3f8k7_70", 70, 7, 3, 8)
HAND = [
    (ISSUE, cfg(16, 8, (8, 64, 64))),
    (ISSUE, cfg(16, 8, (8, 64, 64), "ws")),
    (ISSUE, cfg(16, 8, (8, 64, 64), "is")),
    (ISSUE, cfg(8, 8, (4, 4, 4))),
    (ISSUE, cfg(32, 32, (64, 64, 64))),
    (conv("lenet_c1", 32, 5, 1, 6), cfg(8, 8, 1)),
    (conv("lenet_c1", 32, 5, 1, 6), cfg(8, 8, 1, "ws")),
    (conv("lenet_c2", 14, 5, 6, 16), cfg(4, 4, 2)),
    (conv("lenet_c2", 14, 5, 6, 16), cfg(4, 4, 2, "is")),
    (conv("pw_64_16x16", 16, 1, 64, 64), cfg(32, 32, 4)),
    (conv("pw_64_16x16", 16, 1, 64, 64), cfg(8, 8, (2, 8, 2))),
    (conv("fc_100_256", 1, 1, 100, 256), cfg(8, 8, 16)),
    (conv("fc_100_256", 1, 1, 100, 256), cfg(8, 8, 16, "ws")),
    (conv("fc_100_256", 1, 1, 100, 256), cfg(16, 16, (1, 8, 1))),
    (conv("k3s2_16to32_33", 33, 3, 16, 32, 2), cfg(8, 8, 8)),
    (conv("k3s2_16to32_33", 33, 3, 16, 32, 2), cfg(16, 8, (2, 4, 2))),
    (conv("k3s1_8to16_34", 34, 3, 8, 16), cfg(16, 16, 2)),
    (conv("k3s1_8to16_34", 34, 3, 8, 16), cfg(16, 16, 2, "ws")),
    (conv("k3s1_8to16_34", 34, 3, 8, 16), cfg(16, 16, 2, "is")),
    (conv("k4s2_32to64_34", 34, 4, 32, 64, 2), cfg(16, 8, (4, 16, 4))),
    (conv("k7s2_3to16_69", 69, 7, 3, 16, 2), cfg(32, 32, 8)),
    (conv("k7s2_3to16_69", 69, 7, 3, 16, 2), cfg(8, 16, (2, 2, 8))),
    (conv("deep_6x6_128", 6, 3, 128, 128), cfg(8, 8, 16)),
    (conv("deep_6x6_128", 6, 3, 128, 128), cfg(8, 8, (4, 32, 4))),
    (conv("zi_tconv_16to8_8to16", 19, 4, 16, 8), cfg(8, 8, 4)),     # ConvTranspose2d(16, 8, 4, 2, 1) on 8x8
    (conv("zi_tconv_16to8_8to16", 19, 4, 16, 8), cfg(8, 8, 4, "ws")),
    (conv("zi_tconv_16to8_8to16", 19, 4, 16, 8), cfg(16, 8, (1, 2, 1))),
    (conv("rect_24x40_k3x5", (24, 40), (3, 5), 4, 12), cfg(16, 8, 2)),
    (conv("rect_24x40_k3x5", (24, 40), (3, 5), 4, 12), cfg(8, 16, 2, "is")),
    (conv("k2s2_8to8_32", 32, 2, 8, 8, 2), cfg(8, 8, 1)),
]


def demand(layer, c) -> int:
    """Entries of SCALE-Sim's padded demand matrices (its run time is linear in them): compute
    cycles x (rows + 2 cols), compute cycles from accelsim's fold model (accelsim.sim.array)."""
    s = layer["stride"]
    oh = (layer["ifmap_h"] - layer["filter_h"]) // s + 1
    ow = (layer["ifmap_w"] - layer["filter_w"]) // s + 1
    p, k, f = oh * ow, layer["filter_h"] * layer["filter_w"] * layer["channels"], layer["num_filters"]
    r, q = c["array_rows"], c["array_cols"]
    d_row, d_col, t = {"os": (p, f, k), "ws": (k, f, p), "is": (k, p, f)}[c["dataflow"]]
    fold = t + r + q - 2 if c["dataflow"] == "os" else 2 * r + q + t - 2
    return -(-d_row // r) * -(-d_col // q) * fold * (r + 2 * q)


def random_cases(seed=RANDOM_SEED, count=RANDOM_COUNT):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        k = rng.choice([1, 2, 3, 3, 4, 5, 7])
        s = rng.choice([1, 1, 1, 2])
        oh, ow = rng.randint(1, 40), rng.randint(1, 40)
        layer = conv(f"rand{len(out):02d}", ((oh - 1) * s + k, (ow - 1) * s + k), k,
                     rng.randint(1, 48), rng.randint(1, 48), s)
        c = cfg(rng.choice([4, 8, 16, 32]), rng.choice([4, 8, 16, 32]),
                tuple(rng.choice([1, 2, 4, 8, 16, 32, 64]) for _ in range(3)),
                rng.choice(["os", "os", "os", "ws", "is"]))
        if demand(layer, c) <= MAX_DEMAND:
            out.append((layer, c))
    return out


def all_cases():
    return HAND + random_cases()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default=os.environ.get("ACCELSIM_SCALESIM_PYTHON",
                                                                scalesim_run.DEFAULT_PYTHON))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "data", "scalesim"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "accelsim-scalesim-goldens"))
    args = ap.parse_args()
    if not os.path.exists(args.scalesim_python):
        print(f"SCALE-Sim interpreter {args.scalesim_python} not found (see benchmarks/peers/scalesim_run.py)")
        return 2
    vers = scalesim_run.versions(args.scalesim_python)
    cases = all_cases()
    groups: dict[tuple, list[int]] = {}
    for i, (_, c) in enumerate(cases):
        groups.setdefault(tuple(c[k] for k in CONFIG_FIELDS), []).append(i)
    results: list[dict | None] = [None] * len(cases)
    t0, load0, cpu = time.perf_counter(), os.getloadavg(), 0.0
    for g, (key, idx) in enumerate(sorted(groups.items())):
        c = dict(zip(CONFIG_FIELDS, key))
        # one SCALE-Sim run per config; layer names made unique inside the run
        layers = [dict(cases[i][0], name=f"L{j}_{cases[i][0]['name']}") for j, i in enumerate(idx)]
        name = "g{:02d}_{array_rows}x{array_cols}_{ifmap_sram_kib}_{filter_sram_kib}_{ofmap_sram_kib}_{dataflow}".format(g, **c)
        rows, meta = scalesim_run.run(args.scalesim_python, os.path.join(args.work, name), name, layers,
                                      c["array_rows"], c["array_cols"], c["dataflow"], c["ifmap_sram_kib"],
                                      c["filter_sram_kib"], c["ofmap_sram_kib"])
        cpu += meta["cpu_s"]
        for i, r in zip(idx, rows):
            results[i] = r
        print(f"{name}: {len(idx)} layer(s), {meta['wall_s']:.1f} s", flush=True)
    wall = time.perf_counter() - t0
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "goldens.csv")
    with tempfile.NamedTemporaryFile("w", dir=args.out, delete=False, suffix=".tmp", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for (layer, c), r in zip(cases, results):
            w.writerow({**layer, **c, **r})
        tmp = f.name
    os.replace(tmp, path)
    write_readme(os.path.join(args.out, "README.md"), vers, len(cases), len(groups), wall, cpu, load0)
    print(f"{len(cases)} rows -> {path}; SCALE-Sim {vers['scalesim']} (numpy {vers['numpy']}, Python "
          f"{vers['python']}); {wall:.0f} s wall, {cpu:.0f} s CPU; load average {load0[0]:.2f} at start")
    return 0


def write_readme(path, vers, n_rows, n_runs, wall, cpu, load0):
    template = scalesim_run.CFG.format(name="<run>", rows="<array_rows>", cols="<array_cols>",
                                       ifmap_kib="<ifmap_sram_kib>", filter_kib="<filter_sram_kib>",
                                       ofmap_kib="<ofmap_sram_kib>", dataflow="<dataflow>")
    text = f"""# SCALE-Sim golden outputs

`goldens.csv`: {n_rows} conv layers x array / SRAM / dataflow configurations, run through
**SCALE-Sim {vers['scalesim']}** (PyPI `scalesim=={vers['scalesim']}`, numpy {vers['numpy']}, Python {vers['python']})
by `benchmarks/peers/scalesim_goldens.py` ({n_runs} SCALE-Sim runs, {wall:.0f} s wall, {cpu:.0f} s CPU,
load average {load0[0]:.2f} at start). Regenerate with that script; do not edit by hand.

How SCALE-Sim was run (`benchmarks/peers/scalesim_run.py`): its Python API with traces off
(`save_disk_space=True`), CALC bandwidth mode, 1-byte words, double-buffered SRAMs (half active),
one topology CSV per configuration, an empty layout CSV. Config template:

```
{template.strip()}
```

Columns: the layer as SCALE-Sim's topology has it (`ifmap_h, ifmap_w, filter_h, filter_w, channels,
num_filters, stride`; no padding, (H - R) % stride == 0), the config (`array_rows` = ArrayHeight,
`array_cols` = ArrayWidth, SRAM KiB per buffer, dataflow), then SCALE-Sim's reports:
`compute_cycles` (COMPUTE_REPORT "Total Cycles": the zero-based index of the last compute cycle),
`total_cycles_incl_prefetch`, `stall_cycles`, and DETAILED_ACCESS_REPORT's SRAM IFMAP/Filter reads,
SRAM OFMAP writes, DRAM IFMAP/Filter reads and DRAM OFMAP writes (elements = bytes).

The relations tests/test_scalesim_goldens.py checks accelsim against are in that test's docstring and
in docs/simulator.md ("Validation against SCALE-Sim").
"""
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
