"""The kernel thread pool pins each worker to a CPU of its own (csrc/src/pool.cpp worker_cpu): the
first of the process's CPUs is left to the calling thread, ACCELSIM_PIN_THREADS=0 turns pinning off,
workers past the CPUs (and every worker of a one-CPU process) stay unpinned, and results do not
depend on it."""
import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, os, numpy as np
from accelsim import kernels
from accelsim.formats.conv import ConvSpec
before = set(os.listdir("/proc/self/task"))
kernels.set_num_threads(int(os.environ["N_THREADS"]))
rng = np.random.default_rng(0)
x = rng.integers(-128, 128, (4, 64, 9, 9)).astype(np.int8)
w = rng.integers(-127, 128, (64, 32, 4, 4)).astype(np.int8)
y = kernels.conv_int(x, w, x_bits=8, x_signed=True, x_zero_point=0, spec=ConvSpec.make(stride=2, padding=1, transposed=True))
import time
workers = sorted(set(os.listdir("/proc/self/task")) - before)
for _ in range(200):    # a worker pins itself as it starts, maybe after the job (the caller ran it)
    if any(len(os.sched_getaffinity(int(t))) == 1 for t in workers):
        break
    time.sleep(0.01)
print(json.dumps({"affinity": [sorted(os.sched_getaffinity(int(t))) for t in workers],
                  "main": sorted(os.sched_getaffinity(0)), "sum": int(y.astype(np.int64).sum())}))
"""


def probe(threads: int, pin: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ACCELSIM_PIN_THREADS"}
    env["N_THREADS"] = str(threads)
    if pin is not None:
        env["ACCELSIM_PIN_THREADS"] = pin
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                    reason="pinning needs Linux and at least 2 CPUs")
def test_workers_pinned_one_cpu_each():
    cpus = sorted(os.sched_getaffinity(0))
    pinned = probe(2, None)
    assert pinned["main"] == cpus                     # the calling thread is left as it was
    assert [cpus[1]] in pinned["affinity"]            # worker 0 on the second CPU
    assert all(len(a) == 1 or a == cpus for a in pinned["affinity"])  # (other libraries' threads: not pinned)
    free = probe(2, "0")
    assert all(a == cpus for a in free["affinity"])   # ACCELSIM_PIN_THREADS=0: nothing pinned
    over = probe(len(cpus) + 1, None)                 # more workers than CPUs: the last one unpinned
    assert sorted(map(tuple, over["affinity"])).count(tuple(cpus)) >= 1
    assert [cpus[1]] in over["affinity"]
    assert pinned["sum"] == free["sum"] == over["sum"]
