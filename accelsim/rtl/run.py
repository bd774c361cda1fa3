"""``accelsim rtl check``: export the vectors, build the reference RTL with Verilator under cocotb,
run every layer (as the simulator's lowering folds it onto the array), compare the outputs through
``accelsim.vectors.check_vectors`` and the compute cycles with the simulator's.

Builds are cached per configuration (the generated sources, the Verilator and cocotb versions) under
``$ACCELSIM_RTL_CACHE`` (default ``~/.cache/accelsim/rtl``): the layers of a model, and later runs
with the same array and format, reuse one build.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import replace

from accelsim.arch import ArchSpec, load_arch
from accelsim.errors import ConfigError
from accelsim.formats import registry
from accelsim.rtl import program, sv, tools
from accelsim.rtl.config import RtlConfig, exact_acc_bits, make_config

TOP = "accelsim_tb"


def cache_root() -> str:
    return os.environ.get("ACCELSIM_RTL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "accelsim", "rtl")


def write_sources(cfg: RtlConfig, out_dir: str, with_tb: bool = True) -> list[str]:
    src = sv.sources(cfg)
    if with_tb:
        src["accelsim_tb.sv"] = sv.tb_sv()
    paths = []
    for name, text in src.items():
        p = os.path.join(out_dir, name)
        with open(p, "w") as f:
            f.write(text)
        paths.append(p)
    return paths


def build(cfg: RtlConfig, env: dict, log=None) -> str:
    """The Verilator build directory of ``cfg`` (built once, then reused)."""
    import cocotb
    from cocotb_tools.runner import get_runner
    src = sv.sources(cfg)
    src["accelsim_tb.sv"] = sv.tb_sv()
    h = hashlib.sha256()
    for name in sorted(src):
        h.update(name.encode() + b"\0" + src[name].encode() + b"\0")
    h.update(tools.verilator_version(env).encode() + cocotb.__version__.encode())
    root = cache_root()
    final = os.path.join(root, h.hexdigest()[:20])
    if os.path.isfile(os.path.join(final, "build.ok")):
        return final
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".build-", dir=root)
    try:
        paths = write_sources(cfg, tmp)
        if log:
            log(f"building {cfg.label} with Verilator ({len(paths)} files) ...")
        runner = get_runner("verilator")
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            runner.build(sources=paths, hdl_toplevel=TOP, build_dir=os.path.join(tmp, "obj"),
                         build_args=["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "-O3"],
                         log_file=os.path.join(tmp, "build.log"), always=True)
        except SystemExit as exc:
            raise ConfigError(f"Verilator build of {cfg.label} failed (log: {os.path.join(tmp, 'build.log')})") \
                from exc
        finally:
            os.environ.clear()
            os.environ.update(saved)
        with open(os.path.join(tmp, "build.ok"), "w") as f:
            f.write(cfg.label + "\n")
        try:
            os.rename(tmp, final)
        except OSError:        # another run built it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        if os.path.isdir(tmp) and not os.path.isfile(os.path.join(tmp, "build.ok")):
            pass   # keep the failed build's log for the message above
        raise
    return final


def _export_format(fmt: str) -> str:
    """The vectors format name: w1a1 on a DCGAN is the qgen chain's ``binary``."""
    name = registry.resolve(fmt)
    return "binary" if name == "w1a1" else name


def sim_layers(model: str, arch: ArchSpec, fmt: str) -> list:
    """The simulator's per-layer activity of the MAC layers, in order."""
    from accelsim import api
    rep = api.simulate(model, arch, registry.resolve(fmt))
    return [r.activity for r in rep.layers if r.activity.mapping is not None]


def _dump_to_hex(raw: str, rec: dict, out: str) -> None:
    y = rec["tensors"]["y"]
    bits, count = y["word_bits"], y["count"]
    words = []
    with open(raw) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("//"):
                words.append(int(line, 16) & ((1 << bits) - 1))
    digits = (bits + 3) // 4
    with open(out, "w") as f:
        f.write("".join(f"{w:0{digits}x}\n" for w in words[:count]))


def run_check(model: str, fmt: str, arch: ArchSpec | str, layer=None, mutant: str | None = None,
              log=None, vectors_dir: str | None = None) -> dict:
    """Run the check; returns {"ok", "config", "layers": [per-layer dict], ...}."""
    from accelsim.vectors import check_vectors, export_vectors
    from accelsim.vectors import manifest as mf
    env = tools.require_sim()
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    nf = registry.get(fmt)
    base_cfg = make_config(arch, nf.name, mutant=mutant)      # validates arch + format before the export
    with tempfile.TemporaryDirectory(prefix="accelsim-rtl-") as work:
        vec = vectors_dir
        if vec is None:
            vec = os.path.join(work, "vec")
            if log:
                log(f"exporting vectors: {model} {nf.name}")
            export_vectors(vec, model=model, fmt=_export_format(fmt))
        m, base = mf.load(os.path.join(vec, "manifest.json"))
        if vectors_dir is not None:
            name = (m.get("model") or {}).get("name")
            if registry.resolve(_export_format(m["format"])) != nf.name or name not in (model, None):
                raise ConfigError(f"vectors: {vectors_dir} holds {name} {m['format']}, not {model} {nf.name}")
        recs = [r for r in m["layers"] if r.get("exported", True)]
        acts = sim_layers(model, arch, nf.name)
        if len(acts) != len(m.get("mac_nodes") or m["layers"]):
            raise ConfigError(f"model {model}: the simulator has {len(acts)} MAC layers, the vectors "
                              f"{len(m['layers'])}")
        if layer is not None and layer != "all":
            keep = [r for r in recs if str(r["index"]) == str(layer) or r["name"] == layer]
            if not keep:
                raise ConfigError(f"layer: {layer!r} is not an exported layer (have "
                                  f"{', '.join(str(r['index']) for r in recs)})")
            recs = keep
        progs = {}
        for r in recs:
            progs[r["index"]] = program.gemms(r)
            program.check_against_lowering(r, progs[r["index"]], acts[r["index"]].mapping.lowered)
        window = max(g.window for ps in progs.values() for g in ps)
        x_bits = max(r["tensors"]["x"]["word_bits"] for r in recs)
        acc_bits = exact_acc_bits(window, nf, x_bits if base_cfg.family == "xnor" else None)
        depths = _depths(recs, progs, base_cfg)
        cfg = replace(base_cfg, acc_bits=acc_bits, depths=depths)
        bdir = build(cfg, env, log)
        results = []
        for r in recs:
            results.append(_run_layer(cfg, bdir, env, r, progs[r["index"]], acts[r["index"]], base, vec, work,
                                      check_vectors, log))
    ok = all(x["mismatches"] == 0 and x["rtl_compute_cycles"] == x["sim_compute_cycles"] and x["done"]
             for x in results)
    return {"ok": ok, "model": model, "format": nf.name, "arch": arch.name, "rows": cfg.rows, "cols": cfg.cols,
            "dataflow": cfg.dataflow, "family": cfg.family, "acc_bits": cfg.acc_bits, "mutant": mutant,
            "verilator": tools.verilator_version(env), "layers": results}


