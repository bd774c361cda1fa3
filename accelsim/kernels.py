"""The C++ kernels (``accelsim._kernels``, pybind11), with the same signatures as the golden model
in ``accelsim.formats.reference``. ``implementation("cpp" | "reference")`` returns either.

The SIMD path is chosen at run time (``active_isa()``); ``ACCELSIM_ISA=scalar|avx2|avx512|amx`` or
``use_isa(...)`` forces one; ``ACCELSIM_CONVT=auto|phase|col2im|implicit`` or ``use_convt_path(...)`` the
algorithm of int8 transposed convolutions. ``ACCELSIM_NUM_THREADS`` or ``set_num_threads`` sets the threads.
"""
from __future__ import annotations

import contextlib
import itertools
import types
import weakref

import numpy as np

from accelsim import _kernels as _k
from accelsim.errors import ConfigError, FormatError, ModelError
from accelsim.formats.conv import ConvSpec
from accelsim.formats.vector import residual_operand

ISAS = ("scalar", "avx2", "avx512", "amx")
_W_KIND = {"fixed": 0, "ternary": 1, "binary": 2}


def _geom(spec: ConvSpec) -> dict:
    if not isinstance(spec, ConvSpec):
        raise ModelError(f"spec must be an accelsim.formats.conv.ConvSpec, got {type(spec).__name__}")
    spec.validate()   # a ConvSpec built without make() may hold anything: ValueError naming the field
    return dict(stride=spec.stride, padding=spec.padding, output_padding=spec.output_padding,
                dilation=spec.dilation, groups=spec.groups, transposed=spec.transposed)


def _int(value, name: str) -> int:
    """A scalar integer argument for the C++ side (int32): ValueError naming it otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise FormatError(f"{name} must be an integer, got {value!r}")
    if not -(1 << 31) <= int(value) < 1 << 31:
        raise FormatError(f"{name} is out of range: {value}")
    return int(value)


def conv_int(x, w, *, x_bits: int, x_signed: bool, x_zero_point: int, w_kind: str = "fixed", w_bits: int = 8,
             bias=None, spec: ConvSpec, w_key: int | None = None) -> np.ndarray:
    """Exact accumulators ``bias + sum (x - z_x) * w``: int32 when provably safe, else int64.
    ``w_key``: ``frozen_key(w)``, so the packed-weight cache need not hash w's bytes on every call."""
    if not isinstance(w_kind, str) or w_kind not in _W_KIND:
        raise FormatError(f"w_kind must be one of {tuple(_W_KIND)}, got {w_kind!r}")
    return _k.qconv(x, _int(x_bits, "x_bits"), bool(x_signed), _int(x_zero_point, "x_zero_point"), w,
                    _W_KIND[w_kind], _int(w_bits, "w_bits"), bias, **_geom(spec), w_key=_w_key(w, w_key))


def conv_requant(x, w, *, x_bits: int, x_signed: bool, x_zero_point: int, w_kind: str = "fixed", w_bits: int = 8,
                 bias=None, spec: ConvSpec, m0, shift, zero_point: int, out_bits: int, out_signed: bool,
                 act="none", w_key: int | None = None) -> np.ndarray:
    """``requantize_integer(conv_int(...), m0, shift, ...)`` in one call (the same bits; golden:
    ``accelsim.formats.reference.conv_requant``): no accumulator tensor comes back to Python.
    ``w_key``: as conv_int's."""
    return ConvRequant(w, x_bits=x_bits, x_signed=x_signed, x_zero_point=x_zero_point, w_kind=w_kind,
                       w_bits=w_bits, bias=bias, spec=spec, m0=m0, shift=shift, zero_point=zero_point,
                       out_bits=out_bits, out_signed=out_signed, act=act, w_key=w_key)(x)


