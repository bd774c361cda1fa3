"""Running many validation cases: chunks, formats interleaved, worker processes, a time bound, progress.

The unit of work is a *chunk* of ``CHUNK`` cases of one format, with its own random stream
``default_rng([seed, format index in FORMATS, chunk index])``. The case set therefore depends only
on the seed and ``cases`` (not on ``jobs``, nor on which formats are selected), and results are
merged in chunk order, so the summary is identical with one process or several. Chunks of all
formats are interleaved (chunk 0 of every format, then chunk 1, ...), so a run stopped by
``minutes`` has checked every format about equally. A stopped run reports the cases it completed
(``complete: false``).
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from accelsim import kernels
from accelsim.errors import ConfigError, FormatError
from accelsim.validate.cases import ALL_FORMATS, FORMATS, LOWERINGS, SPACES, check_case

log = logging.getLogger(__name__)
CHUNK = 25
MAX_FAILURES = 5   # descriptions kept per format


@dataclass
class FormatResult:
    cases: int = 0
    mismatches: int = 0
    max_abs_diff: int = 0
    mismatches_by_isa: dict = field(default_factory=dict)
    golden_lowering_mismatches: int = 0
    failures: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"cases": self.cases, "mismatches": self.mismatches, "max_abs_diff": self.max_abs_diff,
                "mismatches_by_isa": dict(self.mismatches_by_isa),
                "golden_lowering_mismatches": self.golden_lowering_mismatches, "failures": list(self.failures)}


def _run_chunk(task) -> tuple:
    """Worker: (format, chunk index, cases, mismatch tallies, failure descriptions) or None past the deadline."""
    fmt, k, n, seed, isas, lowerings, deadline, space = task
    if deadline is not None and time.time() > deadline:
        return None
    rng = np.random.default_rng([seed, ALL_FORMATS.index(fmt), k] + ([1] if space == "wide" else []))
    mism, worst, lower_bad, by_isa, fails = 0, 0, 0, {i: 0 for i in isas}, []
    for _ in range(n):
        r = check_case(fmt, rng, isas, lowerings, space)
        if r.worst != 0 or r.lowering_mismatch:
            mism += 1
            fails.append(r.desc)
        worst = max(worst, r.worst)
        lower_bad += r.lowering_mismatch
        for isa in r.bad_isas:
            by_isa[isa] += 1
    return fmt, k, n, mism, worst, lower_bad, by_isa, fails[:MAX_FAILURES]


def _worker_init(threads: int) -> None:
    kernels.set_num_threads(threads)


def _tasks(cases, seed, formats, isas, lowerings, deadline, stopped: list, space: str = "default"):
    """Chunks in order, formats interleaved; none after the deadline (the pool's feeder thread pulls
    them only as fast as the workers' pipe drains, so at most a pipe-full are queued, and those return
    at once)."""
    chunks = math.ceil(cases / CHUNK)
    for k in range(chunks):
        n = min(CHUNK, cases - k * CHUNK)
        for fmt in formats:
            if deadline is not None and time.time() > deadline:
                stopped.append(True)
                return
            yield fmt, k, n, seed, isas, lowerings, deadline, space


def validate(cases: int, seed: int = 0, formats=None, isas: list[str] | None = None, progress=None,
             minutes: float | None = None, jobs: int = 1, lowerings=LOWERINGS, space: str = "default") -> dict:
    """Run ``cases`` random cases per format (fewer if ``minutes`` runs out) on ``jobs`` processes.
    ``progress(done_cases, total_cases, results)`` is called after every chunk. Returns the JSON-ready
    summary ``{"formats": {name: FormatResult.to_json()}, "isas", "lowerings", "seed", "cases_requested",
    "complete"}`` (no timings: the same arguments give the same summary)."""
    if cases < 1:
        raise ConfigError(f"cases must be >= 1, got {cases}")
    if space not in SPACES:
        raise ConfigError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if formats is None:   # every width in the wide space
        formats = ALL_FORMATS if space == "wide" else FORMATS
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown:
        raise FormatError(f"formats: unknown format(s) {unknown}; choose from {', '.join(ALL_FORMATS)}")
    if minutes is not None and not minutes > 0:
        raise ConfigError(f"minutes must be > 0, got {minutes}")
    if jobs < 1:
        raise ConfigError(f"jobs must be >= 1, got {jobs}")
    bad = [lw for lw in lowerings if lw not in LOWERINGS]
    if bad or "scatter" not in lowerings:
        raise ConfigError(f"lowerings must include scatter (the reference) and be among {', '.join(LOWERINGS)}")
    isas = list(isas or kernels.available_isas())
    deadline = None if minutes is None else time.time() + 60.0 * minutes
    results = {f: FormatResult(mismatches_by_isa={i: 0 for i in isas}) for f in formats}
    total, done = cases * len(formats), 0
    stopped: list = []
    tasks = _tasks(cases, seed, list(formats), isas, tuple(lowerings), deadline, stopped, space)
    pool = None
    if jobs == 1:
        outputs = map(_run_chunk, tasks)
    else:
        import multiprocessing as mp
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        threads = max(1, kernels.num_threads() // jobs)
        pool = ctx.Pool(jobs, initializer=_worker_init, initargs=(threads,))
        outputs = pool.imap(_run_chunk, tasks)   # in task order: the merge is deterministic
    complete = True
    try:
        for out in outputs:
            if out is None:
                complete = False
                continue
            fmt, _, n, mism, worst, lower_bad, by_isa, fails = out
            r = results[fmt]
            r.cases += n
            r.mismatches += mism
            r.max_abs_diff = max(r.max_abs_diff, worst)
            r.golden_lowering_mismatches += lower_bad
            for isa, c in by_isa.items():
                r.mismatches_by_isa[isa] += c
            r.failures.extend(fails[:MAX_FAILURES - len(r.failures)])
            done += n
            if progress:
                progress(done, total, results)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    complete = complete and not stopped
    log.info("validated %d of %d cases", done, total)
    return {"formats": {k: v.to_json() for k, v in results.items()}, "isas": isas, "lowerings": list(lowerings),
            "seed": seed, "cases_requested": cases, "complete": complete,
            **({"space": space} if space != "default" else {})}


def default_jobs() -> int:
    """Worker processes for ``jobs="auto"`` (the CLI's ``--jobs auto``): the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # pragma: no cover - not Linux
        return os.cpu_count() or 1
