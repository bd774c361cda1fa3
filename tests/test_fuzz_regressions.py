"""Regressions found by the fuzzers in tools/fuzz/ (and by reviewing the code they exercise).

Each test names the target and the finding. Kernel tests compare the C++ kernels with the golden model
on every ISA, so they also run under the sanitizers (tools/sanitize.sh).
"""
import time

import numpy as np
import pytest

from accelsim import kernels
from accelsim.errors import ConfigError
from accelsim.formats import binary, reference
from accelsim.formats.conv import ConvSpec

pytestmark = pytest.mark.filterwarnings("error")


def both(fn_name, *args, **kw):
    """(C++ result on every ISA (all equal), golden result)."""
    cpp = getattr(kernels, fn_name)
    outs = []
    for isa in kernels.available_isas():
        with kernels.use_isa(isa):
            outs.append(cpp(*args, **kw))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    return outs[0], getattr(reference, fn_name)(*args, **kw) if hasattr(reference, fn_name) else None


# ---- fuzz_kernels ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,rows", [((3, 0), 3), ((0,), 1), ((2, 3, 0), 6), ((0, 5), 0), ((2, 3, 70), 6)])
def test_pack_signs_zero_length_rows(shape, rows):
    """C++ pack_signs returned (0, 0) for a (3, 0) input (rows were numel/len); golden reshape failed."""
    codes = np.ones(shape, np.int8)
    got = kernels.pack_signs(codes)
    ref = binary.pack_signs(codes)
    assert got.shape == ref.shape == (rows, (shape[-1] + 63) // 64)
    np.testing.assert_array_equal(got, ref)


def test_requantize_rank1_per_channel():
    """A 1-D acc's channel axis is 0 (the C++ contract): golden refused per-channel m0 ('1 or 1
    entries') and raised IndexError in torch mode."""
    acc = np.array([5, -7, 1000, 1 << 20], np.int32)
    m0 = [1 << 30, (1 << 31) - 1, 1 << 30, 1 << 30]
    got, ref = both("requantize_integer", acc, m0, [0, 3, -2, 10], zero_point=1, out_bits=8, out_signed=True)
    np.testing.assert_array_equal(got, ref)
    got, ref = both("requantize_torch", acc, np.float32([0.5, 1, -3, 2]), np.float32([1, 0.5, 0.25, 1e-6]),
                    zero_point=0, out_bits=8, out_signed=True)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("shape", [(0,), (1, 0), (2, 0, 64, 3), (3, 2, 0, 1)])
def test_requantize_zero_size(shape):
    """Golden failed on empty accumulators (nditer of a zero-sized operand, reshape of size 0)."""
    acc = np.zeros(shape, np.int64)
    count = shape[1] if len(shape) > 1 else shape[0]
    got, ref = both("requantize_integer", acc, [1 << 30] * max(count, 1), [0] * max(count, 1), zero_point=0,
                    out_bits=12, out_signed=False)
    assert got.shape == ref.shape == shape and got.dtype == ref.dtype
    got, ref = both("requantize_torch", acc, np.zeros(count, np.float32), np.ones(count, np.float32), zero_point=0,
                    out_bits=16, out_signed=False)
    assert got.shape == ref.shape == shape


@pytest.mark.parametrize("impl", [kernels, reference])
@pytest.mark.parametrize("m0,shift", [([1 << 63], [0]), ([1 << 64], [0]), ([1 << 30], [1 << 63]), ([1.5], [0])])
def test_requantize_parameters_beyond_int64(impl, m0, shift):
    """Golden raised OverflowError converting m0/shift to int64; both now refuse with a ValueError."""
    with pytest.raises(ValueError, match="m0|shift|multiplier"):
        impl.requantize_integer(np.zeros(3, np.int32), m0, shift, zero_point=0, out_bits=8, out_signed=True)


def test_lut_values_are_not_wrapped():
    """An int64 lookup table was cast to int32 (2^32 + 5 -> 5) and accepted by C++; golden refused it."""
    lut = np.arange(-128, 128, dtype=np.int64)
    lut[7] = (1 << 32) + 5
    for impl in (kernels, reference):
        with pytest.raises(ValueError):
            impl.requantize_integer(np.zeros(4, np.int32), [1 << 30], [0], zero_point=0, out_bits=8, out_signed=True,
                                    act=lut)
    with pytest.raises(ValueError, match="lookup table"):
        kernels.requantize_integer(np.zeros(4, np.int32), [1 << 30], [0], zero_point=0, out_bits=8, out_signed=True,
                                   act=np.linspace(-128, 127, 256))   # floats were truncated silently


X = np.ones((1, 2, 3, 3), np.int8)
W = np.ones((2, 2, 3, 3), np.int8)
Q = dict(x_bits=8, x_signed=True, x_zero_point=0, w_bits=8)


@pytest.mark.parametrize("spec,field", [
    (ConvSpec(stride=(0, 1)), "stride"),                 # golden: ZeroDivisionError in output_hw
    (ConvSpec(dilation=(1, -2)), "dilation"),
    (ConvSpec(groups=0), "groups"),
    (ConvSpec(groups=1 << 40), "groups"),                # C++ side: pybind TypeError, no argument named
    (ConvSpec(stride=(2.5, 1), transposed=True), "stride"),
    (ConvSpec(output_padding=(3, 0), stride=(2, 2), transposed=True), "output_padding"),
])
def test_unvalidated_convspec(spec, field):
    """A ConvSpec built without make() reached the kernels unchecked."""
    w = W if not spec.transposed else W
    for impl in (kernels, reference):
        with pytest.raises(ValueError, match=field):
            impl.conv_int(X, w, spec=spec, **Q)


@pytest.mark.parametrize("kw,name", [(dict(x_zero_point=1 << 40), "x_zero_point"), (dict(x_bits=1 << 33), "x_bits"),
                                     (dict(w_bits=True), "w_bits"), (dict(x_zero_point=np.nan), "x_zero_point")])
def test_scalar_arguments_named(kw, name):
    """Out-of-int32 or non-integer scalars became a pybind TypeError listing the whole signature."""
    with pytest.raises(ValueError, match=name):
        kernels.conv_int(X, W, spec=ConvSpec.make(), **{**Q, **kw})


def test_flex_exponent_scalars_named():
    xm = np.zeros((1, 2, 3, 3), np.int16)
    for kw, name in [(dict(x_exp=1 << 40), "x_exp"), (dict(out_exp=2.0), "out_exp")]:
        args = dict(x_exp=0, w_exp=0, out_exp=None)
        args.update(kw)
        with pytest.raises(ValueError, match=name):
            kernels.conv_flex(xm, args["x_exp"], xm, args["w_exp"], spec=ConvSpec.make(), out_exp=args["out_exp"])


# ---- fuzz_arch -------------------------------------------------------------------------------------------
ARCH = "name: t\nclock_mhz: 800\ntech_node_nm: 22\narray: {rows: 8, cols: 8, dataflow: os}\n" \
       "buffers: {global: {size_kib: 64, word_bits: 64, banks: 1}}\ndram: lpddr4-3200\n"


@pytest.mark.parametrize("text,message", [
    ("name: t\nsource: x (y): z\n", "not valid YAML at line 2, column"),         # was a 4-line message
    ("? [a, b]\n: 1\n", "not a plain name"),                                    # TypeError: unhashable
    (ARCH.replace("dram: lpddr4-3200", "dram: {preset: [1]}"), "dram.preset"),   # TypeError: unhashable
    (ARCH.replace("dataflow: os}", "dataflow: os, 7: 1, z: 2}"), "array.7"),   # TypeError: sorting int and str
])
def test_arch_loader_findings(text, message, tmp_path):
    from accelsim.arch import load_arch
    p = tmp_path / "a.yaml"
    p.write_text(text)
    with pytest.raises(ValueError) as exc:
        load_arch(str(p))
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_arch_file_bytes_not_utf8(tmp_path):
    """UnicodeDecodeError did not name the file."""
    from accelsim.arch import load_arch
    p = tmp_path / "b.yaml"
    p.write_bytes(ARCH.encode()[:80] + b"\xff" + ARCH.encode()[80:])
    with pytest.raises(ValueError, match=r"b\.yaml: not UTF-8 text \(byte 0xff at offset 80\)"):
        load_arch(str(p))


# ---- fuzz_vectors ----------------------------------------------------------------------------------------
def test_manifest_model_not_a_mapping(tmp_path):
    """check_vectors read manifest['model'].get('name'): AttributeError when model is not a mapping."""
    import json

    from accelsim.vectors import check_vectors, export_vectors
    out = tmp_path / "v"
    m = export_vectors(str(out), fmt="int4", layer="3")
    y = m["layers"][0]["tensors"]["y"]
    m["model"] = 7
    (out / "manifest-fuzz.json").write_text(json.dumps(m))
    r = check_vectors(str(out / "manifest-fuzz.json"), str(out / y["bin"]), layer="3")
    assert r["ok"] and r["model"] is None


# ---- fuzz_sweep ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,message", [
    ("1" * 400 + "B", "too long"),                   # OverflowError: cannot convert float infinity to integer
    ("1e308GiB", "too large"),
    ("1E-30B", "size must be > 0"),                  # returned 0 bytes
    ("1B:1e300B:x1e200", "too large"),               # was OverflowError in factor ** k; sizes < 2^62 bytes now
    ("1B:4e18B:x1e200", None),                       # a huge FACTOR: one size
])
def test_parse_size_range_findings(text, message):
    from accelsim.sweep.space import parse_size_range
    if message is None:
        assert parse_size_range(text) == (1,)
        return
    with pytest.raises(ValueError, match=message):
        parse_size_range(text)


