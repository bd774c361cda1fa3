"""End-to-end generator benchmark: torch fp32 forward vs the accelsim w8a8 runtime (C++ kernels), side
by side in one run, on every generator of examples/generators.py; w8a8 PSNR against the float graph;
and the wall time + energy per image of ``accelsim.simulate`` for six formats on the edge-npu preset.

Targets: accelsim w8a8 >= 1.5x faster than torch fp32 (same threads) on CycleGAN at batch 1 and 8
(the ratio is reported for every model, the target marked on cyclegan only); w8a8 PSNR >= 35 dB
against the float graph on every model; simulate <= 1 s per format on cyclegan.

Timings: one warm-up of each engine, then ``--repeats`` runs interleaved run by run (torch, accelsim,
torch, accelsim, ...) so that load from other jobs falls on both alike; medians are printed, every
raw time goes to the JSON. Calibration: ``--calib`` inputs for image-input models (the 256x256 ones
cost one float64 forward each), ``--calib-small`` for the noise-input ones (dcgan, cdcgan).

usage: python benchmarks/bench_generators.py [--models cyclegan,...] [--threads 2] [--repeats 5]
                                             [--batch 1,8] [--calib 8] [--quick] [--json PATH]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

MODELS = ("cyclegan", "pix2pix", "srresnet", "esrgan", "dcgan", "cdcgan")
SIM_FORMATS = ("w8a8", "w4a8", "w2a8", "w1a1", "flex16+5", "fp32")
TARGET_RATIO, TARGET_PSNR_DB, TARGET_SIM_S = 1.5, 35.0, 1.0
TARGET_MODEL = "cyclegan"
BENCH_SEED, CALIB_SEED = 7, 1234


def load_generators():
    spec = importlib.util.spec_from_file_location("example_generators", os.path.join(ROOT, "examples", "generators.py"))
    gens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gens)
    return gens


def machine_info() -> dict:
    import torch
    from accelsim import __version__, kernels

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return {"cpu_model": cpu, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "accelsim": __version__,
            "active_isa": kernels.active_isa(), "available_isas": kernels.available_isas(),
            "env_threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                            "MKL_NUM_THREADS", "ACCELSIM_NUM_THREADS")}}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def torch_inputs(xs):
    import torch
    return tuple(torch.from_numpy(np.ascontiguousarray(x, np.float32)) if x.dtype.kind == "f"
                 else torch.from_numpy(x.astype(np.int64)) for x in xs)


def bench_model(name: str, factory: str, gens, args) -> dict:
    import torch
    import accelsim
    from accelsim import quality
    from accelsim.graph.from_torch import from_torch
    from accelsim.graph.passes import deploy
    from accelsim.graph.reference import LoadedModel
    from accelsim.runtime import quantize
    from accelsim.workload.from_graph import from_graph

    module, ex = getattr(gens, factory)()
    ex = ex if isinstance(ex, tuple) else (ex,)
    graph_s, g = timed(lambda: deploy(from_torch(module, ex, factory)))
    lm = LoadedModel(factory, g, factory)
    image_input = any(len(i.shape) == 4 for i in g.inputs)
    n_calib = args.calib if image_input else args.calib_small
    calib_s, q = timed(lambda: quantize(g, "w8a8", lm.example_inputs(n_calib, seed=CALIB_SEED)))
    last_op = g.node(g.outputs[0]).op
    rec = {"model": name, "factory": factory, "graph_build_s": graph_s, "calib_inputs": n_calib, "calib_s": calib_s,
           "peak_rss_mb_after_calib": peak_rss_mb(), "last_op": last_op, "batches": [], "simulate": []}
    print(f"[{factory}] graph {graph_s:.2f} s, w8a8 calibration {calib_s:.2f} s on {n_calib} inputs", flush=True)
    for batch in args.batches:
        xs = lm.example_inputs(batch, seed=BENCH_SEED)
        txs = torch_inputs(xs)

        def run_torch():
            with torch.no_grad():
                return module(*txs)

        def run_accel():
            return q.run(xs, impl="cpp")

        run_torch(), run_accel()                                   # one warm-up each
        t_torch, t_acc = [], []
        for _ in range(args.repeats):
            t_torch.append(timed(run_torch)[0])
            dt, out = timed(run_accel)
            t_acc.append(dt)
        ref = g.run_float(xs)
        drange = 2.0 if last_op == "tanh" else float(ref.max() - ref.min())
        psnr = quality.psnr_db(out, ref, data_range=drange)
        mt, ma = statistics.median(t_torch), statistics.median(t_acc)
        ratio = mt / ma
        row = {"batch": batch, "torch_s": t_torch, "accelsim_s": t_acc, "torch_median_s": mt,
               "accelsim_median_s": ma, "ratio": ratio, "ratio_of_minima": min(t_torch) / min(t_acc),
               "meets_ratio_target": (ratio >= TARGET_RATIO) if factory == TARGET_MODEL else None,
               "psnr_db": psnr, "psnr_data_range": drange, "meets_psnr_target": psnr >= TARGET_PSNR_DB,
               "torch_vs_float_graph_max_abs": float(np.max(np.abs(run_torch().double().numpy() - ref))),
               "process_peak_rss_mb": peak_rss_mb()}
        rec["batches"].append(row)
        print(f"[{factory}] batch {batch}: torch {mt * 1e3:.1f} ms, accelsim {ma * 1e3:.1f} ms, "
              f"ratio {ratio:.2f}, PSNR {psnr:.2f} dB, process peak RSS {peak_rss_mb():.0f} MB", flush=True)
    rec["from_graph_s"], w = timed(lambda: from_graph(g))
    for fmt in SIM_FORMATS:
        dt, rep = timed(lambda: accelsim.simulate(w, "edge-npu", fmt))
        rec["simulate"].append({"fmt": fmt, "wall_s": dt, "energy_per_image_uj": rep.energy_per_image_uj,
                                "meets_sim_target": (dt <= TARGET_SIM_S) if factory == TARGET_MODEL else None})
    print(f"[{factory}] simulate: " + ", ".join(f"{s['fmt']} {s['wall_s']:.2f} s" for s in rec["simulate"]), flush=True)
    return rec


def mark(flag) -> str:
    return "-" if flag is None else ("yes" if flag else "NO")


def print_tables(results, args, load_start, load_end) -> None:
    print(f"\nruntime: median of {args.repeats} interleaved runs, {args.threads} threads (torch and accelsim); "
          f"ratio = torch fp32 / accelsim w8a8 "
          f"(medians; min/min: fastest run over fastest run)")
    print(f"{'model':<14}{'batch':>6}{'torch ms':>12}{'accelsim ms':>13}{'ratio':>8}{'>=1.5x':>8}{'min/min':>9}"
          f"{'PSNR dB':>9}{'>=35':>6}{'calib s (n)':>14}")
    for r in results:
        for b in r["batches"]:
            print(f"{r['factory']:<14}{b['batch']:>6}{b['torch_median_s'] * 1e3:>12.1f}{b['accelsim_median_s'] * 1e3:>13.1f}"
                  f"{b['ratio']:>8.2f}{mark(b['meets_ratio_target']):>8}{b['ratio_of_minima']:>9.2f}{b['psnr_db']:>9.2f}"
                  f"{mark(b['meets_psnr_target']):>6}{r['calib_s']:>9.2f} ({r['calib_inputs']})")
    print(f"\nsimulate on edge-npu: wall s per call (energy uJ per image); target <= {TARGET_SIM_S:g} s on {TARGET_MODEL}")
    print(f"{'model':<14}" + "".join(f"{f:>22}" for f in SIM_FORMATS) + f"{'from_graph s':>14}")
    for r in results:
        cells = [f"{s['wall_s']:.2f} ({s['energy_per_image_uj']:.4g})" for s in r["simulate"]]
        print(f"{r['factory']:<14}" + "".join(f"{c:>22}" for c in cells) + f"{r['from_graph_s']:>14.3f}")
    cg = [r for r in results if r["factory"] == TARGET_MODEL]
    print()
    if not cg:
        print(f"no full-size {TARGET_MODEL} in this run: the speed and simulate targets are not assessed")
    for r in cg:
        for b in r["batches"]:
            print(f"{TARGET_MODEL} batch {b['batch']}: torch/accelsim {b['ratio']:.2f}x "
                  f"(target >= {TARGET_RATIO}x: {'met' if b['meets_ratio_target'] else 'NOT met'})")
        slow = [s for s in r["simulate"] if not s["meets_sim_target"]]
        print(f"{TARGET_MODEL} simulate: worst {max(s['wall_s'] for s in r['simulate']):.2f} s per format "
              f"(target <= {TARGET_SIM_S:g} s: " + ("met" if not slow else
                                                     "NOT met for " + ", ".join(s["fmt"] for s in slow)) + ")")
    bad = [f"{r['factory']} b{b['batch']}" for r in results for b in r["batches"] if not b["meets_psnr_target"]]
    print(f"w8a8 PSNR >= {TARGET_PSNR_DB:g} dB: " + ("met on every model and batch" if not bad
                                                    else "NOT met on " + ", ".join(bad)))
    print(f"load average (1/5/15 min) {'/'.join(f'{v:.2f}' for v in load_start)} at start, "
          f"{'/'.join(f'{v:.2f}' for v in load_end)} at end, on {os.cpu_count()} cores")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--calib", type=int, default=8, help="calibration inputs, image-input models")
    ap.add_argument("--calib-small", type=int, default=32, help="calibration inputs, noise-input models")
    ap.add_argument("--quick", action="store_true", help="the *_tiny factories (where one exists), 1 repeat")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    args.batches = [int(b) for b in args.batch.split(",")]
    if args.quick:
        args.repeats = 1
    import torch
    from accelsim import kernels

    torch.set_num_threads(args.threads)
    kernels.set_num_threads(args.threads)
    gens = load_generators()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in gens.FACTORIES]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    info = machine_info()
    print(f"{info['cpu_model']} x{info['cpu_count']} | isa {info['active_isa']} | torch {info['torch']} | "
          f"numpy {info['numpy']} | threads {args.threads} (torch {torch.get_num_threads()}, "
          f"accelsim {kernels.num_threads()}) | repeats {args.repeats}" + (" | QUICK (tiny models)" if args.quick else ""),
          flush=True)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    results = []
    for m in models:
        factory = f"{m}_tiny" if args.quick and f"{m}_tiny" in gens.FACTORIES else m
        results.append(bench_model(m, factory, gens, args))
    load_end = os.getloadavg()
    total_s = time.perf_counter() - t0
    print_tables(results, args, load_start, load_end)
    print(f"total benchmark wall time {total_s:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
                       "targets": {"ratio_min": TARGET_RATIO, "ratio_model": TARGET_MODEL, "psnr_db_min": TARGET_PSNR_DB,
                                   "simulate_s_max": TARGET_SIM_S},
                       "load_average_start": load_start, "load_average_end": load_end, "total_s": total_s,
                       "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
