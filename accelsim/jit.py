"""Numba kernels compiled on first use (and cached on disk), so that importing accelsim never
imports numba. ``@lazy_kernel`` turns a builder ``build(numba) -> compiled function`` into a
zero-argument getter that builds once per process."""
from __future__ import annotations

import functools


def lazy_kernel(build):
    @functools.cache
    def get():
        import numba
        return build(numba)
    get.__doc__ = build.__doc__
    return get
