"""accelsim sweep: range parsing, buffer scaling, config hashes, knee finding, the SQLite store
surviving SIGKILL, the Dask executor, and the command line end to end."""
import json
import os
import pathlib
import re
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

import accelsim.sweep.runner as runner
from accelsim.arch import load_arch
from accelsim.cli import main
from accelsim.errors import ConfigError
from accelsim.sweep import (VOLATILE_COLUMNS, Store, SweepPoint, SweepSpec, answers, config_hash, evaluate,
                            first_reaching, knee_index, make_tasks, parse_arrays, parse_drams, parse_list,
                            parse_formats, parse_size, parse_size_range, resolve_arch, smallest_within, split_buffers, sweep)

KIB, MIB = 1024, 1024 ** 2
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _stable(rows):
    """Rows keyed by hash, without the columns that record when and how fast a point ran."""
    return {r["config_hash"]: {k: v for k, v in r.items() if k not in VOLATILE_COLUMNS} for r in rows}


def _db_rows(path):
    with Store(path, create=False) as store:
        return store.rows()


# ---- ranges and lists -------------------------------------------------------------------------

def test_size_and_range_parsing():
    assert parse_size("16KiB") == 16 * KIB and parse_size("1.5MiB") == 3 * MIB // 2 and parse_size("512B") == 512
    assert parse_size_range("64KiB") == (64 * KIB,)
    powers = tuple(16 * KIB * 2 ** k for k in range(9))
    assert parse_size_range("16KiB:4MiB:x2") == powers == parse_size_range("16KiB:4MiB")
    eight = parse_size_range("16KiB:4MiB:8")
    assert len(eight) == 8 and eight[0] == 16 * KIB and eight[-1] == 4 * MIB
    ratios = np.diff(np.log(eight))
    assert np.allclose(ratios, ratios[0], rtol=1e-4)        # log-spaced
    assert parse_size_range("16KiB:100KiB:x2") == (16 * KIB, 32 * KIB, 64 * KIB)   # MAX itself not hit
    assert parse_size_range("16KiB:16KiB:1") == (16 * KIB,)


@pytest.mark.parametrize("text, message", [
    ("4MiB:16KiB", "--buffer: MIN 4MiB is larger than MAX 16KiB"),
    ("0KiB:4MiB", "--buffer: size must be > 0"),
    ("16KB:4MiB", "--buffer: unknown unit 'KB'; allowed units: B, KiB, MiB, GiB"),
    ("16:4MiB", "--buffer: no unit in '16'"),
    ("16KiB:4MiB:0", r"--buffer: STEPS must be in \[1, 100000\], got 0"),
    ("16KiB:4MiB:1", "--buffer: 1 step cannot span"),
    ("16KiB:4MiB:x1", "--buffer: FACTOR must be a number > 1"),
    ("16KiB:4MiB:xx", "--buffer: FACTOR must be a number > 1"),
    ("16KiB:4MiB:-3", "--buffer: STEPS must be an integer"),
    ("1B:4B:10", "--buffer: .* repeated sizes"),
    ("1:2:3:4", "--buffer: expected SIZE, MIN:MAX"),
    ("sixteen", "--buffer: cannot read the size"),
    ("0.3B", "--buffer: '0.3B' is not a whole number of bytes"),
])
def test_bad_ranges_name_the_option(text, message):
    with pytest.raises(ValueError, match=message):
        parse_size_range(text, "--buffer")


def test_list_parsing():
    assert parse_arrays("8x8,16x32") == ((8, 8), (16, 32))
    assert parse_drams("lpddr4,ddr4,hbm2") == ("lpddr4-3200", "ddr4-2400", "hbm2")
    assert parse_formats("int8,int6,binary") == ("w8a8", "w6a6", "w1a1") and len(parse_formats("all")) == 9
    for call, message in ((lambda: parse_arrays("16x0"), r"^array: 16x0: rows and cols must be in \[1, 1024\]"),
                          (lambda: parse_arrays("16"), "^array: expected ROWSxCOLS"),
                          (lambda: parse_drams("ddr5"), "^dram: unknown value ddr5; allowed: lpddr4"),
                          (lambda: parse_formats("int8,int8"), r"a value is repeated: 'int8' repeats 'int8' \(both w8a8\)"),
                          (lambda: parse_formats("int3x"), "unknown format int3x; known: fp32"),
                          (lambda: parse_list("int3", "--format", ("int8", "int4")),
                           "--format: unknown value int3; allowed: int8, int4")):
        with pytest.raises(ValueError, match=message):
            call()


