"""Float linear algebra whose result does not depend on the thread count.

OpenBLAS (numpy's BLAS) picks a different code path for some float products when it runs on more
than one thread: with its Haswell and Zen kernels (AMD Zen 5 among them), the same ``sgemm`` gives
results that differ in the last bit between 1 and 2 threads, and a digit-FID or a PSNR computed from
them differs in the 7th digit (issue 13, item 8). Every float BLAS/LAPACK call whose result reaches a
reported figure (the float runtime's convolutions, calibration, the quality metrics, the low-rank SVD,
the crossbar's analog dot products) therefore runs inside :func:`one_thread`, which limits the BLAS
libraries loaded in this process to a single thread for its duration and restores the previous limit
afterwards. One thread of one BLAS kernel sums in one fixed order, so the same command gives the same
bits for any ``ACCELSIM_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``.

Scope of the promise: the same machine and the same numpy build. Different CPUs make OpenBLAS choose
different kernels (its ``architecture``), and those legitimately round differently; integer results
(every quantized format, the simulator) are identical on every machine.

The limit is process-wide (it is OpenBLAS's own setting), so nested and concurrent uses from several
Python threads share one reference count: the first entry sets one thread, the last exit restores.
A BLAS loaded while the limit is held (the first import of a library inside the body) is not limited
until the next outermost entry; numpy's is always loaded before the limit is set.
:func:`threadpoolctl.ThreadpoolController` does the library discovery (it knows OpenBLAS, MKL and
BLIS under every name numpy and scipy ship them with).
"""
from __future__ import annotations

import functools
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = None


def _blas_controller():
    """The BLAS libraries loaded now. Discovered afresh at each outermost entry (0.15 ms): a library
    loaded later (scipy's, torch's) is limited too, and numpy is imported first, so its OpenBLAS is
    never missed because the first float product came after the limit was set."""
    import numpy  # noqa: F401  (loads numpy's BLAS before discovery)
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas")


@contextmanager
def one_thread():
    """Run the body with every loaded BLAS limited to one thread (re-entrant, thread-safe)."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = _blas_controller().limit(limits=1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _restore.restore_original_limits()
                _restore = None


def deterministic(fn):
    """Decorator: ``fn`` runs inside :func:`one_thread`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_thread():
            return fn(*args, **kwargs)
    return wrapper


def blas_threads() -> list[int]:
    """The current thread limit of every loaded BLAS (for tests and diagnostics)."""
    return [lib.num_threads for lib in _blas_controller().lib_controllers]
