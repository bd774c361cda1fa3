"""Running a sweep: config hashes, one point's evaluation, and the executors that spread points.

The flow, top to bottom (``run``):
  1. resolve every point's ArchSpec and hash its config (the store key)
  2. skip the hashes the store already holds
  3. evaluate the rest: in this process (jobs=1), on a process pool, or on a Dask cluster
  4. write each row in the main process, one transaction per row, as results arrive

Workers build workloads and energy-table inputs once (a pool initializer, ``Client.run`` on Dask)
and keep them in per-process caches. A pool worker whose parent dies (even by SIGKILL) exits.
A point the arch cannot run (``InfeasibleError``: e.g. no tiling fits a tiny buffer, a float format
on ReRAM crossbars) is stored with status ``infeasible`` and its message; any other exception (a bad
configuration included) aborts the sweep, keeping stored rows.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from functools import lru_cache

from accelsim import __version__
from accelsim.arch import ArchSpec
from accelsim.energy import COMPONENTS, Report
from accelsim.errors import ConfigError, InfeasibleError
from accelsim.mapping import compulsory_bytes
from accelsim.sweep.space import SweepPoint, resolve_arch
from accelsim.sweep.store import Store

log = logging.getLogger(__name__)
EXECUTORS = ("process", "dask")


@dataclass(frozen=True)
class Task:
    config_hash: str
    point: SweepPoint
    arch: ArchSpec            # resolved
    config_json: str          # the canonical JSON that was hashed


@dataclass(frozen=True)
class RunStats:
    points: int
    skipped: int              # already in the store
    computed: int
    infeasible: int
    seconds: float


def canonical_config(point: SweepPoint, arch: ArchSpec) -> str:
    """Canonical JSON of the point, the resolved arch and the accelsim version (sorted keys, no spaces)."""
    payload = {"point": point.to_dict(), "arch": asdict(arch), "accelsim_version": __version__,
               "workload": workload_digest(point.model)}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def config_hash(point: SweepPoint, arch: ArchSpec) -> str:
    return hashlib.sha256(canonical_config(point, arch).encode()).hexdigest()


def make_tasks(points: list[SweepPoint], base: ArchSpec) -> list[Task]:
    """Resolve and hash every point (validating the arch of each before anything runs)."""
    archs: dict = {}
    tasks, seen = [], set()
    for p in points:
        key = (p.buffer_bytes, p.array_rows, p.array_cols, p.dataflow, p.dram)
        if key not in archs:
            archs[key] = resolve_arch(base, p)
        text = canonical_config(p, archs[key])
        h = hashlib.sha256(text.encode()).hexdigest()
        if h not in seen:
            seen.add(h)
            tasks.append(Task(h, p, archs[key], text))
    return tasks


_REGISTERED: dict = {}


def register_workload(ref: str, workload) -> None:
    """Use ``workload`` for the model reference ``ref`` (a user model resolved once in the parent,
    with its input shapes; forked pool workers inherit it)."""
    _REGISTERED[ref] = workload
    _workload.cache_clear()
    workload_digest.cache_clear()


@lru_cache(maxsize=16)
def _workload(name: str):
    if name in _REGISTERED:
        return _REGISTERED[name]
    from accelsim.workload.models import resolve_workload
    return resolve_workload(name)


@lru_cache(maxsize=16)
def workload_digest(name: str) -> str:
    """SHA-256 of the resolved workload's layers: a stored point is reused only for the same model
    shapes, even when a user's file changed under the same reference."""
    return hashlib.sha256(repr(_workload(name).layers).encode()).hexdigest()


@lru_cache(maxsize=1024)
def _compulsory(lowered, sizes) -> int:
    return compulsory_bytes(lowered, sizes)


def _layer_compulsory(activity) -> int:
    """Compulsory DRAM bytes of a tiled layer; a layer without a tile mapping (streamed elementwise
    layers) moves exactly its compulsory bytes."""
    m = activity.mapping
    if m is None or not hasattr(m, "lowered") or not hasattr(m, "sizes"):
        return activity.dram_bytes
    return _compulsory(m.lowered, m.sizes)


def metrics(report: Report) -> dict:
    """Every number of a Report as flat, unit-suffixed store columns (energies for the whole batch)."""
    e = report.energy_pj
    compulsory = sum(_layer_compulsory(l.activity) for l in report.layers)
    rd, wr = report.dram_read_bytes, report.dram_write_bytes
    bits = [l.activity.buffer_access_bits for l in report.layers]
    util_den = sum(l.activity.compute_cycles for l in report.layers)
    out = {"energy_per_image_pj": report.total_energy_pj / report.batch, "energy_total_pj": report.total_energy_pj}
    out.update({f"energy_{c}_pj": e[c] for c in COMPONENTS})
    out.update({
        "edp_pj_s": report.total_energy_pj * report.cycles / report.clock_hz,
        "dram_bytes": report.dram_bytes, "compulsory_dram_bytes": compulsory,
        "dram_read_ifmap_bytes": rd.get("ifmap", 0), "dram_read_weight_bytes": rd.get("weight", 0),
        "dram_read_psum_bytes": rd.get("psum", 0), "dram_write_ofmap_bytes": wr.get("ofmap", 0),
        "dram_write_psum_bytes": wr.get("psum", 0),
        "dram_activates": sum(l.activity.dram_activates for l in report.layers),
        "dram_row_hits": sum(l.activity.dram_row_hits for l in report.layers),
        "sram_read_bits": sum(v for b in bits for k, v in b.items() if k.endswith(".read")),
        "sram_write_bits": sum(v for b in bits for k, v in b.items() if k.endswith(".write")),
        "cycles": report.cycles, "compute_cycles": report.compute_cycles, "stall_cycles": report.stall_cycles,
        "latency_us": report.latency_us,
        "utilization": sum(l.activity.utilization * l.activity.compute_cycles for l in report.layers) / util_den
        if util_den else 0.0,
        "macs_total": report.macs_total, "macs_effectual": report.macs_effectual, "weight_bytes": report.weight_bytes,
        "report_json": json.dumps(report.to_json(), sort_keys=True, separators=(",", ":")),
    })
    return out


