"""Runtime benchmark, side by side in one run: the accelsim runtime (C++ kernels, every cheap format)
against torch, ONNX Runtime and OpenVINO in fp32 and int8, per DCGAN-64 transposed-conv layer and per
whole generator of examples/generators.py; w8a8 PSNR; and the wall time + energy per image of
``accelsim.simulate`` for six formats on the edge-npu preset.

Implementations (``--impls``): ``accelsim-<fmt>`` for fmt in w8a8, w4a8, w2a8, w1a1, flex16+5 (the
runtime, float in, float out, one calibration shared by every format), ``accelsim-w8a8-kernel``
(layers only: the bare int8 -> int8 layer of benchmarks/bench_kernels.py, codes in, codes out;
``accelsim-w8a8-kernel-col2im`` / ``-phase``: the same with that transposed-conv algorithm forced,
kernels.use_convt_path),
``torch-fp32``, ``torch-int8`` (FX post-training quantization, fbgemm), ``ort-fp32``, ``ort-int8``
(QDQ model from onnxruntime.quantization.quantize_static), ``openvino-fp32``, ``openvino-int8``
(NNCF post-training quantization). Every peer runs in a subprocess of its own benchmark venv
(benchmarks/peers/setup_venvs.sh; the worker is benchmarks/peers/worker.py), loaded from one ONNX
export (torch.onnx.export here) or, for torch, from the same seeded module; a peer whose venv is
absent is skipped (torch falls back to this interpreter's torch). None of them is an accelsim
dependency.

Timings: per model and batch every implementation is loaded and warmed up first, then ``--repeats``
rounds time each implementation once, in turn (the order rotates each round), all on ``--threads``
threads, on the same input; only one engine runs at a time. Rows give the median; every raw time
goes to the JSON. GMAC/s counts the graph's MACs (accelsim.workload macs_direct: conv2d/linear
output pixels x window, transposed conv every input pixel x kernel) times the batch; peak_fraction
is against the peak that ``accelsim.kernels.peak_probe`` measures in the same run (before and after
the timings, the larger of the two) for the instruction the implementation's arithmetic is built
on: vpdpbusd for int8 (every engine), fp32 FMA for fp32, vpopcntq for w1a1, vpdpwssd for flex16+5.
``precision_executed``: what the engine really ran per MAC layer kind, read from the engine (the
OpenVINO runtime model's layer precisions, the node types of ORT's optimized graph, torch's module
types after conversion).

usage: python benchmarks/bench_runtime.py [--models dcgan,cyclegan,pix2pix,srresnet] [--no-layers]
           [--impls ...] [--formats w8a8,...] [--threads 2] [--repeats 5] [--venvs DIR]
           [--workdir DIR] [--quick] [--json PATH] [--markdown PATH]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from bench_kernels import LAYERS, geomean, layer_call, operands, peak_probe_for  # noqa: E402  (one layer list)
from peers.worker import build_torch_model, model_name  # noqa: E402

WORKER = os.path.join(HERE, "peers", "worker.py")
MODEL_BATCHES = {"dcgan": (1, 64), "cyclegan": (1, 8), "pix2pix": (1,), "srresnet": (1,)}
LAYER_BATCHES = (1, 64)
FORMATS = ("w8a8", "w4a8", "w2a8", "w1a1", "flex16+5")
PEERS = {"torch-fp32": ("torch", "fp32"), "torch-int8": ("torch", "int8"), "ort-fp32": ("ort", "fp32"),
         "ort-int8": ("ort", "int8"), "openvino-fp32": ("ov", "fp32"), "openvino-int8": ("ov", "int8")}
KERNEL_FMT = {"w8a8": "int8", "w4a8": "int4", "w2a8": "ternary", "w1a1": "binary", "flex16+5": "flex16"}
CONVT_SUFFIXES = ("-col2im", "-phase")   # accelsim-<fmt>-kernel<suffix>: a transposed-conv algorithm forced


def kernel_impl(impl: str) -> tuple[str, str] | None:
    """(format key, transposed-conv path) of an ``accelsim-<fmt>-kernel[-col2im|-phase]`` impl, else None."""
    if not impl.startswith("accelsim-"):
        return None
    path = next((sfx[1:] for sfx in CONVT_SUFFIXES if impl.endswith("-kernel" + sfx)), "auto")
    head = impl[len("accelsim-"):]
    head = head[:-len(path) - 1] if path != "auto" else head
    if not head.endswith("-kernel"):
        return None
    return head[:-len("-kernel")], path
SIM_FORMATS = ("w8a8", "w4a8", "w2a8", "w1a1", "flex16+5", "fp32")
BENCH_SEED, CALIB_SEED = 7, 1234
BASE = "accelsim-w8a8"
KEY_IMPLS = ("accelsim-w8a8", "openvino-int8", "ort-int8", "torch-int8", "openvino-fp32", "ort-fp32", "torch-fp32")


def load_generators():
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_generators", os.path.join(ROOT, "examples", "generators.py"))
    gens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gens)
    return gens


def cpu_info() -> dict:
    model, flags = "?", []
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name") and model == "?":
                model = ln.split(":", 1)[1].strip()
            elif ln.startswith("flags") and not flags:
                flags = ln.split(":", 1)[1].split()
    keep = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_vpopcntdq", "avx512_bf16", "avx_vnni",
            "amx_int8", "amx_bf16")
    return {"cpu_model": model, "cpu_count": os.cpu_count(), "isa_flags": [f for f in keep if f in flags]}


# ---- peers ---------------------------------------------------------------------------------------
def peer_python(engine: str, venvs: str) -> str | None:
    py = os.path.join(venvs, engine, "bin", "python")
    if os.path.exists(py):
        return py
    if engine == "torch":                       # torch is in the dev venv: the benchmark's own interpreter
        import importlib.util
        return sys.executable if importlib.util.find_spec("torch") else None
    return None


class Worker:
    """A peer engine loaded in its own venv; ``run()`` times one inference there."""

    def __init__(self, impl, python, spec, batch, workdir, threads, profile=False):
        engine, prec = PEERS[impl]
        self.impl, self.info, self.error = impl, None, None
        self.log = os.path.join(workdir, f"{model_name(spec)}.b{batch}.{impl}.log")
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([python, WORKER, "--engine", engine, "--precision", prec, "--model", spec,
                                          "--batch", str(batch), "--workdir", workdir, "--threads", str(threads)]
                                         + (["--profile"] if profile else []),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                         env=env, cwd=workdir)

    def _reply(self):
        for line in self.proc.stdout:
            if line.startswith("BENCH "):
                return json.loads(line[6:])
        raise RuntimeError(f"{self.impl} worker ended (exit {self.proc.wait()}): "
                           + " | ".join(open(self.log).read().strip().splitlines()[-3:]))

    def wait_ready(self):
        try:
            self.info = self._reply()
        except Exception as e:  # noqa: BLE001  (a peer that cannot load the model is reported, not fatal)
            self.error = str(e)[:600]
        return self.info is not None

    def run(self, cmd="run") -> float:
        return self.request(cmd)["s"]

    def request(self, cmd: str) -> dict:
        """One command (run, save, profile); the worker's reply."""
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                self.proc.kill()


