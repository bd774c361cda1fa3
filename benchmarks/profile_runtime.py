"""Where the runtime's time goes on a whole generator (issue 18 item 4), and what its fusions save.

For each model and batch: the share of one ``QuantizedGraph.run`` (w8a8, C++ kernels) spent in each
kernel call and node kind (every kernel entry point of ``accelsim.kernels`` and the runtime's per-node
methods are wrapped with timers after a warm-up run), and an A/B of the runtime with and without its
fused calls (``conv_requant``, ``instance_norm_add``, ``pad_codes``, ``lut_codes``, ``dequantize_add``,
``pixel_shuffle_codes``), its frozen weight keys (``frozen_key``: the kernels then hash the weights on
every call) and its codes in several domains per value: without them it runs what it ran
before they existed: ``conv_int`` then ``requantize_integer``, the norm then the add then the
quantization, ``np.pad``, activations in float64 between a dequantize and a quantize, numpy's pixel
shuffle, a concat of float64 skips), interleaved run by run in one process on the same input, outputs
checked equal byte for byte. Load average recorded; prints a table, writes JSON.

``--peer openvino-int8``: the same model and input run by OpenVINO int8 (bench_runtime.py's worker in
its venv, with its PERF_COUNT counters on), one of its runs after each profiled accelsim run; then
both engines' time per node kind and per MAC layer side by side (MAC layers matched in execution
order), so a gap to the peer shows where it is.

    python benchmarks/profile_runtime.py --models dcgan:1:40,dcgan:64,cyclegan:1,cyclegan:8:3 --json out.json
    python benchmarks/profile_runtime.py --models cyclegan:1:2,srresnet:1:2 --repeats 10 --peer openvino-int8

Calibration ranges come from ``--workdir`` (``bench_runtime.py``'s cache) or are made there.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

FUSED = ("conv_requant", "instance_norm_add", "pad_codes", "lut_codes", "pixel_shuffle_codes", "dequantize_add")
KERNEL_CALLS = ("conv_int", "requantize_integer", "quantize", "dequantize", "instance_norm_codes", "conv_xnor",
                "conv_flex") + FUSED


HIDEABLE = FUSED + ("frozen_key",)  # entry points the unfused side can go without (frozen_key: weights hashed per call)
UNFUSE = HIDEABLE + ("early_also",)  # what --unfuse may name: those, and codes in several domains


class Unfused:
    """accelsim.kernels without the fused entry points ``hide``: the runtime then takes its unfused paths."""

    def __init__(self, kernels, hide=FUSED):
        self._k, self._hide = kernels, frozenset(hide)

    def __getattr__(self, name):
        if name in self._hide:
            raise AttributeError(name)
        return getattr(self._k, name)


def profile(qg, x, repeats: int, between=None) -> dict:
    """Seconds per run in each kernel call ("kernel:<name>") and node kind ("node:<op>"), the wall time,
    and per MAC node in execution order ("macs": [[node, op, seconds]]). ``between()`` is called after
    each profiled run (a peer's run, interleaved), outside the timings."""
    from accelsim import kernels
    from accelsim.runtime import quantized as q

    tot: dict = collections.defaultdict(float)
    saved_k = {n: getattr(kernels, n) for n in KERNEL_CALLS if hasattr(kernels, n)}
    saved_m = {n: getattr(q.QuantizedGraph, n) for n in ("_mac", "_vector", "_norm_add_node", "_table_node",
                                                          "_dequantize_add_node")
               if hasattr(q.QuantizedGraph, n)}

    macs: dict = {}  # MAC node name -> [op, seconds], in execution order

    def timed(key, fn, per_node: bool = False):
        """fn timed into tot[key] (key: a name, or a function of fn's arguments); per_node (the
        runtime's _mac(self, node, ...)): also into macs[node.name]."""
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                dt = time.perf_counter() - t0
                tot[key if isinstance(key, str) else key(*a)] += dt
                if per_node:
                    macs.setdefault(a[1].name, [a[1].op, 0.0])[1] += dt
        return wrapper

    # the runtime's per-node conv calls (kernels.ConvRequant, made at a node's first run) timed too
    base_cr = kernels.ConvRequant

    class TimedConvRequant(base_cr):
        __slots__ = ()

        def __call__(self, xc):
            t0 = time.perf_counter()
            try:
                return base_cr.__call__(self, xc)
            finally:
                tot["kernel:conv_requant"] += time.perf_counter() - t0

    kernels.ConvRequant = TimedConvRequant
    qg._conv_calls.clear()
    try:
        qg.run(x)   # warm-up: weights packed, caches filled, the nodes' timed conv calls made
    except BaseException:
        kernels.ConvRequant = base_cr
        qg._conv_calls.clear()
        raise
    tot.clear()
    for n, f in saved_k.items():
        setattr(kernels, n, timed(f"kernel:{n}", f))
    for n, f in saved_m.items():
        key = "node:instance_norm+add" if n == "_norm_add_node" else (lambda self, node, *a: f"node:{node.op}")
        setattr(q.QuantizedGraph, n, timed(key, f, per_node=n == "_mac"))
    try:
        wall = 0.0
        for _ in range(repeats):
            t0 = time.perf_counter()
            qg.run(x)
            wall += (time.perf_counter() - t0) / repeats
            if between is not None:
                between()
    finally:
        kernels.ConvRequant = base_cr
        qg._conv_calls.clear()
        for n, f in saved_k.items():
            setattr(kernels, n, f)
        for n, f in saved_m.items():
            setattr(q.QuantizedGraph, n, f)
    out = {k: v / repeats for k, v in tot.items()}
    out["wall"] = wall
    out["outside_kernels"] = wall - sum(v for k, v in out.items() if k.startswith("kernel:"))
    out["macs"] = [[name, op, s / repeats] for name, (op, s) in macs.items()]
    return out


class PeerProfile:
    """OpenVINO int8 on the same model and input, its PERF_COUNT counters summed over ``step()`` runs."""

    @staticmethod
    def python_of(impl: str, venvs: str) -> str:
        """The peer venv's interpreter; SystemExit with the reason when ``impl`` cannot be profiled here."""
        import bench_runtime as br

        if impl != "openvino-int8":
            raise SystemExit(f"--peer: per-node counters are read from openvino-int8 only, got {impl!r}")
        py = br.peer_python(br.PEERS[impl][0], venvs)
        if py is None:
            raise SystemExit(f"--peer {impl}: no venv under {venvs} (benchmarks/peers/setup_venvs.sh)")
        return py

    def __init__(self, impl: str, prep, batch: int, threads: int, venvs: str):
        import bench_runtime as br

        py = self.python_of(impl, venvs)
        self.impl, self.runs, self.wall = impl, 0, 0.0
        self.ops: dict = collections.defaultdict(float)
        self.macs: list = []
        self.worker = br.Worker(impl, py, prep.spec, batch, prep.workdir, threads, profile=True)
        if not self.worker.wait_ready():
            raise SystemExit(f"--peer {impl}: the worker did not load the model: {self.worker.error}")
        self.info = self.worker.info

    def step(self):
        r = self.worker.request("profile")
        self.runs += 1
        self.wall += r["s"]
        for k, v in r["ops"].items():
            self.ops[k] += v
        if not self.macs:
            self.macs = [[m[0], m[1], m[2], 0.0] for m in r["macs"]]
        if [m[0] for m in r["macs"]] != [m[0] for m in self.macs]:
            raise SystemExit(f"--peer {self.impl}: its MAC nodes changed between runs")
        for m, v in zip(self.macs, r["macs"]):
            m[3] += v[3]

    def result(self) -> dict:
        n = max(1, self.runs)
        return {"impl": self.impl, "runs": self.runs, "wall_s": self.wall / n,
                "ops_s": {k: v / n for k, v in self.ops.items()},
                "macs": [[name, typ, kern, s / n] for name, typ, kern, s in self.macs],
                "versions": self.info.get("versions")}

    def close(self):
        self.worker.close()


def print_side_by_side(prof: dict, peer: dict) -> None:
    """Both engines per node kind, and per MAC layer in execution order (ratio = peer / accelsim)."""
    name = peer["impl"]
    print(f"  side by side with {name} ({peer['runs']} runs, one after each profiled run; its PERF_COUNT "
          f"counters): run {peer['wall_s'] * 1e3:.1f} ms against accelsim's {prof['wall'] * 1e3:.1f} ms")
    ours = {k[5:]: v for k, v in prof.items() if k.startswith("node:")}
    print(f"    {'accelsim node kind':<24}{'ms':>9}    {name + ' node type':<28}{'ms':>9}")
    left = sorted(ours.items(), key=lambda kv: -kv[1])
    right = sorted(peer["ops_s"].items(), key=lambda kv: -kv[1])
    for i in range(max(len(left), len(right))):
        a = f"    {left[i][0]:<24}{left[i][1] * 1e3:9.2f}" if i < len(left) else " " * 37
        b = f"    {right[i][0]:<28}{right[i][1] * 1e3:9.2f}" if i < len(right) else ""
        print(a + b)
    ma, mb = prof["macs"], peer["macs"]
    if len(ma) != len(mb):
        print(f"    MAC layers: accelsim ran {len(ma)}, {name} {len(mb)}: not matched one to one")
        return
    print(f"    {'MAC layer (accelsim node)':<34}{'accelsim ms':>12}{name + ' ms':>20}{'ratio':>8}  {name} node")
    for (node, op, s), (pname, _typ, kern, ps) in zip(ma, mb):
        label = node if len(node) <= 33 else "..." + node[-30:]   # the tail names the layer
        print(f"    {label:<34}{s * 1e3:12.3f}{ps * 1e3:20.3f}{ps / s if s else float('nan'):8.2f}  {pname} ({kern})")
    sa, sb = sum(m[2] for m in ma), sum(m[3] for m in mb)
    print(f"    {'all MAC layers':<34}{sa * 1e3:12.3f}{sb * 1e3:20.3f}{sb / sa if sa else float('nan'):8.2f}")
    rest = peer["wall_s"] - sb   # its counters can sum above the run's wall time (nodes overlapped, or timed apart)
    print(f"    {'the rest of the run':<34}{(prof['wall'] - sa) * 1e3:12.3f}"
          + (f"{rest * 1e3:20.3f}" if rest >= 0 else f"{'(counters > run)':>20}"))


def run_unfused(qg, x, unfuse=UNFUSE):
    """One run without the fused calls named in ``unfuse`` and, if it names ``early_also``, with one
    early domain per value (as before they existed)."""
    from accelsim import kernels

    also = qg._early_also
    if "early_also" in unfuse:
        qg._early_also = {}
    try:
        return qg.run(x, impl=Unfused(kernels, [u for u in unfuse if u in HIDEABLE]))
    finally:
        qg._early_also = also


def ab(qg, x, repeats: int, unfuse=UNFUSE) -> dict:
    """Median seconds of the runtime with and without its fused calls, interleaved (order alternating)."""
    impls = {"unfused": lambda: run_unfused(qg, x, unfuse), "fused": lambda: qg.run(x, impl="cpp")}
    a, b = impls["unfused"](), impls["fused"]()
    if a.tobytes() != b.tobytes():
        raise SystemExit("fused and unfused runs differ: a bug")
    ts: dict = {k: [] for k in impls}
    for r in range(repeats):
        for k in (list(impls) if r % 2 == 0 else list(impls)[::-1]):
            t0 = time.perf_counter()
            impls[k]()
            ts[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in ts.items()} | {"raw": ts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="dcgan:1:40,dcgan:64,cyclegan:1,cyclegan:8:3",
                    help="model:batch[:A/B runs of each variant],...")
    ap.add_argument("--repeats", type=int, default=3, help="profiled runs per model and batch")
    ap.add_argument("--ab-repeats", type=int, default=6, help="A/B runs of each variant (default per model and batch)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default=None, help="bench_runtime.py's workdir (calibrations, ONNX exports)")
    ap.add_argument("--unfuse", default=",".join(UNFUSE),
                    help=f"what the A/B's unfused side goes without (default all of {','.join(UNFUSE)})")
    ap.add_argument("--peer", default=None, help="openvino-int8: its per-node times side by side (its venv: --venvs)")
    ap.add_argument("--venvs", default=os.environ.get("BENCH_VENVS", "/work/bench-venvs"),
                    help="peer venvs root (benchmarks/peers/setup_venvs.sh)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    unfuse = tuple(u for u in args.unfuse.split(",") if u)
    bad = [u for u in unfuse if u not in UNFUSE]
    if bad or not unfuse:
        ap.error(f"--unfuse: {bad[0] if bad else 'nothing'} is not one of {','.join(UNFUSE)}")
    if args.peer:
        PeerProfile.python_of(args.peer, args.venvs)   # before any model is exported or calibrated
    import tempfile

    import bench_runtime as br
    from accelsim import kernels

    kernels.set_num_threads(args.threads)
    workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="profile_runtime."))
    os.makedirs(workdir, exist_ok=True)
    rows = []
    for item in args.models.split(","):
        model, batch, *rest = item.split(":")
        ab_repeats = int(rest[0]) if rest else args.ab_repeats
        prep = br.Prepared("gen:" + model, workdir, 4, 32)
        qg = prep.quantized("w8a8")
        x = prep.inputs(int(batch), br.BENCH_SEED)
        load0 = os.getloadavg()
        peer = PeerProfile(args.peer, prep, int(batch), args.threads, args.venvs) if args.peer else None
        try:
            prof = profile(qg, x, args.repeats, between=peer.step if peer else None)
        finally:
            if peer:
                peer.close()
        res = ab(qg, x, ab_repeats, unfuse)
        row = {"model": model, "batch": int(batch), "profile_s": prof, "unfused_s": res["unfused"],
               "fused_s": res["fused"], "speedup": res["unfused"] / res["fused"], "ab_raw_s": res["raw"],
               "unfuse": list(unfuse), "load_before": load0, "load_after": os.getloadavg(),
               "peer": peer.result() if peer else None}
        rows.append(row)
        wall = prof["wall"]
        print(f"\n{model} batch {batch}: profiled run {wall * 1e3:.1f} ms (load average {load0[0]:.2f} -> "
              f"{row['load_after'][0]:.2f}); outside kernel calls {prof['outside_kernels'] * 1e3:.1f} ms "
              f"({prof['outside_kernels'] / wall:.1%})")
        for k, v in sorted(((k, v) for k, v in prof.items() if k.startswith(("kernel:", "node:"))), key=lambda kv: -kv[1]):
            print(f"  {k:28s} {v * 1e3:10.2f} ms {v / wall:7.1%}")
        if peer:
            print_side_by_side(prof, row["peer"])
        print(f"  A/B, {ab_repeats} interleaved runs each, unfused = without {','.join(unfuse)}:\n"
              f"    unfused {res['unfused'] * 1e3:.1f} ms, fused "
              f"{res['fused'] * 1e3:.1f} ms: {row['speedup']:.2f}x (outputs equal byte for byte)")
    doc = {"machine": br.cpu_info(), "threads": args.threads, "isa": kernels.active_isa(), "rows": rows}
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
