"""Shared driver of the accelsim fuzz targets (tools/fuzz/fuzz_*.py); a dev tool, not part of the package.

Each target script defines ``setup()`` (imports what it tests; called once, under atheris'
instrumentation in the fuzzing child) and ``check(data: bytes) -> None`` that raises ``Finding`` for a
wrong answer or an unclean exception, and calls ``main(name, setup, check)``. The driver:

* runs a child process under atheris/libFuzzer for ``--seconds`` (coverage of the instrumented accelsim
  Python modules guides the mutations; a corpus directory keeps the progress between runs);
* inside the child, records every ``Finding`` (and any other exception the check lets through) in
  ``findings.jsonl`` with the input that caused it, and keeps fuzzing;
* outside, restarts the child after a hard crash (signal, abort, libFuzzer timeout or OOM: libFuzzer
  writes the input as ``crash-*``/``timeout-*``/``oom-*``), until the time is spent;
* writes a JSON summary (executions, seconds, findings) to ``--json`` and prints it.

``--replay FILE...`` runs the check on saved inputs in-process (to reproduce a finding).
Environment: ACCELSIM_NUM_THREADS=1 is set for the child (the CPU is shared).
"""
from __future__ import annotations

import argparse
import collections
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback


COUNTS: collections.Counter = collections.Counter()   # outcome tallies a target may keep (reported)


class Finding(Exception):
    """A wrong answer or an unclean failure; ``kind`` groups findings, ``key`` deduplicates them."""

    def __init__(self, kind: str, message: str, key: str | None = None):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.key = kind, message, key or f"{kind}: {message}"[:200]


def _signature(exc: BaseException) -> tuple[str, str, str]:
    """(kind, dedup key, message) of an exception the check let through."""
    if isinstance(exc, Finding):
        return exc.kind, exc.key, exc.message
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                  if "accelsim" in f.filename), tb[-1].filename if tb else "?")
    return "uncaught", f"{type(exc).__name__} at {where}", f"{type(exc).__name__}: {str(exc)[:300]} (at {where})"


def _write_json(path: str, obj) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".fuzz-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def _child(setup, check, seconds: int, workdir: str, instrument, timeout_s: int) -> None:
    import atheris

    with atheris.instrument_imports(include=list(instrument)):
        setup()
    findings_path = os.path.join(workdir, "findings.jsonl")
    seen: set[str] = set()
    state = {"n": 0, "t": time.monotonic()}
    stats_path = os.path.join(workdir, "stats.json")

    def one(data: bytes) -> None:
        state["n"] += 1
        try:
            check(data)
        except BaseException as exc:  # noqa: BLE001 - every escape is a finding
            if isinstance(exc, KeyboardInterrupt):
                raise
            kind, key, message = _signature(exc)
            if key not in seen:
                seen.add(key)
                digest = hashlib.sha1(data).hexdigest()
                path = os.path.join(workdir, f"finding-{digest}")
                with open(path, "wb") as f:
                    f.write(data)
                with open(findings_path, "a") as f:
                    f.write(json.dumps({"kind": kind, "key": key, "message": message, "input": path}) + "\n")
        now = time.monotonic()
        if now - state["t"] > 2.0:
            state["t"] = now
            _write_json(stats_path, {"executions": state["n"], "counts": dict(COUNTS)})

    corpus = os.path.join(workdir, "corpus")
    os.makedirs(corpus, exist_ok=True)
    args = [sys.argv[0], f"-max_total_time={seconds}", f"-timeout={timeout_s}", "-rss_limit_mb=6144",
            f"-artifact_prefix={workdir}/", "-print_final_stats=1", corpus]
    atheris.Setup(args, one)
    try:
        atheris.Fuzz()
    finally:
        _write_json(stats_path, {"executions": state["n"], "counts": dict(COUNTS)})


def _collect(workdir: str, since: float) -> list[dict]:
    out = []
    for path in sorted(glob.glob(os.path.join(workdir, "*-*"))):
        base = os.path.basename(path)
        kind = base.split("-", 1)[0]
        if kind in ("crash", "timeout", "oom", "leak", "slow") and os.path.getmtime(path) >= since:
            out.append({"kind": kind, "key": f"{kind}: {base}", "message": f"libFuzzer {kind} artifact", "input": path})
    return out


