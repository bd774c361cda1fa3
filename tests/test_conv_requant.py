"""conv + requantization in one call (kernels.conv_requant, csrc/src/qconv.cpp qconv_requant_run; the
runtime's MAC nodes): equal bit for bit to the golden model's conv_int then requantize_integer on every
SIMD path, for every integer weight kind, transposed and direct convolutions with odd geometries,
per-channel and per-tensor parameters, none / relu / lookup-table activations, 8- and 16-bit
outputs, int32 and int64 accumulators, both the per-task epilogue and the scratch path. Tolerance zero."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelsim import kernels
from accelsim.formats import fixed, reference
from test_kernels_tiles import DCGAN_EDGE, INT, PATHS, geometries


def _requant_params(rng, cout, per_channel):
    n = cout if per_channel else 1
    m0 = rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32)
    m0[rng.random(n) < 0.1] = 0
    shift = rng.integers(-3, 24, n).astype(np.int32)
    return m0, shift


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("fmt", list(INT))
@settings(max_examples=20, deadline=None)
@given(geom=geometries(max_cin=140), seed=st.integers(0, 2**32 - 1))
@example(geom=DCGAN_EDGE, seed=0)
def test_conv_requant_equals_conv_then_requantize(fmt, path, geom, seed):
    spec, xs, ws = geom
    rng = np.random.default_rng(seed)
    xb, wk, wb = INT[fmt]
    signed = bool(rng.random() < 0.5)
    lo, hi = (-(1 << (xb - 1)), (1 << (xb - 1)) - 1) if signed else (0, (1 << xb) - 1)
    x = rng.integers(lo, hi + 1, xs).astype(np.int8 if signed else np.uint8)
    if rng.random() < 0.2:
        x[...] = rng.choice([lo, hi])                       # extreme codes
    wlo, whi = reference.weight_code_range(wk, wb)
    w = rng.integers(wlo, whi + 1, ws).astype(np.int8)
    if wk == "binary":
        w[w == 0] = 1
    cout = ws[1] * spec.groups if spec.transposed else ws[0]
    bias = None if rng.random() < 0.3 else rng.integers(-(1 << 20), 1 << 20, cout).astype(
        np.int64 if rng.random() < 0.3 else np.int32)
    m0, shift = _requant_params(rng, cout, per_channel=rng.random() < 0.8)
    out_bits = int(rng.choice([4, 8, 16]))
    of = fixed.IntFormat(out_bits, True)
    act = ["none", "relu", "lut"][int(rng.integers(3))]
    if act == "lut":
        act = rng.integers(of.qmin, of.qmax + 1, of.qmax - of.qmin + 1).astype(np.int32)
    zx = int(rng.choice([lo, hi, int(rng.integers(lo, hi + 1))]))
    conv = dict(x_bits=xb, x_signed=signed, x_zero_point=zx, w_kind=wk, w_bits=wb, bias=bias, spec=spec)
    rq = dict(zero_point=int(rng.integers(of.qmin, of.qmax + 1)), out_bits=out_bits, out_signed=True, act=act)
    want = reference.requantize_integer(reference.conv_int(x, w, **conv), m0, shift, **rq)
    with kernels.use_isa(path):
        got = kernels.conv_requant(x, w, m0=m0, shift=shift, **conv, **rq)
    assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()
    assert reference.conv_requant(x, w, m0=m0, shift=shift, **conv, **rq).tobytes() == want.tobytes()


def test_conv_requant_int64_accumulators_and_16_bit_activations():
    """16-bit activations with a long reduction: int64 accumulators (the scratch path)."""
    from accelsim.formats.conv import ConvSpec
    rng = np.random.default_rng(3)
    x = rng.integers(-32768, 32768, (1, 40, 5, 5)).astype(np.int16)
    w = rng.integers(-128, 128, (6, 40, 3, 3)).astype(np.int8)
    conv = dict(x_bits=16, x_signed=True, x_zero_point=-32768, w_kind="fixed", w_bits=8, spec=ConvSpec.make(padding=1))
    assert reference.conv_int(x, w, **conv).dtype == np.int64
    m0, shift = _requant_params(rng, 6, True)
    rq = dict(zero_point=0, out_bits=16, out_signed=True, act="relu")
    want = reference.requantize_integer(reference.conv_int(x, w, **conv), m0, shift, **rq)
    assert kernels.conv_requant(x, w, m0=m0, shift=shift, **conv, **rq).tobytes() == want.tobytes()


def test_conv_requant_refuses_bad_parameters():
    from accelsim.formats.conv import ConvSpec
    x = np.zeros((1, 4, 3, 3), np.int8)
    w = np.zeros((4, 2, 4, 4), np.int8)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    ok = dict(x_bits=8, x_signed=True, x_zero_point=0, spec=spec, zero_point=0, out_bits=8, out_signed=True)
    with pytest.raises(ValueError, match="m0 must have 1 or 2 entries"):
        kernels.conv_requant(x, w, m0=np.full(3, 1 << 30, np.int32), shift=np.zeros(3, np.int32), **ok)
    with pytest.raises(ValueError, match="shift must be in"):
        kernels.conv_requant(x, w, m0=np.full(2, 1 << 30, np.int32), shift=np.full(2, 70, np.int32), **ok)
    with pytest.raises(ValueError, match="zero_point"):
        kernels.conv_requant(x, w, m0=np.full(2, 1 << 30, np.int32), shift=np.zeros(2, np.int32),
                             **{**ok, "zero_point": 500})


def test_prepared_conv_requant_is_conv_requant():
    """kernels.ConvRequant (the runtime's per-node call, arguments checked once): the same bits as
    conv_requant and the golden model on several inputs in turn (the layout, the packed-weight cache
    and the task split carry nothing over from one call to the next), and the same errors, raised
    when it is made, naming the argument; an input it cannot take fails on the call."""
    from accelsim.errors import FormatError
    from accelsim.formats.conv import ConvSpec
    rng = np.random.default_rng(11)
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    w = rng.integers(-127, 128, (64, 32, 4, 4)).astype(np.int8)
    bias = rng.integers(-(1 << 16), 1 << 16, 32).astype(np.int32)
    m0, shift = _requant_params(rng, 32, True)
    kw = dict(x_bits=8, x_signed=True, x_zero_point=-3, bias=bias, spec=spec, m0=m0, shift=shift, zero_point=5,
              out_bits=8, out_signed=True, act="relu", w_key=kernels.frozen_key(w))
    call = kernels.ConvRequant(w, **kw)
    for n, hw in ((1, 8), (3, 5), (40, 4), (1, 8)):
        x = rng.integers(-128, 128, (n, 64, hw, hw)).astype(np.int8)
        want = reference.conv_requant(x, w, **{k: v for k, v in kw.items() if k != "w_key"})
        assert call(x).tobytes() == want.tobytes() == kernels.conv_requant(x, w, **kw).tobytes()
    with pytest.raises(FormatError, match="w_kind"):
        kernels.ConvRequant(w, **{**kw, "w_kind": "float"})
    with pytest.raises(FormatError, match="x_bits"):
        kernels.ConvRequant(w, **{**kw, "x_bits": 8.0})
    with pytest.raises(FormatError, match="w_key"):
        kernels.ConvRequant(w.copy(), **kw)
    with pytest.raises(ValueError, match="channels|cin|Cin"):
        call(np.zeros((1, 63, 4, 4), np.int8))