class ConvRequant:
    """``conv_requant`` with every argument but ``x`` checked and converted once, for a caller that
    runs the same layer many times (the runtime's plans): ``ConvRequant(w, **kw)(x)`` is
    ``conv_requant(x, w, **kw)``, the same bits, without the per-call checks of the arguments it holds
    (about 7.5 of 15.6 us a call of a 1x1 conv, Zen 4). ``w`` and ``bias`` are held, not copied: with
    ``w_key`` the weights are read-only (``frozen_key``); without it the kernel checks their bytes
    against its packed copy on every call, as conv_requant does."""
    __slots__ = ("_args", "_kw")

    def __init__(self, w, *, x_bits: int, x_signed: bool, x_zero_point: int, w_kind: str = "fixed",
                 w_bits: int = 8, bias=None, spec: ConvSpec, m0, shift, zero_point: int, out_bits: int,
                 out_signed: bool, act="none", w_key: int | None = None):
        if not isinstance(w_kind, str) or w_kind not in _W_KIND:
            raise FormatError(f"w_kind must be one of {tuple(_W_KIND)}, got {w_kind!r}")
        code, lut = _act(act)
        self._args = (_int(x_bits, "x_bits"), bool(x_signed), _int(x_zero_point, "x_zero_point"), w,
                      _W_KIND[w_kind], _int(w_bits, "w_bits"), bias)
        self._kw = dict(**_geom(spec), m0=_i32(m0, "m0"), shift=_i32(shift, "shift"),
                        zero_point=_int(zero_point, "zero_point"), out_bits=_int(out_bits, "out_bits"),
                        out_signed=bool(out_signed), act=code, lut=lut, w_key=_w_key(w, w_key))

    def __call__(self, x) -> np.ndarray:
        return _k.qconv_requant(x, *self._args, **self._kw)


_FROZEN: dict[int, tuple[weakref.ref, int]] = {}  # id(array) -> (the array, its key)
_FROZEN_KEYS = itertools.count()


def frozen_key(w) -> int:
    """A key that stands for the bytes of weight array ``w`` in the packed-weight cache: conv_int and
    conv_requant given ``w_key=frozen_key(w)`` skip hashing w on every call (a pass over every weight
    byte, a sixth to a fifth of a large-weight layer at batch 1). ``w`` must own its data; it is made
    read-only, so an in-place write raises. The same array object gets the same key while it lives,
    and no other array ever gets it (keys are never reused in a process)."""
    entry = _FROZEN.get(id(w))
    if entry is not None and entry[0]() is w:
        return entry[1]
    if not isinstance(w, np.ndarray) or not w.flags.owndata:
        raise FormatError("frozen_key needs a numpy array that owns its data (not a view), got "
                          f"{'a view' if isinstance(w, np.ndarray) else type(w).__name__}")
    w.flags.writeable = False
    key, i = next(_FROZEN_KEYS), id(w)
    _FROZEN[i] = (weakref.ref(w, lambda _ref, i=i: _FROZEN.pop(i, None)), key)
    return key


def _w_key(w, key) -> int:
    """The C++ side's w_key: -1 for none; else it must be frozen_key(w)'s (a stale or made-up key
    would let the cache serve other weights' packing)."""
    if key is None:
        return -1
    entry = _FROZEN.get(id(w))
    if isinstance(key, (bool, np.bool_)) or entry is None or entry[0]() is not w or entry[1] != key:
        raise FormatError(f"w_key must be frozen_key(w) of this very array, got {key!r}")
    return entry[1]


def conv_xnor(x, w, *, bias=None, spec: ConvSpec) -> np.ndarray:
    """Binary x binary (int8 -1/+1): ``bias + sum over valid taps of a*w`` via XNOR-popcount (int32)."""
    return _k.bconv(x, w, bias, **_geom(spec))


def conv_xnor_f64(x, w, *, bias=None, scale, spec: ConvSpec, relu: bool = False,
                  w_key: int | None = None) -> np.ndarray:
    """The whole w1a1 MAC in one call (golden: ``accelsim.formats.reference.conv_xnor_f64``): signs of
    float64 ``x`` (+1 where ``x >= 0``: NaN gives -1, -0.0 gives +1), ``conv_xnor`` with int8 -1/+1
    weights ``w`` and int32 ``bias``, then ``acc * scale[co]`` in float64 (``scale``: float64, Cout
    entries), then ``np.maximum(y, 0.0)`` when ``relu`` (which needs every scale positive and finite).
    ``w_key``: ``frozen_key(w)``, so the packed-weight cache need not hash w on every call."""
    return _k.bconv_f64(x, w, bias, scale, **_geom(spec), relu=bool(relu), w_key=_w_key(w, w_key))


