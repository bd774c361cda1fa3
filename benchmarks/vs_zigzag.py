"""accelsim vs ZigZag 3.9.1 on the DCGAN-64 generator: wall time, energy per image and DRAM traffic.

ZigZag is never installed by this script and never imported into accelsim's interpreter: it runs as a
subprocess in its own virtual environment (numpy < 2.4; the package is ``zigzag-dse``, not ``zigzag``,
and it imports ``six`` without declaring it):
    python3 -m venv peer-venv2 && peer-venv2/bin/pip install zigzag-dse==3.9.1 "numpy==2.3.5" six
Set it up with ``bash benchmarks/peers/setup_venvs.sh`` (the ``zigzag`` venv) and pass
``--zigzag-python`` (default: $ACCELSIM_ZIGZAG_PYTHON, then /work/bench-venvs/zigzag/bin/python) and
``--peer-dir`` (default: $ACCELSIM_ZIGZAG_DIR, then /work/shared/peers/zigzag: the team's ``run_zigzag.py``
driver and ``dcgan_gen_zeroins.yaml``). Without the interpreter or the driver the script prints
accelsim's side only and claims no speed-up.

Timing, both tools measured in this run, like against like:
  cold: a fresh interpreter per tool, start-up, imports and one run (accelsim: this script re-run as a
        child that makes one ``simulate`` call; ZigZag: ``run_zigzag.py``), wall of the subprocess;
  warm: in one interpreter, the best of ``--repeat`` runs after the first (accelsim: ``simulate``, its
        memos cleared before each run, ``accelsim.api.clear_memos``, so nothing of the workload is
        remembered; ZigZag: ``benchmarks/peers/zigzag_repeat.py`` calling its API ``--repeat``+1 times).
The load average is printed at start and end; the script exits 1 when the speed-up target is missed.

ZigZag side: its bundled ``tpu_like`` hardware and mapping, optimising energy, on DCGAN-64 lowered
by zero insertion (G1 as a 1x1 conv with 8192 filters, G2-G5 as stride-1 convs over the
zero-inserted, padded inputs; W8/I8, partial sums O16, final outputs O8).

accelsim side: ``simulate`` with the ``tpu-like`` preset (TPU v1: 256x256 ws, 24 MiB unified buffer,
DDR4-2400 x2), int8, on (a) the same zero-insert layers as ZigZag with the dilated input in DRAM and
(b) DCGAN-64 itself with the default lowering (zero-free phase decomposition). Wall times are of the
``simulate`` call alone (first, cold call and the best of ``--repeat``) against ZigZag's own
in-process wall (its interpreter start-up excluded, which favours ZigZag) and the subprocess wall.

The two tools do not describe the same machine and do not price the same things; the printed note
says how (ZigZag: one MAC energy at every bit width, DRAM as a per-64-bit-word cost over a bandwidth;
accelsim: Horowitz MAC energy scaled by format, DRAM pJ/bit plus activates, background and refresh power).

usage: python benchmarks/vs_zigzag.py [--json PATH] [--repeat 5] [--zigzag-python PATH] [--peer-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import yaml  # noqa: E402

from accelsim.api import clear_memos, simulate  # noqa: E402
from accelsim.arch import load_arch  # noqa: E402
from accelsim.mapping import lower  # noqa: E402
from accelsim.mapping.lowering import zero_inserted_hw  # noqa: E402
from accelsim.workload import Layer, Workload, get_model  # noqa: E402

TARGET_SPEEDUP = 20.0          # accelsim cold >= 20x faster than ZigZag cold (issue 3)
HERE = os.path.dirname(os.path.abspath(__file__))


def zeroins_workload() -> Workload:
    """DCGAN-64 exactly as dcgan_gen_zeroins.yaml gives it to ZigZag (the GEMMs of accelsim's
    ``zero_insert`` lowering with the dilated input in DRAM; G1 as the 100 -> 8192 GEMM)."""
    d = get_model("dcgan-64").layers
    layers = [Layer("G1", "conv2d", 100, 8192, (1, 1))]
    for l in d[1:]:
        h, w = zero_inserted_hw(l)
        layers.append(Layer(l.name, "conv2d", l.in_channels, l.out_channels, (h, w), kernel_hw=l.kernel_hw))
        assert lower(layers[-1]).gemms == lower(l, "zero_insert", zeros_in_dram=True).gemms
    return Workload("dcgan-64-zeroins", tuple(layers), (100, 1, 1), "ZigZag's view of DCGAN-64")


def zigzag_hardware(python: str, name: str) -> dict:
    """The peer's bundled hardware YAML (read as data; the path is asked of the peer interpreter)."""
    res = subprocess.run([python, "-c", "import os, zigzag; print(os.path.dirname(zigzag.__file__))"],
                         capture_output=True, text=True, check=True)
    with open(os.path.join(res.stdout.strip(), "inputs", "hardware", f"{name}.yaml")) as f:
        return yaml.safe_load(f)