def test_buffer_scaling_keeps_the_preset_proportions():
    edge = load_arch("edge-npu")                                   # 64 / 128 / 64 KiB
    assert split_buffers(edge, 256 * KIB) == edge.buffers
    small = split_buffers(edge, 16 * KIB)
    assert [b.size_bytes for b in small] == [4 * KIB, 8 * KIB, 4 * KIB]
    odd = split_buffers(edge, 100_001)                             # whole bytes, summing exactly
    assert sum(b.size_bytes for b in odd) == 100_001 and [b.size_bytes for b in odd] == [25_000, 50_001, 25_000]
    assert all(b.word_bits == e.word_bits and b.banks == e.banks for b, e in zip(odd, edge.buffers))
    eyeriss = load_arch("eyeriss-like")                            # one global buffer gets everything
    assert split_buffers(eyeriss, 1 * MIB)[0].size_kib == 1024
    with pytest.raises(ConfigError, match="^buffer: 512B in total gives the ifmap buffer 128 B"):
        split_buffers(edge, 512)


def test_resolve_arch_swaps_dram_array_dataflow():
    edge = load_arch("edge-npu")
    p = SweepPoint("dcgan-digits", "edge-npu", "int8", 64.0, 8, 32, "hbm2", "ws", "phase", "dram", 1)
    arch = resolve_arch(edge, p)
    assert (arch.array.rows, arch.array.cols, arch.array.dataflow) == (8, 32, "ws")
    assert arch.dram.name == "hbm2" and arch.dram.type == "hbm2" and arch.dram.channels == edge.dram.channels
    assert sum(b.size_bytes for b in arch.buffers) == 64 * KIB
    same = SweepPoint("dcgan-digits", "edge-npu", "int8", 256.0, 16, 16, "lpddr4-3200", "os", "phase", "dram", 1)
    assert resolve_arch(edge, same) is edge


# ---- determinism ------------------------------------------------------------------------------

def test_points_are_deterministic(monkeypatch):
    edge = load_arch("edge-npu")
    spec = SweepSpec("dcgan-digits", "edge-npu", ("int8", "binary"), (32 * KIB, 64 * KIB))
    a, b = make_tasks(spec.points(edge), edge), make_tasks(spec.points(edge), edge)
    assert [t.config_hash for t in a] == [t.config_hash for t in b] and len({t.config_hash for t in a}) == 4
    assert json.loads(a[0].config_json)["arch"]["buffers"][0]["size_kib"] == 8.0
    r1, r2 = evaluate(a[0]), evaluate(b[0])
    assert _stable([r1]) == _stable([r2]) and r1["status"] == "ok"
    assert r1["dram_bytes"] >= r1["compulsory_dram_bytes"] > 0
    assert r1["energy_total_pj"] == pytest.approx(sum(r1[f"energy_{c}_pj"] for c in
                                                      ("dram", "dram_act", "dram_bg", "dram_ref", "buffer", "mac", "leakage")))
    monkeypatch.setattr(runner, "__version__", "999")             # the version is part of the key
    assert config_hash(a[0].point, a[0].arch) != a[0].config_hash


def test_an_older_store_gains_new_columns(tmp_path):
    db = str(tmp_path / "old.db")
    with Store(db) as store:
        store.put({"config_hash": "h", "status": "ok", "fmt": "int8", "energy_mac_pj": 1.0})
    with sqlite3.connect(db) as conn:        # as written by an accelsim without energy_mac_pj
        conn.execute("ALTER TABLE points DROP COLUMN energy_mac_pj")
    conn.close()
    (row,) = _db_rows(db)
    assert row["fmt"] == "int8" and row["energy_mac_pj"] is None