def main(name: str, setup, check, instrument=("accelsim",), timeout_s: int = 20) -> int:
    p = argparse.ArgumentParser(description=f"fuzz target {name} (accelsim reliability)")
    p.add_argument("--seconds", type=int, default=60, help="fuzzing time (default 60)")
    p.add_argument("--workdir", default=os.path.join("fuzz-out", name),
                   help="corpus, findings and summary (default fuzz-out/%(default)s)".replace("%(default)s", name))
    p.add_argument("--json", help="summary path (default WORKDIR/summary.json)")
    p.add_argument("--replay", nargs="+", metavar="FILE", help="run the check on saved inputs and report")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.replay:
        setup()
        bad = 0
        for path in args.replay:
            with open(path, "rb") as f:
                data = f.read()
            try:
                check(data)
                print(f"{path}: ok")
            except BaseException as exc:  # noqa: BLE001
                bad += 1
                print(f"{path}: {_signature(exc)[2]}")
                traceback.print_exc()
        return 1 if bad else 0
    os.makedirs(args.workdir, exist_ok=True)
    if args.child:
        _child(setup, check, args.seconds, args.workdir, instrument, timeout_s)
        return 0
    t0 = time.monotonic()
    start_wall = time.time() - 1
    scratch = os.path.join(args.workdir, "tmp")   # targets put their scratch files here (TMPDIR)
    os.makedirs(scratch, exist_ok=True)
    env = {**os.environ, "ACCELSIM_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "TMPDIR": os.path.abspath(scratch)}
    executions, restarts, hard, counts = 0, 0, [], collections.Counter()
    findings_path = os.path.join(args.workdir, "findings.jsonl")
    if os.path.exists(findings_path):
        os.unlink(findings_path)
    while True:
        left = int(args.seconds - (time.monotonic() - t0))
        if left < 2 or restarts > 50:
            break
        stats_path = os.path.join(args.workdir, "stats.json")
        if os.path.exists(stats_path):
            os.unlink(stats_path)
        cmd = [sys.executable, sys.argv[0], "--child", "--seconds", str(left), "--workdir", args.workdir]
        proc = subprocess.run(cmd, env=env, stderr=subprocess.PIPE, text=True, errors="replace",
                              timeout=left + 120)
        done = re.findall(r"stat::number_of_executed_units: (\d+)", proc.stderr)
        stats = {}
        if os.path.exists(stats_path):
            with open(stats_path) as f:
                stats = json.load(f)
            counts.update(stats.get("counts", {}))
        executions += int(done[-1]) if done else stats.get("executions", 0)
        if proc.returncode != 0:
            restarts += 1
            tail = proc.stderr.strip().splitlines()[-12:]
            new = _collect(args.workdir, start_wall)
            known = {h["input"] for h in hard}
            for h in new:
                if h["input"] not in known:
                    h["stderr_tail"] = tail
                    hard.append(h)
            if not new:
                hard.append({"kind": "child-exit", "key": f"exit {proc.returncode}", "input": None,
                             "message": f"fuzz child exited with {proc.returncode}", "stderr_tail": tail})
    shutil.rmtree(scratch, ignore_errors=True)
    found = {}
    if os.path.exists(findings_path):
        with open(findings_path) as f:
            for rec in (json.loads(line) for line in f if line.strip()):
                found.setdefault(rec["key"], rec)
    seconds = time.monotonic() - t0
    summary = {"target": name, "seconds": round(seconds, 1), "executions": executions,
               "executions_per_second": round(executions / max(seconds, 1e-9), 1), "restarts": restarts,
               "corpus_files": len(os.listdir(os.path.join(args.workdir, "corpus"))),
               "outcomes_sampled": dict(sorted(counts.items())),
               "findings": list(found.values()) + hard}
    _write_json(args.json or os.path.join(args.workdir, "summary.json"), summary)
    print(json.dumps(summary, indent=1))
    return 1 if summary["findings"] else 0