def run_zigzag(python: str, peer_dir: str, workload: str, hw: str, mapping: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="vs-zigzag-") as out:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = subprocess.run([python, os.path.join(peer_dir, "run_zigzag.py"), workload, hw, mapping, "energy", out],
                             capture_output=True, text=True, cwd=out)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"ZigZag failed:\n{res.stderr[-2000:]}")
    data = json.loads(res.stdout[res.stdout.find("{"):])
    data["subprocess_wall_s"] = wall
    # CPU seconds of ZigZag and the workers it waited for (less sensitive to other jobs than wall time)
    data["cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return data


def zigzag_summary(data: dict, hw: dict) -> dict:
    """Totals of a run_zigzag.py result: energy per image, DRAM traffic and DRAM energy."""
    dram = hw["memories"]["dram"]
    word_bits = dram["ports"][0]["bandwidth_min"]          # ZigZag counts DRAM accesses in port words
    words = {"read": 0, "write": 0}
    dram_pj = 0.0
    layers = []
    for r in data["layers"]:
        lw = {"read": 0, "write": 0}
        for key, acc in r["word_accesses"].items():
            if key.split(":")[0] != "dram":
                continue
            lw["read"] += acc.get("RD_OUT_TO_LOW", 0) + acc.get("RD_OUT_TO_HIGH", 0)
            lw["write"] += acc.get("WR_IN_BY_LOW", 0) + acc.get("WR_IN_BY_HIGH", 0)
        ldram_pj = sum(e for k, e in r["mem_energy_per_level_operand_pJ"].items() if k.split(":")[0] == "dram")
        dram_pj += ldram_pj
        words = {k: words[k] + lw[k] for k in words}
        layers.append({"layer": r["layer"], "macs": r["macs"], "energy_uj": r["energy_pJ"] / 1e6,
                       "mac_energy_uj": r["mac_energy_pJ"] / 1e6, "dram_energy_uj": ldram_pj / 1e6,
                       "dram_bytes": (lw["read"] + lw["write"]) * word_bits // 8, "latency_cycles": r["lat_cc"]})
    total_pj = data["total_energy_pJ"]
    mac_pj = sum(r["mac_energy_pJ"] for r in data["layers"])
    mem_pj = sum(r["mem_energy_pJ"] for r in data["layers"])
    return {"energy_per_image_uj": total_pj / 1e6, "mac_energy_uj": mac_pj / 1e6,
            "dram_energy_uj": dram_pj / 1e6, "dram_transfer_energy_uj": dram_pj / 1e6,
            "dram_act_bg_energy_uj": None, "onchip_energy_uj": (mem_pj - dram_pj) / 1e6,
            "other_energy_uj": (total_pj - mac_pj - mem_pj) / 1e6, "dram_share": dram_pj / total_pj,
            "dram_bytes": (words["read"] + words["write"]) * word_bits // 8,
            "dram_read_bytes": words["read"] * word_bits // 8, "dram_write_bytes": words["write"] * word_bits // 8,
            "latency_cycles": int(data["total_latency_cc"]), "wall_s": data["wall_s"],
            "subprocess_wall_s": data["subprocess_wall_s"], "cpu_s": data["cpu_s"], "layers": layers,
            "mac_pj": hw["operational_array"]["unit_energy"], "array": hw["operational_array"]["sizes"],
            "dram_read_pj_per_word": dram["r_cost"], "dram_write_pj_per_word": dram["w_cost"],
            "dram_word_bits": word_bits}


def run_zigzag_repeat(python: str, workload: str, repeat: int) -> dict:
    """ZigZag cold (first run in its interpreter) and warm (the later runs), benchmarks/peers/zigzag_repeat.py."""
    res = subprocess.run([python, os.path.join(HERE, "peers", "zigzag_repeat.py"), workload, "tpu_like", "tpu_like",
                          str(repeat + 1)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"ZigZag (repeat driver) failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout[res.stdout.find("{"):])


ACCELSIM_CASES = {"zero-insert": {"lowering": "zero_insert", "zeros_in_dram": True}, "phase": {}}


def _case_workload(case: str):
    return zeroins_workload() if case == "zero-insert" else "dcgan-64"


def accelsim_cold_subprocess(case: str) -> float:
    """Wall of a fresh interpreter that imports accelsim and makes one simulate call (this script as a child)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.abspath(__file__), "--cold-child", case], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def accelsim_run(workload, arch, repeat: int, **kwargs) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    rep = simulate(workload, arch, "int8", **kwargs)
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    walls = []
    for _ in range(repeat):
        clear_memos()   # warm interpreter, nothing of this workload remembered
        t0 = time.perf_counter()
        simulate(workload, arch, "int8", **kwargs)
        walls.append(time.perf_counter() - t0)
    e = rep.energy_pj
    dram_pj = e["dram"] + e["dram_act"] + e["dram_bg"] + e["dram_ref"]
    return {"energy_per_image_uj": rep.energy_per_image_uj, "mac_energy_uj": e["mac"] / 1e6,
            "dram_energy_uj": dram_pj / 1e6, "dram_transfer_energy_uj": e["dram"] / 1e6,
            "dram_act_bg_energy_uj": (e["dram_act"] + e["dram_bg"] + e["dram_ref"]) / 1e6, "onchip_energy_uj": e["buffer"] / 1e6,
            "other_energy_uj": (rep.total_energy_pj - dram_pj - e["mac"] - e["buffer"]) / 1e6,
            "dram_share": dram_pj / rep.total_energy_pj,
            "dram_bytes": rep.dram_bytes, "dram_read_bytes": sum(rep.dram_read_bytes.values()),
            "dram_write_bytes": sum(rep.dram_write_bytes.values()), "latency_cycles": rep.cycles,
            "macs_total": rep.macs_total, "wall_cold_s": cold, "cpu_cold_s": cold_cpu,
            "wall_best_s": min(walls) if walls else cold, "wall_median_s": statistics.median(walls) if walls else cold,
            "layers": [{"layer": l.name, "macs": l.activity.macs_total, "energy_uj": l.total_energy_pj / 1e6,
                        "mac_energy_uj": l.energy_pj["mac"] / 1e6, "dram_bytes": l.activity.dram_bytes,
                        "latency_cycles": l.activity.latency_cycles} for l in rep.layers]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--repeat", type=int, default=5, help="warm simulate calls timed after the first (default 5)")
    ap.add_argument("--zigzag-python", default=os.environ.get("ACCELSIM_ZIGZAG_PYTHON",
                                                             "/work/bench-venvs/zigzag/bin/python"))
    ap.add_argument("--peer-dir", default=os.environ.get("ACCELSIM_ZIGZAG_DIR", "/work/shared/peers/zigzag"))
    ap.add_argument("--cold-child", choices=tuple(ACCELSIM_CASES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold_child:     # the child of accelsim_cold_subprocess: one simulate call, nothing printed
        simulate(_case_workload(args.cold_child), load_arch("tpu-like"), "int8", **ACCELSIM_CASES[args.cold_child])
        return 0

    load = os.getloadavg()
    arch = load_arch("tpu-like")
    ours = {case: accelsim_run(_case_workload(case), arch, args.repeat, **kw) for case, kw in ACCELSIM_CASES.items()}
    for case, v in ours.items():
        v["subprocess_cold_s"] = accelsim_cold_subprocess(case)

    driver = os.path.join(args.peer_dir, "run_zigzag.py")
    workload_yaml = os.path.join(args.peer_dir, "dcgan_gen_zeroins.yaml")
    have_peer = all(os.path.exists(p) for p in (args.zigzag_python, driver, workload_yaml))
    zz = None
    if have_peer:
        zz = zigzag_summary(run_zigzag(args.zigzag_python, args.peer_dir, workload_yaml, "tpu_like", "tpu_like"),
                            zigzag_hardware(args.zigzag_python, "tpu_like"))
        rep = run_zigzag_repeat(args.zigzag_python, workload_yaml, args.repeat)
        zz["inprocess_first_s"] = rep["walls_s"][0]
        zz["warm_best_s"] = min(rep["walls_s"][1:]) if len(rep["walls_s"]) > 1 else rep["walls_s"][0]
        zz["import_s"] = rep["import_s"]
    else:
        print(f"ZigZag interpreter {args.zigzag_python} or driver {driver} not found: accelsim side only "
              "(see the docstring)\n")

    print("columns: ZigZag = ZigZag 3.9.1, tpu_like hardware + mapping, zero-insert layers (dcgan_gen_zeroins.yaml);\n"
          "         accelsim zero-insert = simulate(same layers, 'tpu-like', 'int8', lowering='zero_insert', "
          "zeros_in_dram=True);\n"
          "         accelsim phase = simulate('dcgan-64', 'tpu-like', 'int8') (default lowering, zero-free)\n")
    cols = [("ZigZag", zz)] if zz else []
    cols += [(f"accelsim {k}", v) for k, v in ours.items()]
    rows = [("energy per image (uJ)", "energy_per_image_uj", "{:,.1f}"), ("  MAC (uJ)", "mac_energy_uj", "{:,.1f}"),
            ("  DRAM (uJ)", "dram_energy_uj", "{:,.1f}"), ("    per-bit transfers", "dram_transfer_energy_uj", "{:,.1f}"),
            ("    activates+backgr.", "dram_act_bg_energy_uj", "{:,.1f}"), ("  on-chip memories", "onchip_energy_uj", "{:,.1f}"),
            ("  other (leakage)", "other_energy_uj", "{:,.1f}"), ("  DRAM share", "dram_share", "{:.1%}"),
            ("DRAM bytes", "dram_bytes", "{:,}"), ("  read", "dram_read_bytes", "{:,}"),
            ("  written", "dram_write_bytes", "{:,}"), ("latency cycles", "latency_cycles", "{:,}")]
    w = 22
    print(f"{'':<22}" + "".join(f"{c[:w]:>{w + 2}}" for c, _ in cols))
    for label, key, fmt in rows:
        print(f"{label:<22}" + "".join(f"{'-' if d[key] is None else fmt.format(d[key]):>{w + 2}}" for _, d in cols))

    print("\nper layer (energy uJ / DRAM bytes):")
    names = [l["layer"] for l in ours["phase"]["layers"]]
    for i, n in enumerate(names):
        cells = [f"{d['layers'][i]['energy_uj']:,.1f} / {d['layers'][i]['dram_bytes']:,}" for _, d in cols]
        print(f"{n:<22}" + "".join(f"{c:>{w + 2}}" for c in cells))

    print("\nwall time (both tools measured in this run):")
    for k, v in ours.items():
        print(f"  accelsim simulate ({k}): cold {v['subprocess_cold_s']:.2f} s (fresh interpreter: start-up, import, one "
              f"call), first call in-process {v['wall_cold_s'] * 1e3:.1f} ms, warm best of {args.repeat} "
              f"{v['wall_best_s'] * 1e3:.1f} ms (median {v['wall_median_s'] * 1e3:.1f} ms)")
    speedups, missed = {}, False
    if zz:
        print(f"  ZigZag: cold {zz['subprocess_wall_s']:.2f} s (fresh interpreter, run_zigzag.py), first run in-process "
              f"{zz['inprocess_first_s']:.2f} s (imports {zz['import_s']:.2f} s before it), warm best of {args.repeat} "
              f"{zz['warm_best_s']:.2f} s")
        for k, v in ours.items():
            speedups[k] = {"cold": zz["subprocess_wall_s"] / v["subprocess_cold_s"],
                           "first_call": zz["inprocess_first_s"] / v["wall_cold_s"],
                           "warm": zz["warm_best_s"] / v["wall_best_s"]}
            ok = speedups[k]["cold"] >= TARGET_SPEEDUP
            missed |= not ok
            print(f"  speed-up vs ZigZag, accelsim {k}: {speedups[k]['cold']:,.1f}x cold vs cold, "
                  f"{speedups[k]['first_call']:,.0f}x first run in-process, {speedups[k]['warm']:,.0f}x warm vs warm "
                  f"(target cold >= {TARGET_SPEEDUP:.0f}x: {'met' if ok else 'NOT met'})")
    else:
        print("  ZigZag not run: no speed-up claimed")
    print(f"  load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores, "
          f"at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    if zz:
        print(f"""
why the numbers differ (same zero-insert layers, same int8 operands; compare ZigZag with accelsim zero-insert):
  - machine: ZigZag's tpu_like is a {zz['array'][0]}x{zz['array'][1]} array, one 2 MB SRAM for inputs and outputs, weights from
    DRAM straight into a 128 B register file per PE; accelsim's tpu-like is TPU v1 (256x256 ws, 700 MHz, 28 nm,
    24 MiB unified buffer, 256 KiB weight FIFO, 4 MiB accumulators, DDR4-2400 x2). Latency cycles therefore differ
    by the array size; DRAM traffic does not (both reach the compulsory bytes of the layers here; ZigZag rounds
    each tensor up to {zz['dram_word_bits']}-bit words).
  - MACs: ZigZag prices every MAC at {zz['mac_pj']} pJ whatever the bit width (one unit energy in its hardware YAML, the
    same for fp32, int8 or binary); accelsim prices the int8 multiply and add from Horowitz (ISSCC 2014) scaled to
    28 nm, and every format at its own width ({ours['zero-insert']['mac_energy_uj'] / max(1, ours['zero-insert']['macs_total']) * 1e6:.3f} pJ per int8 MAC here).
  - DRAM: ZigZag charges a flat {zz['dram_read_pj_per_word']}/{zz['dram_write_pj_per_word']} pJ per {zz['dram_word_bits']}-bit word read/written (typed into the
    YAML) and times DRAM as a bandwidth only (no rows, banks, activates or refresh, no background power);
    accelsim uses the DRAM preset's pJ/bit per transfer, activate/precharge energy from its bank/row model, and
    background and refresh power over the layer's latency (refresh also stretches every transfer by tREFI/(tREFI-tRFC)).
  - the zero-free default lowering (accelsim phase) executes 4x fewer MACs in G2-G5 and never stores the
    inserted zeros, hence less MAC energy and DRAM traffic than either zero-insert column.""")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"zigzag": zz, "accelsim": ours, "speedup_vs_zigzag": speedups,
                       "target_speedup_cold": TARGET_SPEEDUP, "target_met": bool(zz) and not missed,
                       "load_average_start": load, "load_average_end": os.getloadavg()}, f, indent=1)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