def describe_precision(info: dict | None) -> str:
    if not info:
        return "-"
    kinds = info.get("precision_executed") or {}
    return ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())) or "no MAC layer found"


# ---- accelsim ------------------------------------------------------------------------------------
class Prepared:
    """One model or layer: its torch module, accelsim graph, ONNX export and inputs in the workdir."""

    def __init__(self, spec: str, workdir: str, n_calib_image: int, n_calib_small: int, layer_hw: int | None = None):
        import torch

        from accelsim.graph.from_torch import from_torch
        from accelsim.graph.passes import deploy
        from accelsim.graph.reference import LoadedModel
        from accelsim.workload.from_graph import from_graph

        self.spec, self.name, self.workdir = spec, model_name(spec), workdir
        if spec.startswith("gen:"):       # the factory build_torch_model calls (seeded: the workers' weights)
            self.module, ex = load_generators().FACTORIES[spec[4:]]()
            self.module.eval()
        else:
            self.module = build_torch_model(spec)
            ex = torch.zeros(1, int(spec[6:].split(",")[0]), layer_hw, layer_hw)
        ex = ex if isinstance(ex, tuple) else (ex,)
        if len(ex) != 1:
            raise SystemExit(f"{spec}: the benchmark drives single-input models only")
        image = ex[0].dim() == 4 and ex[0].shape[2] > 1 and spec.startswith("gen:")
        n_calib = n_calib_image if image else n_calib_small
        t0 = time.perf_counter()
        self.graph = deploy(from_torch(self.module, ex, self.name))
        self.graph_s = time.perf_counter() - t0
        self.workload = from_graph(self.graph)
        self.macs_per_image = self.workload.macs_direct
        self.last_op = self.graph.node(self.graph.outputs[0]).op
        self.layer = spec.startswith("layer:")
        self.lm = LoadedModel(self.name, self.graph, self.name)
        self.calib = self.inputs(n_calib, CALIB_SEED)
        np.save(self.path("calib.npy"), self.calib.astype(np.float32))
        onnx_path = self.path("onnx")
        if not os.path.exists(onnx_path):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(self.module, tuple(t.float() for t in ex), onnx_path + ".tmp", dynamo=False,
                                  input_names=["x"], output_names=["y"], opset_version=17,
                                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
            os.replace(onnx_path + ".tmp", onnx_path)
        self._ranges = None
        self.b1_s: dict = {}        # batch-1 run time of each extra accelsim format

    def path(self, suffix: str) -> str:
        return os.path.join(self.workdir, f"{self.name}.{suffix}")

    def inputs(self, n: int, seed: int) -> np.ndarray:
        if self.layer:     # a layer reads a ReLU's output
            return np.maximum(np.random.default_rng(seed).standard_normal((n, *self.graph.inputs[0].shape[1:])), 0)
        return self.lm.example_inputs(n, seed=seed)[0]

    def ranges(self) -> dict:
        """The runtime's calibration (one float64 forward per input), cached in the workdir."""
        if self._ranges is None:
            from accelsim.runtime import calibrate
            cache = self.path(f"ranges{len(self.calib)}.json")
            if os.path.exists(cache):
                self._ranges = {k: tuple(v) for k, v in json.load(open(cache)).items()}
                self.calib_s = 0.0
            else:
                t0 = time.perf_counter()
                self._ranges = calibrate(self.graph, (self.calib,))
                self.calib_s = time.perf_counter() - t0
                json.dump(self._ranges, open(cache, "w"))
        return self._ranges

    def quantized(self, fmt: str):
        from accelsim.formats.registry import get
        from accelsim.runtime import QuantizedGraph
        from accelsim.runtime.quantized import sign_inputs

        formats = {n.name: get(fmt) for n in self.graph.mac_nodes}
        return QuantizedGraph(sign_inputs(self.graph, formats), formats, self.ranges())


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def psnr_db(y, ref, data_range) -> float:
    mse = float(np.mean((np.asarray(y, np.float64) - ref) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(data_range ** 2 / mse)


def bench_group(prep: Prepared, batch: int, layer: str, impls: list[str], args, peaks: dict, probe_of: dict,
                skipped: dict, engines: dict) -> list[dict]:
    """Every implementation on one model (or layer) and batch, interleaved run by run."""
    import torch

    from accelsim import kernels

    x = prep.inputs(batch, BENCH_SEED)
    np.save(prep.path(f"b{batch}.x.npy"), x.astype(np.float32))
    label = f"{prep.name} b{batch}"
    workers = {}
    for impl in impls:
        if impl in PEERS:
            py = peer_python(PEERS[impl][0], args.venvs)
            if py is None:
                skipped[impl] = f"no venv {os.path.join(args.venvs, PEERS[impl][0])}"
                continue
            workers[impl] = Worker(impl, py, prep.spec, batch, prep.workdir, args.threads)
    fns, notes = {}, {}
    for impl in impls:
        if kernel_impl(impl):
            if not prep.layer:
                continue
            cin, cout = (int(v) for v in prep.spec[6:].split(","))
            hw = prep.graph.inputs[0].shape[2]
            key, path = kernel_impl(impl)
            fmt = KERNEL_FMT[key]
            call = layer_call(fmt, operands(fmt, cin, cout, hw, batch, np.random.default_rng(0)))

            def run(call=call, path=path):
                with kernels.use_convt_path(path):
                    return call()
            fns[impl] = run
        elif impl.startswith("accelsim-"):
            fmt = impl[len("accelsim-"):]
            q = prep.quantized(fmt)
            if fmt != "w8a8":           # an extra format whose run would be slow is left out (estimate: batch 1 x batch)
                if fmt not in prep.b1_s:
                    q.run((x[:1],), impl="cpp")
                    prep.b1_s[fmt] = timed(lambda: q.run((x[:1],), impl="cpp"))[0]
                est = prep.b1_s[fmt] * batch
                if est > args.max_extra_s:
                    skipped.setdefault(impl, {})[label] = (f"estimated {est:.2f} s a run (batch 1: {prep.b1_s[fmt]:.3f} s)"
                                                           f" > --max-extra-s {args.max_extra_s:g}")
                    continue
            fns[impl] = (lambda q=q, xs=(x,): q.run(xs, impl="cpp"))
    for impl, w in list(workers.items()):
        if not w.wait_ready():
            print(f"  [{label}] {impl} failed to load: {w.error}", flush=True)
            notes[impl] = w.error
            w.close()
            del workers[impl]
        else:
            engines.setdefault(impl, {"versions": w.info.get("versions"), "quantization": w.info.get("quantization"),
                                      "config": w.info.get("config"), "python": w.info.get("python")})
            print(f"  [{label}] {impl} ready in {w.info['load_s']:.1f} s; executes: {describe_precision(w.info)}",
                  flush=True)
    for fn in fns.values():
        fn()                                                    # warm-up (peers warmed up in their worker)
    order = [i for i in impls if i in fns or i in workers]
    times = {i: [] for i in order}
    load_before = os.getloadavg()
    for r in range(args.repeats):
        k = r % len(order)
        for impl in order[k:] + order[:k]:
            if args.settle_ms > 0:   # the engine before has gone quiet (its threads stop spinning)
                time.sleep(args.settle_ms / 1000)
            if impl in fns:
                times[impl].append(timed(fns[impl])[0])
            else:
                times[impl].append(workers[impl].run())
    load_after = os.getloadavg()
    # outputs, untimed: PSNR against the float torch module
    with torch.no_grad():
        ref = prep.module(torch.from_numpy(x.astype(np.float32))).double().numpy()
    drange = 2.0 if prep.last_op == "tanh" else float(ref.max() - ref.min())
    outs = {}
    for impl in order:
        if impl in workers:
            workers[impl].run("save")
            outs[impl] = np.load(prep.path(f"b{batch}.{impl}.y.npy"))
            workers[impl].close()
        elif not kernel_impl(impl):
            outs[impl] = fns[impl]()
    rows = []
    macs = prep.macs_per_image * batch
    base = statistics.median(times[BASE]) if times.get(BASE) else None
    for impl in order:
        med = statistics.median(times[impl])
        gmacs = macs / med / 1e9
        if impl in workers:
            prec = describe_precision(workers[impl].info)
        else:
            fmt = kernel_impl(impl)[0] if kernel_impl(impl) else impl[len("accelsim-"):]
            path = kernel_impl(impl)[1] if kernel_impl(impl) else "auto"
            prec = f"{fmt} (accelsim C++, {kernels.active_isa()}" + (f", {path})" if path != "auto" else ")")
        probe = probe_of(impl, prec)
        peak = peaks.get(probe)
        rows.append({"model": prep.spec.split(":")[1] if not prep.layer else "dcgan64", "layer": layer, "batch": batch,
                     "impl": impl, "median_s": med, "gmacs_per_s": gmacs, "peak_fraction": gmacs * 1e9 / peak if peak else None,
                     "precision_executed": prec, "peak_probe": probe, "macs": macs, "runs_s": times[impl],
                     "speedup_of_accelsim_w8a8": med / base if base else None,
                     "psnr_db_vs_torch_fp32": psnr_db(outs[impl], ref, drange) if impl in outs else None,
                     "load_average_before": load_before, "load_average_after": load_after})
    for impl, err in notes.items():
        rows.append({"model": rows[0]["model"] if rows else prep.name, "layer": layer, "batch": batch, "impl": impl,
                     "median_s": None, "gmacs_per_s": None, "peak_fraction": None, "precision_executed": None,
                     "error": err})
    for w in workers.values():
        w.close()
    return rows


def fmt_ms(s) -> str:
    return "-" if s is None else (f"{s * 1e3:.1f}" if s >= 0.01 else f"{s * 1e3:.3f}")


def print_group(rows: list[dict]) -> None:
    r0 = rows[0]
    print(f"\n{r0['model']} {r0['layer']} batch {r0['batch']}  ({r0.get('macs', 0) / 1e9:.3f} GMAC; load average "
          f"{'/'.join(f'{v:.2f}' for v in r0.get('load_average_before', ()))} before, "
          f"{'/'.join(f'{v:.2f}' for v in r0.get('load_average_after', ()))} after)")
    print(f"  {'impl':<22}{'median ms':>11}{'GMAC/s':>9}{'peak':>7}{'w8a8 x':>8}{'PSNR':>7}  precision executed")
    for r in rows:
        if r["median_s"] is None:
            print(f"  {r['impl']:<22}{'failed':>11}  {r.get('error', '')[:120]}")
            continue
        frac = f"{r['peak_fraction'] * 100:.0f}%" if r["peak_fraction"] is not None else "-"
        sp = f"{r['speedup_of_accelsim_w8a8']:.2f}" if r.get("speedup_of_accelsim_w8a8") else "-"
        ps = r.get("psnr_db_vs_torch_fp32")
        ps = "-" if ps is None else ("inf" if ps == float("inf") else f"{ps:.1f}")
        print(f"  {r['impl']:<22}{fmt_ms(r['median_s']):>11}{r['gmacs_per_s']:>9.1f}{frac:>7}{sp:>8}{ps:>7}  "
              f"{r['precision_executed']}", flush=True)


def summary(rows: list[dict]) -> list[dict]:
    """accelsim-w8a8 against each peer, per model/layer and batch: the ratios this run measured."""
    groups: dict = {}
    for r in rows:
        if r.get("median_s") is not None:
            groups.setdefault((r["model"], r["layer"], r["batch"]), {})[r["impl"]] = r
    out = []
    print("\nsummary: median ms (GMAC/s, % of the measured peak); 'w8a8 x' = peer median / accelsim-w8a8 median "
          "(> 1: accelsim-w8a8 faster)")
    present = [i for i in KEY_IMPLS if any(i in g for g in groups.values())]
    print(f"{'model':<12}{'layer':<22}{'batch':>6}" + "".join(f"{i:>26}" for i in present))
    for (model, layer, batch), g in groups.items():
        cells = []
        for i in present:
            r = g.get(i)
            if r is None:
                cells.append("-")
                continue
            frac = f", {r['peak_fraction'] * 100:.0f}%" if r["peak_fraction"] is not None else ""
            cells.append(f"{fmt_ms(r['median_s'])} ({r['gmacs_per_s']:.0f}{frac})")
        print(f"{model:<12}{layer:<22}{batch:>6}" + "".join(f"{c:>26}" for c in cells))
    print("\nratios measured in this run: accelsim-w8a8 speed relative to each peer (peer time / accelsim time)")
    peers = [i for i in KEY_IMPLS[1:] if i in present]
    print(f"{'model':<12}{'layer':<22}{'batch':>6}" + "".join(f"{i:>15}" for i in peers))
    for (model, layer, batch), g in groups.items():
        if BASE not in g:
            continue
        rec = {"model": model, "layer": layer, "batch": batch}
        cells = []
        for i in peers:
            v = g[i]["median_s"] / g[BASE]["median_s"] if i in g else None
            rec[i] = v
            cells.append("-" if v is None else f"{v:.2f}x")
        out.append(rec)
        print(f"{model:<12}{layer:<22}{batch:>6}" + "".join(f"{c:>15}" for c in cells))
    for what, sel in (("DCGAN-64 layers", lambda r: r["layer"] != "all"), ("whole models", lambda r: r["layer"] == "all")):
        for batch in sorted({r["batch"] for r in out if sel(r)}):
            cells = []
            for i in peers:
                vs = [r[i] for r in out if sel(r) and r["batch"] == batch and r.get(i)]
                cells.append(f"{geomean(vs):.2f}x ({len(vs)})" if vs else "-")
            print(f"geomean, {what}, batch {batch}: " + ", ".join(f"{i} {c}" for i, c in zip(peers, cells)))
    ov = [(r["model"], r["layer"], r["batch"], r["openvino-int8"]) for r in out if r.get("openvino-int8")]
    if ov:
        faster = [f"{m} {l} b{b} {v:.2f}x" for m, l, b, v in ov if v > 1]
        slower = [f"{m} {l} b{b} {1 / v:.2f}x" for m, l, b, v in ov if v <= 1]
        print(f"accelsim-w8a8 faster than openvino-int8 on {len(faster)} of {len(ov)}: " + (", ".join(faster) or "none"))
        print(f"openvino-int8 faster than accelsim-w8a8 on {len(slower)} of {len(ov)} (by): " + (", ".join(slower) or "none"))
    for kimpl in ["accelsim-w8a8-kernel"] + [f"accelsim-w8a8-kernel{sfx}" for sfx in CONVT_SUFFIXES]:
        kern = [(k, g["openvino-int8"]["median_s"] / g[kimpl]["median_s"]) for k, g in groups.items()
                if "openvino-int8" in g and kimpl in g]
        if kern:    # the bare int8 layer (codes in, codes out) against OpenVINO's float-in, float-out layer
            print(f"{kimpl} speed relative to openvino-int8 (openvino time / kernel time): "
                  + ", ".join(f"{l} b{b} {v:.2f}x" for (m, l, b), v in kern))
    return out


def describe_skip(why) -> str:
    """A peer without a venv (a string), or per model and batch why an extra format was left out."""
    return why if isinstance(why, str) else "; ".join(f"{k}: {v}" for k, v in why.items())


def markdown(doc: dict) -> str:
    """The run's tables in Markdown (docs/performance.md quotes them)."""
    m, rows = doc["machine"], [r for r in doc["rows"] if r.get("median_s") is not None]
    la = lambda v: "/".join(f"{x:.2f}" for x in v)  # noqa: E731
    out = [f"Machine: {m['cpu_model']}, {m['cpu_count']} cores ({', '.join(m['isa_flags'])}); {m['threads']} threads "
           f"for every engine; accelsim {m['accelsim']} (isa {m['accelsim_isa']}); median of "
           f"{doc['config']['repeats']} interleaved runs. Load average (1/5/15 min) {la(m['load_average_start'])} at "
           f"start, {la(m['load_average_end'])} at end; total {doc['total_s']:.0f} s.", "",
           "Measured peak, all threads, GMAC/s (before / after the timings): " + ", ".join(
               f"{k} {m['peak_gmacs_per_s_start'].get(k, 0):.0f} / {m['peak_gmacs_per_s_end'].get(k, 0):.0f}"
               for k in m["peak_gmacs_per_s"]), "",
           "Engines: " + "; ".join(f"{impl}: " + ", ".join(f"{k} {v}" for k, v in (e.get("versions") or {}).items())
                                   for impl, e in m["engines"].items()), ""]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["model"], r["layer"], r["batch"]), {})[r["impl"]] = r
    key = [i for i in KEY_IMPLS if any(i in g for g in groups.values())]
    head = "| model | layer | batch | " + " | ".join(key) + " |"
    rule = "|---|---|---:|" + "---:|" * len(key)
    out += ["Median ms (GMAC/s):", "", head, rule]
    for (model, layer, batch), g in groups.items():
        out.append(f"| {model} | {layer} | {batch} | " + " | ".join(
            f"{fmt_ms(g[i]['median_s'])} ({g[i]['gmacs_per_s']:.1f})" if i in g else "-" for i in key) + " |")
    out += ["", "Fraction of the measured peak of each implementation's instruction (fp32: fma; int8: tdpbsud-amx "
            "where the engine runs AMX tiles, else vpdpbusd), and in brackets of the vpdpbusd peak:", "", head, rule]
    for (model, layer, batch), g in groups.items():
        cells = []
        for i in key:
            r = g.get(i)
            if r is None or r.get("peak_fraction") is None:
                cells.append("-")
                continue
            v = r.get("peak_fraction_vnni")
            cells.append(f"{r['peak_fraction'] * 100:.1f}%" + (f" ({v * 100:.0f}%)" if v is not None and
                                                               r["peak_probe"] != "vpdpbusd-zmm" else ""))
        out.append(f"| {model} | {layer} | {batch} | " + " | ".join(cells) + " |")
    peers = [i for i in KEY_IMPLS[1:] if any(i in x for x in doc["ratios"])]
    out += ["", "accelsim-w8a8 speed relative to each peer, this run (peer median / accelsim-w8a8 median; > 1: "
            "accelsim faster):", "", "| model | layer | batch | " + " | ".join(peers) + " |",
            "|---|---|---:|" + "---:|" * len(peers)]
    for x in doc["ratios"]:
        out.append(f"| {x['model']} | {x['layer']} | {x['batch']} | " + " | ".join(
            "-" if x.get(i) is None else f"{x[i]:.2f}x" for i in peers) + " |")
    out += ["", "What each peer really executed (MAC layers, read from the engine):", ""]
    seen = {}
    for r in rows:
        if r["impl"] in PEERS:
            seen.setdefault((r["model"] if r["model"] != "dcgan64" else "dcgan64 layers", r["impl"]),
                            r["precision_executed"])
    out += [f"- {model}, {impl}: {prec}" for (model, impl), prec in seen.items()]
    if doc["skipped"]:
        out += ["", "Left out:", ""] + [f"- {k}: {describe_skip(v)}" for k, v in doc["skipped"].items()]
    out += ["", "<details><summary>Every row (all accelsim formats; PSNR against torch fp32)</summary>", "",
            "| model | layer | batch | impl | median ms | GMAC/s | % of peak (probe) | accelsim-w8a8 speed-up | PSNR dB |",
            "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        frac = f"{r['peak_fraction'] * 100:.1f} ({r['peak_probe']})" if r.get("peak_fraction") is not None else "-"
        sp = f"{r['speedup_of_accelsim_w8a8']:.2f}x" if r.get("speedup_of_accelsim_w8a8") else "-"
        ps = r.get("psnr_db_vs_torch_fp32")
        ps = "-" if ps is None else ("inf" if ps == float("inf") else f"{ps:.1f}")
        out.append(f"| {r['model']} | {r['layer']} | {r['batch']} | {r['impl']} | {fmt_ms(r['median_s'])} | "
                   f"{r['gmacs_per_s']:.1f} | {frac} | {sp} | {ps} |")
    out += ["", "</details>"]
    return "\n".join(out) + "\n"


def simulate_rows(prep: Prepared) -> list[dict]:
    import accelsim

    res = []
    for fmt in SIM_FORMATS:
        dt, rep = timed(lambda: accelsim.simulate(prep.workload, "edge-npu", fmt))
        res.append({"model": prep.spec[4:], "fmt": fmt, "wall_s": dt, "energy_per_image_uj": rep.energy_per_image_uj})
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODEL_BATCHES), help="generators of examples/generators.py")
    ap.add_argument("--batch", help="override every model's batches (default: dcgan 1,64; cyclegan 1,8; others 1)")
    ap.add_argument("--no-layers", action="store_true", help="skip the DCGAN-64 per-layer rows")
    ap.add_argument("--layer-batch", default=",".join(map(str, LAYER_BATCHES)))
    ap.add_argument("--layers", default=",".join(str(i) for i in range(len(LAYERS))),
                    help="which DCGAN-64 layers (indices into bench_kernels.LAYERS)")
    ap.add_argument("--impls", default=",".join([f"accelsim-{f}" for f in FORMATS] + ["accelsim-w8a8-kernel", *PEERS]))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--settle-ms", type=float, default=0.0,
                    help="sleep this long before each timed run, so the engine before it has gone quiet")
    ap.add_argument("--calib", type=int, default=4, help="calibration inputs, image-input models (every engine)")
    ap.add_argument("--calib-small", type=int, default=32, help="calibration inputs, noise-input models and layers")
    ap.add_argument("--max-extra-s", type=float, default=1.5,
                    help="leave out an accelsim format other than w8a8 whose warm-up run takes longer (s)")
    ap.add_argument("--venvs", default=os.environ.get("BENCH_VENVS", "/work/bench-venvs"),
                    help="peer venvs root (benchmarks/peers/setup_venvs.sh)")
    ap.add_argument("--workdir", help="ONNX exports, quantized peer models, calibrations (reused when present); "
                                      "default: a fresh temporary directory")
    ap.add_argument("--no-simulate", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smoke test: *_tiny factories at batch 1, layers at batch 1, "
                                                         "1 repeat, 2 calibration inputs")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--markdown", metavar="PATH", help="the tables in Markdown")
    args = ap.parse_args(argv)
    if not 0 <= args.settle_ms <= 10_000:   # (NaN fails too; inf would sleep forever)
        ap.error(f"--settle-ms must lie in [0, 10000], got {args.settle_ms}")
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    bad = [i for i in impls if i not in PEERS and not (i.startswith("accelsim-") and (
        (kernel_impl(i) or ("", ""))[0] in FORMATS or i[9:] in FORMATS))]
    if bad:
        ap.error(f"unknown impl(s) {', '.join(bad)}")
    if BASE not in impls:
        impls.insert(0, BASE)
    gens = load_generators()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if [m for m in models if m not in gens.FACTORIES]:
        ap.error(f"unknown model(s); choose from {', '.join(k for k in gens.FACTORIES if not k.endswith('_tiny'))}")
    layer_batches = [int(b) for b in args.layer_batch.split(",")]
    if args.quick:
        args.repeats, args.calib, args.calib_small, layer_batches = 1, 2, 2, [1]
    import torch

    from accelsim import __version__, kernels

    torch.set_num_threads(args.threads)
    kernels.set_num_threads(args.threads)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_runtime.")
    os.makedirs(workdir, exist_ok=True)
    workdir = os.path.abspath(workdir)
    import onnx

    machine = {**cpu_info(), "threads": args.threads, "torch_threads": torch.get_num_threads(),
               "accelsim_threads": kernels.num_threads(), "python": platform.python_version(),
               "accelsim": __version__, "accelsim_isa": kernels.active_isa(),
               "accelsim_available_isas": kernels.available_isas(), "numpy": np.__version__,
               "torch_export": torch.__version__, "onnx_export": onnx.__version__,
               "venvs": {e: peer_python(e, args.venvs) for e in ("torch", "ort", "ov")}}
    print(f"{machine['cpu_model']} x{machine['cpu_count']} | {','.join(machine['isa_flags'])} | accelsim isa "
          f"{machine['accelsim_isa']} | threads {args.threads} | repeats {args.repeats} | workdir {workdir}"
          + (" | QUICK" if args.quick else ""), flush=True)
    avx512 = "avx512" in kernels.available_isas()

    vnni, fma = peak_probe_for("torch-int8-fbgemm", None, avx512), peak_probe_for("torch-fp32", None, avx512)
    amx = "tdpbsud-amx" if "amx" in kernels.available_isas() else None

    def probe_of(impl: str, executed: str = "") -> str | None:
        """The instruction whose measured peak bounds impl: an int8 peer that reports AMX primitives
        (OpenVINO's brgconv_avx512_amx) is held to the AMX peak, as accelsim's amx path is."""
        if impl.endswith("-fp32"):
            return fma
        if impl in PEERS:
            return amx if amx and "amx" in executed.lower() else vnni
        fmt = KERNEL_FMT[kernel_impl(impl)[0] if kernel_impl(impl) else impl[len("accelsim-"):]]
        return peak_probe_for(fmt, kernels.active_isa(), avx512)

    probes = sorted({p for p in map(probe_of, impls) if p} | {vnni, fma} | ({amx} if amx else set()))
    iters = 1_000_000 if args.quick else 10_000_000

    def measure_peaks() -> dict:
        out = {}
        for p in probes:
            try:
                out[p] = kernels.peak_probe(p, iters)
            except Exception as e:  # noqa: BLE001  (this CPU cannot run it: no fraction for its rows)
                print(f"peak probe {p}: {e}")
        return out

    load_start = os.getloadavg()
    t_start = time.perf_counter()
    peaks_start = measure_peaks()
    print("measured peak, all threads (GMAC/s): " + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in peaks_start.items())
          + f" | load average {'/'.join(f'{v:.2f}' for v in load_start)}", flush=True)
    peaks = dict(peaks_start)
    rows, sims, skipped, engines, preps = [], [], {}, {}, {}
    groups = []
    if not args.no_layers:
        for li in (int(i) for i in args.layers.split(",") if i.strip()):
            name, cin, cout, hw = LAYERS[li]
            spec = f"layer:{cin},{cout}"
            groups += [(spec, hw, name, b) for b in layer_batches]
    for m in models:
        factory = f"{m}_tiny" if args.quick and f"{m}_tiny" in gens.FACTORIES else m
        batches = ([int(b) for b in args.batch.split(",")] if args.batch else
                   [1] if args.quick else list(MODEL_BATCHES.get(m, (1,))))
        groups += [(f"gen:{factory}", None, "all", b) for b in batches]
    for spec, hw, layer, batch in groups:
        if spec not in preps:
            preps[spec] = Prepared(spec, workdir, args.calib, args.calib_small, hw)
            preps[spec].ranges()
            p = preps[spec]
            print(f"[{p.name}] graph {p.graph_s:.2f} s, runtime calibration {p.calib_s:.2f} s on {len(p.calib)} inputs"
                  f"{' (cached)' if p.calib_s == 0 else ''}, {p.macs_per_image / 1e9:.3f} GMAC per image", flush=True)
            if not p.layer and not args.no_simulate:
                sims += simulate_rows(p)
        g = bench_group(preps[spec], batch, layer, impls, args, peaks, probe_of, skipped, engines)
        print_group(g)
        rows += g
    peaks_end = measure_peaks()
    load_end = os.getloadavg()
    total_s = time.perf_counter() - t_start
    for k, v in peaks_end.items():
        peaks[k] = max(peaks.get(k, 0.0), v)
    for r in rows:              # fractions against the larger of the two peak measurements
        if r.get("gmacs_per_s") is not None and peaks.get(r.get("peak_probe")):
            r["peak_fraction"] = r["gmacs_per_s"] * 1e9 / peaks[r["peak_probe"]]
            if r["peak_probe"] in (amx, vnni) and peaks.get(vnni):   # also against vpdpbusd, the yardstick
                r["peak_fraction_vnni"] = r["gmacs_per_s"] * 1e9 / peaks[vnni]
    ratios = summary(rows)
    if sims:
        print("\nsimulate on edge-npu: wall s per call (energy uJ per image)")
        print(f"{'model':<16}" + "".join(f"{f:>20}" for f in SIM_FORMATS))
        for m in dict.fromkeys(s["model"] for s in sims):
            print(f"{m:<16}" + "".join(f"{s['wall_s']:>9.2f} ({s['energy_per_image_uj']:>8.4g})" for s in sims
                                       if s["model"] == m))
    print("\nmeasured peak (GMAC/s, all threads), before / after the timings: " + ", ".join(
        f"{k} {peaks_start.get(k, 0) / 1e9:.0f} / {peaks_end.get(k, 0) / 1e9:.0f}" for k in probes))
    for impl, why in skipped.items():
        print(f"left out: {impl}: {describe_skip(why)}")
    print(f"load average (1/5/15 min) {'/'.join(f'{v:.2f}' for v in load_start)} at start, "
          f"{'/'.join(f'{v:.2f}' for v in load_end)} at end, on {os.cpu_count()} cores; total {total_s:.0f} s")
    machine.update(load_average_start=load_start, load_average_end=load_end, engines=engines,
                   peak_gmacs_per_s={k: v / 1e9 for k, v in peaks.items()},
                   peak_gmacs_per_s_start={k: v / 1e9 for k, v in peaks_start.items()},
                   peak_gmacs_per_s_end={k: v / 1e9 for k, v in peaks_end.items()})
    doc = {"machine": machine, "config": {k: v for k, v in vars(args).items() if k not in ("json", "markdown")},
           "rows": rows, "ratios": ratios, "simulate": sims, "skipped": skipped,
           "calibration_s": {p.name: p.calib_s for p in preps.values()}, "total_s": total_s}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1, default=str)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