def _pow2(n: int) -> int:
    return 1 << max(4, (max(1, n) - 1).bit_length())


def _depths(recs, progs, cfg: RtlConfig) -> dict:
    def mx(f):
        return _pow2(max(f(r) for r in recs))
    t = lambda r, k: r["tensors"][k]["count"] if k in r["tensors"] else 1   # noqa: E731
    return {"x": mx(lambda r: t(r, "x")), "w": mx(lambda r: t(r, "w")), "ch": mx(lambda r: t(r, "bias")),
            "y": mx(lambda r: t(r, "y")), "lut": mx(lambda r: t(r, "lut")),
            "psum": mx(lambda r: max(len(g.pixels) for g in progs[r["index"]]) * cfg.cols),
            "gemm": mx(lambda r: len(progs[r["index"]])),
            "pix": mx(lambda r: sum(len(g.pixels) for g in progs[r["index"]])),
            "pixin": mx(lambda r: sum(len(g.pixin) for g in progs[r["index"]])),
            "ktab": mx(lambda r: sum(g.window for g in progs[r["index"]])),
            "taps": mx(lambda r: sum(len(g.taps) for g in progs[r["index"]]))}


def _run_layer(cfg, bdir, env, rec, progs, act, base, vec, work, check_vectors, log) -> dict:
    from cocotb_tools.runner import get_results, get_runner
    k = rec["index"]
    d = os.path.join(work, f"layer{k}")
    os.makedirs(d, exist_ok=True)
    program.write_program(rec, progs, d)
    plus = [f"+{n}={os.path.join(d, n + '.hex')}" for n in ("cfg", "gemm", "pixout", "pixin", "ktab", "taps")]
    for name in ("x", "w", "bias", "m0", "shift", "lut"):
        if name in rec["tensors"]:
            plus.append(f"+{name}={os.path.join(base, rec['tensors'][name]['hex'])}")
    raw = os.path.join(d, "ydump.hex")
    plus += [f"+ydump={raw}", f"+ywords={rec['tensors']['y']['count']}"]
    result = os.path.join(d, "result.json")
    limit = 4 * act.compute_cycles + 8 * rec["tensors"]["y"]["count"] + 10000
    if log:
        log(f"layer {k} ({rec['name']}): simulating ...")
    runner = get_runner("verilator")
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        xml = runner.test(test_module="accelsim.rtl.cocotb_core", hdl_toplevel=TOP, hdl_toplevel_lang="verilog", build_dir=os.path.join(bdir, "obj"),
                          test_dir=d, plusargs=plus, log_file=os.path.join(d, "sim.log"),
                          extra_env={"ACCELSIM_RTL_RESULT": result, "ACCELSIM_RTL_MAX_CYCLES": str(limit)},
                          results_xml=os.path.join(d, "results.xml"))
        get_results(xml)
    except SystemExit:
        pass
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if not os.path.isfile(result):
        tail = open(os.path.join(d, "sim.log")).read()[-2000:] if os.path.isfile(os.path.join(d, "sim.log")) else ""
        raise ConfigError(f"layer {k}: the simulation did not report (sim log tail: {tail!r})")
    with open(result) as f:
        res = json.load(f)
    rec_out = {"layer": k, "name": rec["name"], "words": rec["tensors"]["y"]["count"], "done": res["done"],
               "rtl_compute_cycles": res["compute_cycles"], "sim_compute_cycles": int(act.compute_cycles),
               "rtl_control_cycles": res["control_cycles"], "sim_control_cycles": int(act.control_cycles),
               "gemms": len(progs)}
    if res["done"] and os.path.isfile(raw):
        dump = os.path.join(d, f"layer{k}.hex")
        _dump_to_hex(raw, rec, dump)
        chk = check_vectors(os.path.join(vec, "manifest.json"), dump, layer=k, max_report=10)
        lay = chk["layers"][0]
        rec_out.update(mismatches=lay["mismatches"], first_mismatches=lay["first_mismatches"])
    else:
        rec_out.update(mismatches=rec_out["words"], first_mismatches=[])
    return rec_out