# ---- knees ------------------------------------------------------------------------------------

def test_knee_on_synthetic_curves():
    sizes = 16 * 2.0 ** np.arange(11)                               # 16 KiB .. 16 MiB
    x = np.log2(sizes)
    corner = np.maximum(100 - 20 * (x - x[0]), 20)                  # 100, 80, 60, 40, then flat at 20
    assert knee_index(sizes, corner) == 4
    assert knee_index(sizes, corner + 0.5 * (x - x[4]).clip(0)) == 4  # turning up past the minimum: no effect
    # hyperbola: yn_i ~ 2^-i, d_i = 1 - 2^-i - i/10 = .4, .55, .575, .5375, ... -> i = 3
    assert knee_index(sizes, 1 / sizes) == 3
    assert knee_index(sizes, np.full(11, 7.0)) is None              # flat
    assert knee_index(sizes, 100 - x) is None                       # straight line on a log axis
    assert knee_index(sizes[:2], corner[:2]) is None                # too few points
    # yn = 1, .75, .5, .25, 0, ...; d_i = 1 - yn_i - i/10 = 0, .15, .3, .45, .6, .5, ... -> i = 4
    assert smallest_within(sizes, corner, 0.05) == 4 and smallest_within(sizes, corner, 1.0) == 3
    assert first_reaching(sizes, corner, 20) == 4 and first_reaching(sizes, corner, 19) is None
    with pytest.raises(ConfigError, match="^tolerance must be in"):
        smallest_within(sizes, corner, -0.1)
    with pytest.raises(ValueError, match="strictly ascending"):
        knee_index(sizes[::-1], corner)


def test_answers_on_a_real_curve(tmp_path):
    edge = load_arch("edge-npu")
    spec = SweepSpec("dcgan-digits", "edge-npu", ("int8",), parse_size_range("1KiB:1MiB:x2"))
    _, rows = sweep(spec.points(edge), edge, str(tmp_path / "a.db"))
    (a,) = answers(rows, 0.05)
    assert a.points == 11 and a.feasible >= 9
    assert a.compulsory_buffer_kib is not None and a.min_dram_bytes_per_image == a.compulsory_dram_bytes_per_image
    assert a.min_feasible_buffer_kib <= a.knee_dram_buffer_kib <= a.compulsory_buffer_kib
    assert a.recommended_energy_per_image_pj <= 1.05 * a.best_energy_per_image_pj
    assert a.recommended_buffer_kib <= a.best_energy_buffer_kib


def test_infeasible_points_are_stored_and_left_out_of_the_curves(tmp_path, monkeypatch):
    from accelsim.workload import Layer, Workload
    big = Workload("k9", (Layer("k9", "conv2d", 1, 1, (9, 9), kernel_hw=9),), (1, 9, 9))
    monkeypatch.setattr(runner, "_workload", lambda name: big)
    # smallest tiles: 81 fp32 weights + an 81-pixel input window + 1 output = 5216 bits, i.e. half (double
    # buffering) of a 2 KiB global buffer at least
    eyeriss = load_arch("eyeriss-like")
    spec = SweepSpec("k9", "eyeriss-like", ("fp32",), parse_size_range("256B:4KiB:x2"))
    stats, rows = sweep(spec.points(eyeriss), eyeriss, str(tmp_path / "i.db"))
    assert [r["status"] for r in rows] == ["infeasible"] * 3 + ["ok"] * 2 and stats.infeasible == 3
    assert "no tiling fits" in rows[0]["error"] and rows[0]["energy_total_pj"] is None
    (a,) = answers(rows)
    assert (a.points, a.feasible, a.min_feasible_buffer_kib) == (5, 2, 2.0)