def conv_flex(xm, x_exp: int, wm, w_exp: int, *, bias=None, spec: ConvSpec, out_exp: int | None = None):
    """flex16+5: ``(mantissas int16, out_exp, overflows, acc_max_abs)``; ``out_exp=None`` is dynamic."""
    m, e, over, amax = _k.flexconv(xm, _int(x_exp, "x_exp"), wm, _int(w_exp, "w_exp"), bias, **_geom(spec),
                                   dynamic=out_exp is None, out_exp=0 if out_exp is None else _int(out_exp, "out_exp"))
    return m, int(e), int(over), int(amax)


def _act(act):
    if isinstance(act, str):
        if act not in ("none", "relu"):
            raise FormatError(f"act must be 'none', 'relu' or a lookup table, got {act!r}")
        return (0 if act == "none" else 1), None
    lut = np.asarray(act)
    if lut.ndim != 1:
        raise FormatError(f"act lookup table must be 1-D, got shape {lut.shape}")
    return 2, _i32(lut, "act lookup table")   # no silent float truncation or int64 wrap-around


def _i32(v, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v))
    if a.dtype == np.int32:         # in range by its type (the runtime's per-channel parameters)
        return np.ascontiguousarray(a)
    if a.dtype.kind not in "iu":
        raise FormatError(f"{name} must hold integers, got dtype {a.dtype}")
    if a.size and (a.min() < -(1 << 31) or a.max() >= 1 << 31):
        raise FormatError(f"{name} is out of the int32 range")
    return np.ascontiguousarray(a, dtype=np.int32)


def requantize_integer(acc, m0, shift, *, zero_point: int, out_bits: int, out_signed: bool,
                       act="none") -> np.ndarray:
    """gemmlowp-style integer requantization (formula in ``accelsim.formats.requant``)."""
    code, lut = _act(act)
    return _k.requantize(acc, 0, _i32(m0, "m0"), _i32(shift, "shift"), None, None, _int(zero_point, "zero_point"),
                         _int(out_bits, "out_bits"), bool(out_signed), code, lut)


def requantize_torch(acc, bias_f32, mult_f32, *, zero_point: int, out_bits: int, out_signed: bool,
                     act="none", bias_mul_f32=1.0) -> np.ndarray:
    """fbgemm float32 requantization (formula in ``accelsim.formats.requant``)."""
    code, lut = _act(act)
    b = np.ascontiguousarray(np.atleast_1d(np.asarray(bias_f32, dtype=np.float32)))
    k = np.ascontiguousarray(np.atleast_1d(np.asarray(bias_mul_f32, dtype=np.float32)))
    m = np.ascontiguousarray(np.atleast_1d(np.asarray(mult_f32, dtype=np.float32)))
    return _k.requantize(acc, 1, None, None, b, m, _int(zero_point, "zero_point"), _int(out_bits, "out_bits"),
                         bool(out_signed), code, lut, k)


def requantize_qnnpack(acc, mult_f32, *, zero_point: int, out_bits: int, out_signed: bool,
                       act="none") -> np.ndarray:
    """QNNPACK float32 requantization: the torch arithmetic with no float bias."""
    return requantize_torch(acc, 0.0, mult_f32, zero_point=zero_point, out_bits=out_bits, out_signed=out_signed,
                            act=act)


def pack_signs(codes) -> np.ndarray:
    """Pack int8 {-1,+1} along the last axis into uint64 words (bit 1 = +1)."""
    return _k.pack_signs(np.ascontiguousarray(codes))