def test_parse_size_is_linear_time():
    """'1' * 5000 + junk took 2.6 s in the size regex (nested quantifiers over the same digits)."""
    from accelsim.sweep.space import MAX_OPTION_CHARS, parse_size
    for text in ["1" * (MAX_OPTION_CHARS - 1) + "!", "1" * 5000 + "!", "." + "1" * 190 + "e"]:
        t0 = time.perf_counter()
        with pytest.raises(ConfigError, match="^buffer: "):
            parse_size(text)
        assert time.perf_counter() - t0 < 0.05


@pytest.mark.parametrize("parser,text", [("parse_dataflows", "os\nws"), ("parse_drams", "hbm2\n\x00"),
                                         ("parse_list", "a\nb"), ("parse_size_range", "16\nKiB:1\nKiB")])
def test_sweep_errors_are_one_line(parser, text):
    """Bad values were echoed raw: a newline in the value made a multi-line error."""
    from accelsim.sweep import space
    fn = getattr(space, parser)
    with pytest.raises(ValueError) as exc:
        fn(text, "--opt", ("x",)) if parser == "parse_list" else fn(text, "--opt")
    assert "\n" not in str(exc.value) and "--opt" in str(exc.value)


@pytest.mark.parametrize("spec", ["1:1000000000000", "3:" + "9" * 300, "4,4"])
def test_adc_bits_range_checked_before_building_it(spec):
    """parse_bits built list(range(lo, hi + 1)) before checking the bounds (1:10^12: MemoryError)."""
    from accelsim.adc_sweep import parse_bits
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="^adc_bits: "):
        parse_bits(spec)
    assert time.perf_counter() - t0 < 0.05