def test_only_infeasible_errors_are_stored_as_infeasible(tmp_path, monkeypatch):
    """A point the arch cannot run (InfeasibleError: fp16 weights on ReRAM crossbars) is a stored
    "infeasible" row; any other library error (a bad configuration) aborts the sweep instead."""
    import accelsim.api
    from accelsim.errors import ConfigError, InfeasibleError
    from accelsim.workload import Layer, Workload
    small = Workload("k3", (Layer("k3", "conv2d", 4, 4, (6, 6), kernel_hw=3),), (4, 6, 6))
    monkeypatch.setattr(runner, "_workload", lambda name: small)
    isaac = load_arch("isaac-like")
    points = SweepSpec("k3", "isaac-like", ("int8", "fp16")).points(isaac)
    with pytest.raises(InfeasibleError):
        accelsim.api.simulate(small, isaac, "fp16")
    _, rows = sweep(points, isaac, str(tmp_path / "x.db"))
    assert [(r["fmt"], r["status"]) for r in rows] == [("w8a8", "ok"), ("fp16", "infeasible")]   # int8 = w8a8
    assert "cannot be stored in ReRAM cells" in rows[1]["error"]

    def bad_config(*args, **kwargs):
        raise ConfigError("lowering must be one of ...")
    monkeypatch.setattr(accelsim.api, "simulate", bad_config)
    with pytest.raises(ConfigError):
        evaluate(make_tasks(points[:1], isaac)[0])


# ---- the store survives SIGKILL ---------------------------------------------------------------

SMALL = ["--model", "dcgan-64", "--buffer", "16KiB:1MiB:16", "--format", "int8,binary", "--no-progress"]


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_store_survives_sigkill_and_resumes(tmp_path):
    db = str(tmp_path / "killed.db")
    cmd = [sys.executable, "-m", "accelsim", "sweep", *SMALL, "--out", db, "--jobs", "2"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed_at, workers, deadline = 0, [], time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid) or workers
        if os.path.exists(db):
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    killed_at = conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
            except sqlite3.OperationalError:      # table not created yet
                killed_at = 0
            if killed_at >= 4:
                os.kill(proc.pid, signal.SIGKILL)
                break
        time.sleep(0.005)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()
    total = 16 * 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        after_kill = conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    assert 4 <= after_kill < total
    # orphaned pool workers notice their parent is gone and exit
    t_end = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < t_end:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    # the same command again: only the missing points run; the result equals an uninterrupted sweep
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    assert f"{total - after_kill} computed" in out and f"{after_kill} already in the store" in out
    edge = load_arch("edge-npu")
    spec = SweepSpec("dcgan-64", "edge-npu", ("int8", "binary"), parse_size_range("16KiB:1MiB:16"))
    _, reference = sweep(spec.points(edge), edge, str(tmp_path / "ref.db"), jobs=1)
    resumed = _db_rows(db)
    assert len(resumed) == total and _stable(resumed) == _stable(reference)


def test_a_crash_before_any_row_leaves_no_store(tmp_path, monkeypatch):
    edge = load_arch("edge-npu")
    tasks = make_tasks(SweepSpec("dcgan-digits", "edge-npu", ("int8",)).points(edge), edge)

    def broken(task):
        raise RuntimeError("simulator bug")
    monkeypatch.setattr(runner, "evaluate", broken)
    with pytest.raises(RuntimeError, match="simulator bug"):
        runner.run(tasks, str(tmp_path / "c.db"))
    assert os.listdir(tmp_path) == []


# ---- Dask ---------------------------------------------------------------------------------------

def test_dask_executor_matches_the_process_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    edge = load_arch("edge-npu")
    points = SweepSpec("dcgan-digits", "edge-npu", ("int8", "ternary"), parse_size_range("4KiB:64KiB:x2")).points(edge)
    with distributed.Client(processes=False, dashboard_address=None) as client:
        stats, on_dask = sweep(points, edge, str(tmp_path / "dask.db"), executor="dask", scheduler=client)
    assert stats.computed == len(points) == 10
    _, on_pool = sweep(points, edge, str(tmp_path / "pool.db"), jobs=2)
    assert _stable(on_dask) == _stable(on_pool)


# ---- command line -----------------------------------------------------------------------------