# ---- vector-unit ops on activation codes (golden model: accelsim.formats.vector) ------------------
def instance_norm_codes(x, *, x_bits: int, x_signed: bool, scale: float, zero_point: int, weight=None,
                        bias=None, eps: float, out=None, relu: bool = False) -> np.ndarray:
    """Instance norm of ``scale * (x - zero_point)`` from integer statistics: float64, or codes when
    ``out=(out_scale, out_zero_point, out_bits, out_signed)``; ``relu`` clamps the codes at the zero point."""
    x = np.ascontiguousarray(x)
    w = None if weight is None else np.ascontiguousarray(weight, np.float64)
    b = None if bias is None else np.ascontiguousarray(bias, np.float64)
    if out is None:
        if relu:
            raise FormatError("instance norm: relu is fused only into codes (out=...)")
        return _k.instance_norm_codes(x, _int(x_bits, "x_bits"), bool(x_signed), float(scale),
                                      _int(zero_point, "zero_point"), w, b, float(eps), False, 1.0, 0, 8, True,
                                      False)
    o_scale, o_zp, o_bits, o_signed = out
    return _k.instance_norm_codes(x, _int(x_bits, "x_bits"), bool(x_signed), float(scale),
                                  _int(zero_point, "zero_point"), w, b, float(eps), True, float(o_scale),
                                  _int(o_zp, "out_zero_point"), _int(o_bits, "out_bits"), bool(o_signed), bool(relu))


def instance_norm_add(x, residual, *, x_bits: int, x_signed: bool, scale: float, zero_point: int, weight=None,
                      bias=None, eps: float, out=None, want_float: bool = False, into_residual: bool = False):
    """``instance_norm_codes(x) + residual`` in one pass (golden: ``accelsim.formats.vector``): float64,
    or ``(float64 or None, codes)`` when ``out=(out_scale, out_zero_point, out_bits, out_signed)``.
    ``into_residual``: the float64 sum is written into ``residual`` (C-contiguous, writeable), which
    is returned as it, instead of into a new array; the caller gives the residual up: after a refusal
    (NaN or inf in the sum) its contents are unspecified (the golden model leaves it untouched)."""
    x = np.ascontiguousarray(x)
    r = np.ascontiguousarray(residual_operand(residual, x.shape, into_residual))
    w = None if weight is None else np.ascontiguousarray(weight, np.float64)
    b = None if bias is None else np.ascontiguousarray(bias, np.float64)
    base = (x, _int(x_bits, "x_bits"), bool(x_signed), float(scale), _int(zero_point, "zero_point"), w, b, float(eps))
    if out is None:
        return _k.instance_norm_codes(*base, False, 1.0, 0, 8, True, False, r, False, bool(into_residual))
    o_scale, o_zp, o_bits, o_signed = out
    res = _k.instance_norm_codes(*base, True, float(o_scale), _int(o_zp, "out_zero_point"), _int(o_bits, "out_bits"),
                                 bool(o_signed), False, r, bool(want_float), bool(into_residual and want_float))
    return res if want_float else (None, res)


_PAD_MODES = {"zeros": 0, "reflect": 1, "replicate": 2}


def pad_codes(x, pads, mode: str, zero_point: int) -> np.ndarray:
    """``pad`` (top, bottom, left, right) of codes (N, C, H, W), constant = the zero point (golden:
    ``accelsim.formats.vector.pad_codes``)."""
    if mode not in _PAD_MODES:
        raise FormatError(f"pad mode must be one of {tuple(_PAD_MODES)}, got {mode!r}")
    t, b, l, r = (_int(v, "pad") for v in pads)
    return _k.pad_codes(np.ascontiguousarray(x), t, b, l, r, _PAD_MODES[mode], _int(zero_point, "zero_point"))


def pixel_shuffle_codes(x, factor: int) -> np.ndarray:
    """torch's ``pixel_shuffle`` of (N, C r^2, H, W) codes (any 1, 2, 4 or 8-byte dtype) into (N, C, H r,
    W r), a pure move (golden: ``accelsim.formats.vector.pixel_shuffle_codes``)."""
    x = np.ascontiguousarray(x)
    if x.ndim != 4:
        raise FormatError(f"pixel shuffle needs a rank-4 x (N, C, H, W), got shape {x.shape}")
    return _k.pixel_shuffle_codes(x, _int(factor, "factor"))