def evaluate(task: Task) -> dict:
    """Simulate one point; returns its store row."""
    from accelsim.api import simulate
    p = task.point
    t0 = time.perf_counter()
    row = {"config_hash": task.config_hash, **p.to_dict(), "accelsim_version": __version__,
           "config_json": task.config_json}
    try:
        report = simulate(_workload(p.model), task.arch, p.fmt, lowering=p.lowering, objective=p.objective,
                          batch=p.batch, fusion=p.fusion)
    except InfeasibleError as exc:
        row.update(status="infeasible", error=str(exc))
    else:
        row.update(status="ok", error=None, **metrics(report))
    row.update(elapsed_s=time.perf_counter() - t0, created_unix=time.time())
    return row


def warm(models) -> None:
    """Build what every point needs once: the workloads, the energy data tables, the simulator."""
    import accelsim.api  # noqa: F401
    from accelsim.energy.tables import mac_points, sram_rows
    for m in models:
        _workload(m)
    mac_points()
    sram_rows()


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(0.5)


def _init_worker(models, parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle (it stops the pool)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    warm(models)


def _serial(tasks):
    warm({t.point.model for t in tasks})
    for t in tasks:
        yield evaluate(t)


def _pool(tasks, jobs: int, stack: contextlib.ExitStack):
    """Start the pool now (so it forks before the store is opened) and return its result iterator."""
    models = sorted({t.point.model for t in tasks})
    chunk = max(1, min(16, len(tasks) // (jobs * 16)))
    pool = stack.enter_context(multiprocessing.get_context().Pool(jobs, _init_worker, (models, os.getpid())))
    return pool.imap_unordered(evaluate, tasks, chunksize=chunk)


def _dask_client(scheduler, stack: contextlib.ExitStack):
    """Connect now (before the store is created); a client we open is closed with the stack."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("executor: dask needs dask.distributed: pip install 'accelsim[dask]'") from None
    if isinstance(scheduler, Client):
        return scheduler
    if not scheduler:
        raise ConfigError("scheduler: executor dask needs a scheduler address (e.g. tcp://host:8786, started with "
                          "'dask scheduler' and 'dask worker ADDRESS' on machines with accelsim installed)")
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:   # ValueError: an unknown address scheme
        raise ConfigError(f"scheduler: cannot connect to {scheduler}: {exc}") from None
    stack.callback(client.close)
    return client


def _dask(tasks, client):
    from distributed import as_completed
    client.run(warm, sorted({t.point.model for t in tasks}))
    futures = client.map(evaluate, tasks, key=[f"accelsim-sweep-{t.config_hash}" for t in tasks])
    for fut in as_completed(futures):
        yield fut.result()
        fut.release()


def _remove_store(db_path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.unlink(db_path + suffix)


def run(tasks: list[Task], db_path: str, *, jobs: int = 1, executor: str = "process", scheduler=None,
        on_result=None) -> RunStats:
    """Evaluate the tasks the store at ``db_path`` lacks and store them. ``scheduler``: a Dask address
    or a ``distributed.Client``. ``on_result(done, total)`` is called after each stored row."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be an integer >= 1, got {jobs!r}")
    t0 = time.perf_counter()
    created = not os.path.exists(db_path)
    done = set()
    if not created:
        with Store(db_path) as store:
            done = store.hashes()
    pending = [t for t in tasks if t.config_hash not in done]
    log.info("%d points: %d already stored, %d to compute (%s, %d jobs)", len(tasks), len(tasks) - len(pending),
             len(pending), executor, jobs)
    infeasible, stored = 0, 0
    try:
        with contextlib.ExitStack() as stack:   # unwinds in reverse: store closed, then workers stopped
            if not pending:
                results = iter(())
            elif executor == "dask":
                results = _dask(pending, _dask_client(scheduler, stack))
                stack.callback(results.close)
            elif jobs == 1 or len(pending) == 1:
                results = _serial(pending)
                stack.callback(results.close)
            else:
                results = _pool(pending, min(jobs, len(pending)), stack)
            store = stack.enter_context(Store(db_path))
            for row in results:
                store.put(row)
                stored += 1
                infeasible += row["status"] != "ok"
                if on_result is not None:
                    on_result(stored, len(pending))
    except BaseException:
        if created and stored == 0:   # nothing to resume from: leave no empty store behind
            _remove_store(db_path)
        raise
    return RunStats(len(tasks), len(tasks) - len(pending), len(pending), infeasible, time.perf_counter() - t0)


def sweep(points: list[SweepPoint], base: ArchSpec, db_path: str, **kwargs) -> tuple[RunStats, list[dict]]:
    """make_tasks + run, then the stored rows of exactly these points, in point order."""
    tasks = make_tasks(points, base)
    stats = run(tasks, db_path, **kwargs)
    with Store(db_path) as store:
        by_hash = {r["config_hash"]: r for r in store.rows()}
    return stats, [by_hash[t.config_hash] for t in tasks]