def test_cli_end_to_end(tmp_path, capsys):
    db, js, png = str(tmp_path / "s.db"), str(tmp_path / "s.json"), str(tmp_path / "s.png")
    args = ["sweep", "--model", "dcgan-digits", "--buffer", "2KiB:64KiB:x2", "--array", "8x8,16x16",
            "--format", "int8,binary", "--objective", "edp", "--out", db, "--jobs", "1", "--no-progress"]
    assert main(args + ["--json", js, "--plot", png]) == 0
    out = capsys.readouterr().out
    assert "24 points: 24 computed" in out and "rec. buffer (<=5%)" in out and "array" in out
    doc = json.loads(pathlib.Path(js).read_text())
    assert doc["points"] == 24 and len(doc["answers"]) == 4 and "Kneedle" in doc["knee_definition"]
    assert {a["fmt"] for a in doc["answers"]} == {"w8a8", "w1a1"}
    for path in (png, str(tmp_path / "s-heatmap.png")):            # buffer curves, and buffer x array
        assert pathlib.Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(args) == 0                                         # re-run: everything from the store
    assert "0 computed" in capsys.readouterr().out
    assert main(["sweep", "--out", db, "--export", "csv"]) == 0
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert len(lines) == 25 and lines[0].startswith("config_hash,status,error,model")
    assert main(["sweep", "--out", db, "--export", "json", "--export-path", str(tmp_path / "x.json")]) == 0
    rows = json.loads((tmp_path / "x.json").read_text())
    assert len(rows) == 24 and rows[0]["report"]["layers"] and rows[0]["config"]["point"]["objective"] == "edp"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".accelsim-")]


@pytest.mark.parametrize("extra, message", [
    (["--buffer", "4MiB:16KiB"], "--buffer: MIN 4MiB is larger than MAX 16KiB"),
    (["--buffer", "16KiB:4MiB:0"], "--buffer: STEPS must be in"),
    (["--format", "int17"], "--format: unknown format int17"),
    (["--objective", "area"], "--objective must be one of dram, energy, latency, edp"),
    (["--jobs", "0"], r"--jobs must be in \[1, "),
    (["--tolerance", "-1"], r"--tolerance must be in \[0, 10\)"),
    (["--executor", "dask"], "--executor dask needs --scheduler"),
    (["--plot", "x.png"], "--plot needs --buffer with at least two sizes"),
    (["--json", "/nonexistent/dir/x.json"], "--json: cannot write"),
    (["--export", "csv", "--buffer", "1MiB"], "--export only exports the store"),
])
def test_cli_errors_are_one_line_and_leave_no_files(tmp_path, capsys, extra, message):
    db = str(tmp_path / "e.db")
    assert main(["sweep", "--out", db, "--no-progress"] + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim sweep: error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert os.listdir(tmp_path) == []


def test_cli_points_file(tmp_path, capsys):
    pts = tmp_path / "p.csv"
    pts.write_text("format,buffer,array,dram\nint8,32KiB,8x8,hbm2\nbinary,64KiB,,\n")
    assert main(["sweep", "--points", str(pts), "--out", str(tmp_path / "p.db"), "--jobs", "1", "--no-progress"]) == 0
    rows = {r["fmt"]: r for r in _db_rows(str(tmp_path / "p.db"))}
    assert (rows["w8a8"]["buffer_kib"], rows["w8a8"]["array_rows"], rows["w8a8"]["dram"]) == (32.0, 8, "hbm2")
    assert (rows["w1a1"]["buffer_kib"], rows["w1a1"]["array_rows"], rows["w1a1"]["dram"]) == (64.0, 16, "lpddr4-3200")
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"format": "int4", "buffer_kib": 48, "dataflow": "ws"}\n{"format": "int4", "buffer": "48KiB"}\n')
    assert main(["sweep", "--points", str(jsonl), "--out", str(tmp_path / "j.db"), "--jobs", "1", "--no-progress"]) == 0
    assert [(r["buffer_kib"], r["dataflow"]) for r in _db_rows(str(tmp_path / "j.db"))] == [(48.0, "ws"), (48.0, "os")]
    capsys.readouterr()
    pts.write_text("format,buffer,color\nint8,32KiB,red\n")
    assert main(["sweep", "--points", str(pts), "--out", str(tmp_path / "q.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim sweep: error: --points: ") and "line 2: unknown key 'color'" in err
    assert not (tmp_path / "q.db").exists()
