"""The array cache (csrc/array_cache.hpp, accelsim.kernels.array_cache): numpy's allocator inside the
``with`` block only, freed large blocks handed out again, zeroed for np.zeros, kept within the limit,
realloc and frees of arrays that outlive the block; the runtime runs under it, outputs unchanged."""
import numpy as np
import pytest

from accelsim import kernels
from accelsim.errors import ConfigError

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import get_handler_name

MIB = 1 << 20


@pytest.fixture(autouse=True)
def fresh_cache():
    kernels.clear_array_cache()
    limit = kernels.array_cache_stats()["limit_bytes"]
    yield
    kernels.set_array_cache_limit(limit)
    kernels.clear_array_cache()


def stats():
    return kernels.array_cache_stats()


def test_handler_only_inside_the_block():
    before = get_handler_name()
    with kernels.array_cache():
        assert get_handler_name() == "accelsim_array_cache"
        a = np.empty(2 * MIB, np.uint8)
        assert get_handler_name(a) == "accelsim_array_cache"
        with kernels.array_cache():     # nested: the outer one is back afterwards
            pass
        assert get_handler_name() == "accelsim_array_cache"
    assert get_handler_name() == before
    assert get_handler_name(np.empty(2 * MIB, np.uint8)) == before
    with pytest.raises(RuntimeError):
        with kernels.array_cache():
            raise RuntimeError("boom")
    assert get_handler_name() == before


def test_freed_block_is_handed_out_again():
    with kernels.array_cache():
        a = np.empty(3 * MIB, np.uint8)
        addr = a.ctypes.data
        s0 = stats()
        del a
        assert stats()["cached_blocks"] == s0["cached_blocks"] + 1
        b = np.empty(3 * MIB, np.uint8)
        assert b.ctypes.data == addr
        assert stats()["hits"] == s0["hits"] + 1
        c = np.empty(3 * MIB + 1, np.uint8)        # up to 5/4 larger fits a cached block: none is left
        assert c.ctypes.data != addr
        del b
        d = np.empty(3 * MIB - 4096, np.uint8)     # a smaller request takes the cached block (within 5/4)
        assert d.ctypes.data == addr
        d[:] = 1
        del c, d


def test_small_arrays_pass_through():
    with kernels.array_cache():
        s0 = stats()
        a = np.empty(MIB - 1, np.uint8)
        del a
        assert stats()["hits"] == s0["hits"] and stats()["misses"] == s0["misses"]
        assert stats()["cached_bytes"] == s0["cached_bytes"]


def test_zeros_from_a_reused_block_are_zero():
    with kernels.array_cache():
        a = np.full(5 * MIB, 7, np.uint8)
        del a
        h = stats()["hits"]
        z = np.zeros(5 * MIB, np.uint8)
        assert stats()["hits"] == h + 1
        assert not z.any()


def test_resize_keeps_the_data():
    with kernels.array_cache():
        a = np.arange(300_000, dtype=np.float64)            # 2.4 MB
        a.resize(600_000, refcheck=False)
        assert np.array_equal(a[:300_000], np.arange(300_000)) and not a[300_000:].any()
        a.resize(1000, refcheck=False)                      # below the cache's block size
        assert np.array_equal(a, np.arange(1000))
        b = np.arange(1000, dtype=np.float64)
        b.resize(400_000, refcheck=False)                   # small -> large
        assert np.array_equal(b[:1000], np.arange(1000))
        kernels.clear_array_cache()                         # (the comparisons' temporaries)
        del a, b
    assert stats()["cached_bytes"] == 400_000 * 8           # b's block, at its new size


def test_arrays_freed_outside_come_back():
    with kernels.array_cache():
        a = np.empty(2 * MIB, np.uint8)
    addr = a.ctypes.data
    del a                                                  # freed outside: still through its handler
    assert stats()["cached_blocks"] == 1
    with kernels.array_cache():
        assert np.empty(2 * MIB, np.uint8).ctypes.data == addr


def test_limit():
    kernels.set_array_cache_limit(4 * MIB)
    with kernels.array_cache():
        a, b = np.empty(3 * MIB, np.uint8), np.empty(2 * MIB, np.uint8)
        big = np.empty(5 * MIB, np.uint8)
        del big                                             # over the limit: freed
        assert stats()["cached_bytes"] == 0
        del a
        assert stats()["cached_bytes"] == 3 * MIB
        del b                                               # room made by dropping the larger block
        assert stats()["cached_bytes"] == 2 * MIB and stats()["cached_blocks"] == 1
    kernels.set_array_cache_limit(MIB)                      # shrinks what is cached now
    assert stats()["cached_bytes"] == 0
    kernels.set_array_cache_limit(0)
    with kernels.array_cache():
        x = np.empty(2 * MIB, np.uint8)
        del x
    assert stats()["cached_bytes"] == 0
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(ConfigError, match="limit_bytes"):
            kernels.set_array_cache_limit(bad)


def test_clear():
    with kernels.array_cache():
        x = np.empty(2 * MIB, np.uint8)
        del x
    assert stats()["cached_blocks"] == 1
    kernels.clear_array_cache()
    assert stats()["cached_blocks"] == 0 and stats()["cached_bytes"] == 0


def test_runtime_runs_under_the_cache():
    from accelsim.graph.reference import LoadedModel
    from accelsim.graph.shipped import shipped_graph
    from accelsim.runtime import quantize

    g = shipped_graph("dcgan-digits")
    lm = LoadedModel("dcgan-digits", g, "shipped")
    q = quantize(g, "w8a8", lm.example_inputs(8, seed=1))
    x = lm.example_inputs(256, seed=2)
    first = q.run(x)
    assert first.nbytes >= 2 * MIB
    owner = first
    while isinstance(owner.base, np.ndarray):               # (the output may be a view of its buffer)
        owner = owner.base
    assert get_handler_name(owner) == "accelsim_array_cache"
    for _ in range(3):
        assert q.run(x).tobytes() == first.tobytes()
    assert stats()["hits"] > 0
    assert q.run(x, impl="reference").tobytes() == first.tobytes()