def lut_codes(x, table) -> np.ndarray:
    """``table[x - min]`` per element: one table (T,) or one per channel (C, T) of axis 1, T = every
    value of x's dtype (golden: ``accelsim.formats.vector.lut_codes``)."""
    x = np.ascontiguousarray(x)
    table = np.ascontiguousarray(table)
    if table.ndim == 1:                      # the same lookups on the flat codes (any rank)
        return _k.lut_codes(x.reshape(-1), table).reshape(x.shape)
    return _k.lut_codes(x.reshape(*x.shape[:2], -1) if x.ndim >= 2 else x, table).reshape(x.shape)


def quantize(x, scale: float, zero_point: int, *, bits: int, signed: bool = True) -> np.ndarray:
    """``fixed.quantize`` with a scalar scale and zero point (ValueError on NaN or inf)."""
    return _k.quantize_codes(np.ascontiguousarray(x, np.float64), float(scale), _int(zero_point, "zero_point"),
                             _int(bits, "bits"), bool(signed))


def dequantize(codes, scale: float, zero_point: int) -> np.ndarray:
    """``fixed.dequantize`` with a scalar scale and zero point, in float64."""
    return _k.dequantize_codes(np.ascontiguousarray(codes), float(scale), _int(zero_point, "zero_point"))


def dequantize_add(codes, scale: float, zero_point: int, residual, *, out=None, want_float: bool = False,
                   into_residual: bool = False):
    """``residual + dequantize(codes)`` in one pass (golden: ``accelsim.formats.vector``): float64, or
    ``(float64 or None, codes)`` when ``out=(out_scale, out_zero_point, out_bits, out_signed)``.
    ``into_residual``: the float64 sum is written into ``residual`` (C-contiguous, writeable), which
    is returned as it, instead of into a new array; the caller gives the residual up: after a refusal
    (NaN or inf in the sum) its contents are unspecified (the golden model leaves it untouched)."""
    q = np.ascontiguousarray(codes)
    r = np.ascontiguousarray(residual_operand(residual, q.shape, into_residual))
    base = (q, float(scale), _int(zero_point, "zero_point"), r)
    if out is None:
        return _k.dequantize_add(*base, False, 1.0, 0, 8, True, False, bool(into_residual))
    o_scale, o_zp, o_bits, o_signed = out
    res = _k.dequantize_add(*base, True, float(o_scale), _int(o_zp, "out_zero_point"), _int(o_bits, "out_bits"),
                            bool(o_signed), bool(want_float), bool(into_residual and want_float))
    return res if want_float else (None, res)


# ---- peak probes (benchmarks) --------------------------------------------------------------------
def peak_probe_names() -> list[str]:
    """Every peak probe the build knows (``peak_probe`` refuses those this CPU cannot run)."""
    return list(_k.peak_probe_names())


def peak_probe(name: str, iters: int = 10_000_000) -> float:
    """Multiply-accumulates per second that instruction ``name`` sustains on all kernel threads at
    once (register-only loops; csrc/src/peak_probe.cpp states the MACs each instruction counts): the
    best of three runs."""
    if name not in peak_probe_names():
        raise ConfigError(f"peak probe must be one of {', '.join(peak_probe_names())}, got {name!r}")
    return max(float(_k.peak_probe(name, _int(iters, "iters"))) for _ in range(3))


# ---- memory of large arrays ------------------------------------------------------------------------
@contextlib.contextmanager
def array_cache():
    """numpy arrays made inside (by the kernels and by numpy itself) take memory of 1 MiB or more from
    accelsim's cache of freed blocks (csrc/array_cache.hpp), and give it back there when they die,
    wherever that is: a loop making the same large arrays run after run does not fault in fresh pages
    for each (glibc unmaps a freed block over its mmap threshold, at most 32 MiB). The cache keeps at
    most ``set_array_cache_limit`` bytes (default 1 GiB) of freed blocks; ``clear_array_cache`` frees
    them. numpy's allocator is a context variable: this sets it for the ``with`` block only."""
    old = _k.swap_data_handler(_k.array_cache_handler())
    try:
        yield
    finally:
        _k.swap_data_handler(old)


