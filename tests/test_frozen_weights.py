"""kernels.frozen_key: a key that stands for a weight array's bytes in the packed-weight cache, so
conv_int / conv_requant given it skip hashing the weights on every call (the runtime's plans use it).
The same bits with and without it on every ISA, and a key never serves other weights."""
import gc

import numpy as np
import pytest

from accelsim import kernels
from accelsim.errors import FormatError
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec

ARGS = dict(x_bits=8, x_signed=True, x_zero_point=3, w_bits=8)
RQ = dict(m0=1 << 30, shift=9, zero_point=-2, out_bits=8, out_signed=True, act="relu")
SPECS = [ConvSpec.make(stride=1, padding=1), ConvSpec.make(stride=2, padding=1, transposed=True)]


def _operands(rng, spec, cin=64, cout=32, hw=9):
    x = rng.integers(-128, 128, (2, cin, hw, hw)).astype(np.int8)
    shape = (cin, cout, 4, 4) if spec.transposed else (cout, cin, 3, 3)
    return x, rng.integers(-127, 128, shape).astype(np.int8)


@pytest.mark.parametrize("spec", SPECS, ids=["conv2d", "transposed"])
def test_same_bits_with_and_without_key(isa, spec):
    rng = np.random.default_rng(1)
    x, w = _operands(rng, spec)
    ref = reference.conv_int(x, w, spec=spec, **ARGS)
    ref_rq = reference.conv_requant(x, w, spec=spec, **ARGS, **RQ)
    key = kernels.frozen_key(w)
    with kernels.use_isa(isa):
        for _ in range(2):  # the second call finds the packing by key
            np.testing.assert_array_equal(kernels.conv_int(x, w, spec=spec, **ARGS, w_key=key), ref)
            np.testing.assert_array_equal(kernels.conv_requant(x, w, spec=spec, **ARGS, **RQ, w_key=key), ref_rq)
            np.testing.assert_array_equal(kernels.conv_requant(x, w, spec=spec, **ARGS, **RQ), ref_rq)


def test_frozen_weights_are_read_only_and_keep_their_key():
    w = np.zeros((8, 8, 3, 3), np.int8)
    key = kernels.frozen_key(w)
    assert kernels.frozen_key(w) == key
    assert not w.flags.writeable
    with pytest.raises(ValueError):
        w[0, 0, 0, 0] = 1
    other = np.zeros((8, 8, 3, 3), np.int8)
    assert kernels.frozen_key(other) != key


def test_bad_keys_are_refused():
    rng = np.random.default_rng(2)
    spec = SPECS[0]
    x, w = _operands(rng, spec)
    with pytest.raises(FormatError, match="owns its data"):
        kernels.frozen_key(w[:, :32])
    with pytest.raises(FormatError, match="owns its data"):
        kernels.frozen_key([1, 2])
    other = w.copy()
    key_other = kernels.frozen_key(other)
    for bad in (12345, key_other, True, -1):   # made up, another array's, not an int
        with pytest.raises(FormatError, match="w_key"):
            kernels.conv_int(x, w, spec=spec, **ARGS, w_key=bad)


def test_a_new_array_never_gets_a_dead_arrays_packing(isa):
    """Arrays freed and made again (often at the same address, with the same shape) get new keys: each
    call uses its own weights."""
    rng = np.random.default_rng(3)
    spec = SPECS[0]
    x, _ = _operands(rng, spec)
    with kernels.use_isa(isa):
        for _ in range(6):
            w = rng.integers(-127, 128, (32, 64, 3, 3)).astype(np.int8)
            got = kernels.conv_int(x, w, spec=spec, **ARGS, w_key=kernels.frozen_key(w))
            np.testing.assert_array_equal(got, reference.conv_int(x, w, spec=spec, **ARGS))
            del w
            gc.collect()
