"""One peer engine of benchmarks/bench_runtime.py, run in that engine's own benchmark venv
(benchmarks/peers/setup_venvs.sh): it never imports accelsim, and accelsim never imports it.

    python worker.py --engine ort|ov|torch --precision fp32|int8 --model SPEC --batch B
                     --workdir DIR --threads T

SPEC is ``gen:<factory>`` (a generator of examples/generators.py) or ``layer:<cin>,<cout>``
(ConvTranspose2d(cin, cout, 4, 2, 1, bias=False) + ReLU, a DCGAN-64 layer). The driver wrote into
DIR: ``<name>.onnx`` (fp32, dynamic batch; ort and ov read it), ``<name>.calib.npy`` (calibration
inputs, one per row) and ``<name>.b<B>.x.npy`` (the timed input). int8 models are made here once
(ORT: quantize_static QDQ; OpenVINO: NNCF post-training quantization) and cached in DIR.

Protocol (stdout lines prefixed ``BENCH ``): after loading, quantizing and one warm-up run, one JSON
line ``{"ready": true, ...}``
(engine versions, load time, the precision the engine really executes per MAC layer kind); then
for each stdin line ``run``: one timed inference, answered ``{"s": seconds}`` (``save`` also writes
the output to ``<name>.b<B>.<impl>.y.npy``; ``profile``, OpenVINO started with ``--profile`` only,
also answers the engine's own per-node times of that run: ``"ops"`` seconds per node type and
``"macs"`` [name, type, kernel, seconds] per executed Convolution / Deconvolution node, in execution
order, from its PERF_COUNT counters); ``quit`` ends it. Only one worker runs at a time, so the
driver can interleave engines run by run.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATORS = os.path.join(HERE, "..", "..", "examples", "generators.py")
PREFIX = "BENCH "           # protocol lines (libraries may print to stdout too)


def model_name(spec: str) -> str:
    kind, _, arg = spec.partition(":")
    return arg if kind == "gen" else "layer_" + arg.replace(",", "x")


def build_torch_model(spec: str):
    """The float torch module of SPEC (seeded: the driver and every worker build the same weights)."""
    import importlib.util

    import torch

    kind, _, arg = spec.partition(":")
    if kind == "gen":
        sp = importlib.util.spec_from_file_location("example_generators", GENERATORS)
        gens = importlib.util.module_from_spec(sp)
        sp.loader.exec_module(gens)
        module, _ = gens.FACTORIES[arg]()
        return module.eval()
    if kind == "layer":
        cin, cout = (int(v) for v in arg.split(","))
        torch.manual_seed(0)
        conv = torch.nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False)
        with torch.no_grad():
            conv.weight.mul_(0.5)
        return torch.nn.Sequential(conv, torch.nn.ReLU()).eval()
    raise SystemExit(f"unknown model spec {spec!r}")


# ---- engines: each returns (run(x) -> output ndarray, info dict) ------------------------------------
def torch_engine(args, calib):
    import torch

    torch.set_num_threads(args.threads)
    module = build_torch_model(args.model)
    info = {"versions": {"torch": torch.__version__, "numpy": np.__version__},
            "threads": torch.get_num_threads()}
    if args.precision == "int8":
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        torch.backends.quantized.engine = "fbgemm"
        info["quantization"] = "FX post-training static, fbgemm default qconfig (u8 activations, s8 weights)"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ex = torch.from_numpy(calib[:1])
            try:
                prepared = prepare_fx(module, get_default_qconfig_mapping("fbgemm"), (ex,))
            except Exception as e:  # noqa: BLE001
                # DCGAN_Generator.forward branches on input.is_cuda: FX traces its .main, the whole network
                if not isinstance(getattr(module, "main", None), torch.nn.Sequential):
                    raise
                info["quantization"] += f"; FX traced .main ({type(e).__name__} on the wrapper's forward)"
                prepared = prepare_fx(module.main, get_default_qconfig_mapping("fbgemm"), (ex,))
            with torch.no_grad():
                for c in calib:
                    prepared(torch.from_numpy(c[None]))
            module = convert_fx(prepared)
    kinds = collections.Counter()
    for m in module.modules():
        name = type(m).__module__ + "." + type(m).__name__
        if "Conv" in type(m).__name__ or "Linear" in type(m).__name__:
            q = ".quantized" in name
            kinds[f"{type(m).__name__} {'int8' if q else 'fp32'}"] += 1
    info["precision_executed"] = dict(kinds)

    def run(x):
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return run, info


def ort_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no spinning into the next engine's run
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_engine(args, calib):
    import onnx
    import onnxruntime as ort

    name = model_name(args.model)
    path = os.path.join(args.workdir, f"{name}.onnx")
    info = {"versions": {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__},
            "threads": args.threads, "allow_spinning": 0}
    if args.precision == "int8":
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                              quantize_static)

        qpath = os.path.join(args.workdir, f"{name}.ort-int8.onnx")
        if not os.path.exists(qpath):
            iname = onnx.load(path, load_external_data=False).graph.input[0].name

            class Reader(CalibrationDataReader):
                def __init__(self):
                    self.it = iter({iname: c[None]} for c in calib)

                def get_next(self):
                    return next(self.it, None)

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_static(path, qpath + ".tmp", Reader(), quant_format=QuantFormat.QDQ,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
            os.replace(qpath + ".tmp", qpath)
        path = qpath
        info["quantization"] = "quantize_static QDQ, u8 activations (MinMax), s8 weights per channel"
    # the graph ORT really runs: its optimized model, saved by a second session
    opt = os.path.join(args.workdir, f"{name}.{args.precision}.b{args.batch}.ort-optimized.onnx")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = opt
    so.intra_op_num_threads = 1
    ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    kinds = collections.Counter()
    for node in onnx.load(opt).graph.node:
        t = node.op_type
        if "Conv" in t or "Gemm" in t or "MatMul" in t:
            prec = "int8" if t.startswith("QLinear") or "Integer" in t or t.startswith("Q") else "fp32"
            kinds[f"{t} {prec}"] += 1
    info["precision_executed"] = dict(kinds)
    sess = ort_session(path, args.threads)
    iname = sess.get_inputs()[0].name
    return (lambda x: sess.run(None, {iname: x})[0]), info


def ov_engine(args, calib):
    import openvino as ov

    name = model_name(args.model)
    core = ov.Core()
    info = {"versions": {"openvino": ov.get_version(), "numpy": np.__version__}, "threads": args.threads}
    if args.precision == "int8":
        import nncf

        info["versions"]["nncf"] = nncf.__version__
        qpath = os.path.join(args.workdir, f"{name}.ov-int8.xml")
        if not os.path.exists(qpath):
            model = core.read_model(os.path.join(args.workdir, f"{name}.onnx"))
            iname = model.inputs[0].get_any_name()
            ds = nncf.Dataset([c[None] for c in calib], lambda x: {iname: x})
            qm = nncf.quantize(model, ds, subset_size=len(calib))
            ov.save_model(qm, qpath + ".tmp.xml")
            os.replace(qpath + ".tmp.xml", qpath)
            os.replace(qpath + ".tmp.bin", qpath[:-4] + ".bin")
        model = core.read_model(qpath)
        info["quantization"] = "NNCF post-training quantization (default: performance preset, 8-bit)"
    else:
        model = core.read_model(os.path.join(args.workdir, f"{name}.onnx"))
    shape = list(model.inputs[0].get_partial_shape().to_shape() if model.inputs[0].get_partial_shape().is_static
                 else [args.batch, *calib.shape[1:]])
    shape[0] = args.batch
    model.reshape({model.inputs[0].get_any_name(): shape})
    cfg = {"INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": "f32"}   # else a bf16-capable CPU runs the fp32 parts in bf16
    if args.profile:
        cfg["PERF_COUNT"] = True
    compiled = core.compile_model(model, "CPU", cfg)
    info["config"] = {k: str(compiled.get_property(k)) for k in cfg}
    kinds = collections.Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():      # the graph the CPU plugin really runs
        rt = op.get_rt_info()
        lt = rt["layerType"].astype(str)
        if lt in ("Convolution", "Deconvolution", "FullyConnected", "MatMul", "GroupConvolution"):
            kinds[f"{lt} {rt['runtimePrecision'].astype(str)} ({rt['primitiveType'].astype(str)})"] += 1
    info["precision_executed"] = dict(kinds)
    req = compiled.create_infer_request()

    def run(x):
        req.infer({0: x})
        return req.get_output_tensor(0).data.copy()

    def profile():
        """The last run's executed nodes: seconds per node type, and per MAC node in execution order."""
        ops, macs = collections.defaultdict(float), []
        for p in req.profiling_info:
            if p.status != p.Status.EXECUTED:
                continue
            s = p.real_time.total_seconds()
            ops[p.node_type] += s
            if p.node_type in ("Convolution", "ConvolutionBackpropData", "GroupConvolution", "Deconvolution"):
                macs.append([p.node_name, p.node_type, p.exec_type, s])
        return {"ops": dict(ops), "macs": macs}

    if args.profile:
        run.profile = profile
    return run, info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["torch", "ort", "ov"], required=True)
    ap.add_argument("--precision", choices=["fp32", "int8"], required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--profile", action="store_true", help="ov: per-node counters (PERF_COUNT), the `profile` command")
    args = ap.parse_args(argv)
    if args.profile and args.engine != "ov":
        ap.error("--profile: per-node counters are read from OpenVINO only (--engine ov)")
    t0 = time.perf_counter()
    name = model_name(args.model)
    impl = {"ov": "openvino"}.get(args.engine, args.engine) + "-" + args.precision
    calib = np.load(os.path.join(args.workdir, f"{name}.calib.npy")).astype(np.float32)
    x = np.ascontiguousarray(np.load(os.path.join(args.workdir, f"{name}.b{args.batch}.x.npy")), np.float32)
    run, info = {"torch": torch_engine, "ort": ort_engine, "ov": ov_engine}[args.engine](args, calib)
    run(x)                                                  # warm-up
    info.update(ready=True, impl=impl, load_s=time.perf_counter() - t0, python=sys.version.split()[0])
    print(PREFIX + json.dumps(info), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        t = time.perf_counter()
        y = run(x)
        dt = time.perf_counter() - t
        reply = {"s": dt}
        if cmd == "save":
            np.save(os.path.join(args.workdir, f"{name}.b{args.batch}.{impl}.y.npy"), np.asarray(y, np.float32))
        elif cmd == "profile":
            if not hasattr(run, "profile"):
                raise SystemExit("profile: start the worker with --profile (OpenVINO only)")
            reply.update(run.profile())
        print(PREFIX + json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