def array_cache_stats() -> dict:
    """hits, misses (large requests served from the cache, or not), cached_bytes, cached_blocks (freed
    blocks kept now), limit_bytes, min_block_bytes."""
    return dict(_k.array_cache_stats())


def clear_array_cache() -> None:
    """Frees every cached block (arrays still alive are untouched)."""
    _k.array_cache_clear()


def set_array_cache_limit(limit_bytes: int) -> None:
    """At most this many bytes of freed blocks are kept (0: none; larger blocks cached now are freed)."""
    if isinstance(limit_bytes, (bool, np.bool_)) or not isinstance(limit_bytes, (int, np.integer)) or limit_bytes < 0:
        raise ConfigError(f"limit_bytes must be an integer >= 0, got {limit_bytes!r}")
    _k.set_array_cache_limit(int(limit_bytes))


# ---- run-time configuration ----------------------------------------------------------------------
def active_isa() -> str:
    return _k.active_isa()


def available_isas() -> list[str]:
    return [i for i in ISAS if _k.isa_supported(i)]


def set_isa(name: str) -> None:
    _k.set_isa(name)


@contextlib.contextmanager
def _temporarily(get, set_, value):
    """A run-time switch set to ``value`` inside the block, restored after it."""
    prev = get()
    set_(value)
    try:
        yield
    finally:
        set_(prev)


def use_isa(name: str):
    return _temporarily(active_isa, set_isa, name)


CONVT_PATHS = ("auto", "phase", "col2im", "implicit", "dense")


def convt_path() -> str:
    """Algorithm of int8 transposed convolutions: ``auto`` (dense, the implicit GEMM, phase or col2im,
    each where measured faster: docs/design.md), ``phase`` (phase decomposition, B packed), ``col2im``
    (GEMM + col2im), ``implicit`` (the phases as implicit GEMMs, on AMX tiles or AVX-512 vpdpbusd;
    elsewhere as ``auto``) or ``dense`` (1x1 inputs as one matrix product x[n][cin] w[cin][cout kh kw];
    other geometries as ``auto``); ``ACCELSIM_CONVT`` sets it at first use."""
    return _k.convt_path()


def set_convt_path(name: str) -> None:
    if name not in CONVT_PATHS:
        raise ConfigError(f"transposed-conv path must be one of {', '.join(CONVT_PATHS)}, got {name!r}")
    _k.set_convt_path(name)


def use_convt_path(name: str):
    return _temporarily(convt_path, set_convt_path, name)


def last_convt_path() -> str:
    """What the last int transposed convolution ran: ``phase``, ``col2im``, ``implicit``, ``dense`` or
    ``other`` (wider paths)."""
    return _k.last_convt_path()


def last_conv2d_path() -> str:
    """What the last int conv2d ran: ``implicit`` (implicit GEMM, AMX or AVX-512), ``packed`` (im2col into
    a packed GEMM) or ``other`` (the int64 paths); ``""`` before any."""
    return _k.last_conv2d_path()


def num_threads() -> int:
    return _k.num_threads()


def set_num_threads(n: int) -> None:
    """Kernel threads, an integer in [1, 1024] (not a string, not a bool)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= 1024:
        raise ConfigError(f"number of threads must be an integer in [1, 1024], got {n!r}")
    _k.set_num_threads(int(n))



def implementation(name: str) -> types.ModuleType:
    """``"cpp"``: this module; ``"reference"``: the golden model with the same signatures."""
    if name == "cpp":
        import accelsim.kernels as mod
        return mod
    if name == "reference":
        from accelsim.formats import reference
        return reference
    raise ConfigError(f"implementation must be 'cpp' or 'reference', got {name!r}")
