"""Bad inputs to the kernels raise ValueError naming the argument; nothing crashes."""
import numpy as np
import pytest

from accelsim import kernels
from accelsim.formats import reference
from accelsim.formats.conv import ConvSpec

T = ConvSpec.make(stride=2, padding=1, transposed=True)
X8 = np.zeros((1, 4, 3, 3), np.int8)
W8 = np.zeros((4, 2, 4, 4), np.int8)


def qconv(**over):
    args = dict(x=X8, w=W8, x_bits=8, x_signed=True, x_zero_point=0, w_kind="fixed", w_bits=8, bias=None, spec=T)
    args.update(over)
    x, w = args.pop("x"), args.pop("w")
    return kernels.conv_int(x, w, **args)


@pytest.mark.parametrize("over,match", [
    (dict(x=np.zeros((4, 3, 3), np.int8)), "rank"),
    (dict(x=np.zeros((1, 4, 3, 3), np.int16)), "dtype"),
    (dict(x=np.zeros((1, 4, 3, 3), np.float32)), "dtype"),
    (dict(x=np.zeros((1, 4, 6, 3), np.int8)[:, :, ::2]), "C-contiguous"),
    (dict(w=np.zeros((5, 2, 4, 4), np.int8)), "must equal x channels"),
    (dict(w=np.zeros((4, 2, 4, 4), np.int16)), "dtype"),
    (dict(x_bits=0), "bits"),
    (dict(x_bits=17), "bits"),
    (dict(w_bits=1), "w_bits"),
    (dict(w_bits=17), "w_bits"),
    (dict(x_zero_point=200), "x_zero_point"),
    (dict(w_kind="quaternary"), "w_kind"),
    (dict(w=np.full((4, 2, 4, 4), 2, np.int8), w_kind="ternary"), "w codes"),
    (dict(w=np.zeros((4, 2, 4, 4), np.int8), w_kind="binary"), "binary"),
    (dict(x=np.full((1, 4, 3, 3), 8, np.int8), x_bits=4), "x codes"),
    (dict(w=np.full((4, 2, 4, 4), 9, np.int8), w_bits=4), "w codes"),
    (dict(bias=np.zeros(3, np.int32)), "bias"),
    (dict(bias=np.zeros(2, np.float32)), "bias"),
    (dict(bias=np.array([(1 << 62) + 1, 0], np.int64)), "bias"),
    (dict(spec=ConvSpec(stride=(0, 1), transposed=True)), "stride"),
    (dict(spec=ConvSpec(padding=(-1, 0), transposed=True)), "padding"),
    (dict(spec=ConvSpec(stride=(2, 2), output_padding=(2, 0), transposed=True)), "output_padding"),
    (dict(spec=ConvSpec(groups=3, transposed=True)), "divisible by groups"),
    (dict(spec="stride=2"), "ConvSpec"),
    (dict(x=[[1]]), "numpy array"),
])
def test_qconv_bad_input(over, match):
    with pytest.raises(ValueError, match=match):
        qconv(**over)


def test_conv2d_empty_output():
    with pytest.raises(ValueError, match="empty"):
        kernels.conv_int(np.zeros((1, 4, 2, 2), np.int8), np.zeros((2, 4, 5, 5), np.int8), x_bits=8, x_signed=True,
                         x_zero_point=0, w_bits=8, spec=ConvSpec.make())


@pytest.mark.parametrize("fn", [kernels.requantize_integer, reference.requantize_integer])
def test_requant_bad_params(fn):
    acc = np.zeros((1, 2, 2, 2), np.int32)
    with pytest.raises(ValueError, match="m0"):
        fn(acc, [5], [0], zero_point=0, out_bits=8, out_signed=True)
    with pytest.raises(ValueError, match="shift"):
        fn(acc, [1 << 30], [70], zero_point=0, out_bits=8, out_signed=True)
    with pytest.raises(ValueError, match="zero_point"):
        fn(acc, [1 << 30], [0], zero_point=300, out_bits=8, out_signed=True)
    with pytest.raises(ValueError, match="entries"):
        fn(acc, [1 << 30] * 3, [0] * 3, zero_point=0, out_bits=8, out_signed=True)
    with pytest.raises(ValueError, match="lut|act"):
        fn(acc, [1 << 30], [0], zero_point=0, out_bits=8, out_signed=True, act=np.zeros(5, np.int32))
    with pytest.raises(ValueError, match="act"):
        fn(acc, [1 << 30], [0], zero_point=0, out_bits=8, out_signed=True, act="gelu")


def test_requant_torch_bad_params():
    acc = np.zeros((1, 2, 2, 2), np.int32)
    with pytest.raises(ValueError, match="mult_f32|finite"):
        kernels.requantize_torch(acc, [0.0], [np.nan], zero_point=0, out_bits=8, out_signed=True)
    with pytest.raises(ValueError, match="acc"):
        kernels.requantize_torch(acc.astype(np.float32), [0.0], [1.0], zero_point=0, out_bits=8, out_signed=True)


@pytest.mark.parametrize("bad", [dict(x_exp=16), dict(x_exp=-17), dict(w_exp=99), dict(out_exp=16)])
def test_flex_exponent_out_of_range(bad):
    xm = np.zeros((1, 4, 3, 3), np.int16)
    wm = np.zeros((4, 2, 4, 4), np.int16)
    args = dict(x_exp=0, w_exp=0, out_exp=None)
    args.update(bad)
    for impl in (kernels, reference):
        with pytest.raises(ValueError, match="5-bit"):
            impl.conv_flex(xm, args["x_exp"], wm, args["w_exp"], spec=T, out_exp=args["out_exp"])


def test_flex_wrong_dtype():
    with pytest.raises(ValueError, match="dtype|int16"):
        kernels.conv_flex(np.zeros((1, 4, 3, 3), np.int8), 0, np.zeros((4, 2, 4, 4), np.int16), 0, spec=T)


def test_xnor_rejects_non_sign_codes():
    with pytest.raises(ValueError, match="-1 or \\+1"):
        kernels.conv_xnor(np.zeros((1, 4, 3, 3), np.int8), np.ones((4, 2, 4, 4), np.int8), spec=T)


def test_set_isa_rejects_unknown():
    with pytest.raises(ValueError, match="isa"):
        kernels.set_isa("sse9")
    with pytest.raises(ValueError):
        kernels.set_num_threads(0)


def test_peak_probes():
    """The benchmarks' peak probes: every name the build knows either measures a positive rate or
    refuses (this CPU lacks the instruction); an unknown name or a bad count is a clear error."""
    from accelsim import kernels
    from accelsim.errors import AccelsimError
    names = kernels.peak_probe_names()
    assert {"vpdpbusd-zmm", "fma-ymm", "tdpbsud-amx"} <= set(names)
    measured = 0
    for name in names:
        try:
            rate = kernels.peak_probe(name, iters=2000)
        except ValueError as e:
            assert "not supported" in str(e)
            continue
        assert rate > 1e6
        measured += 1
    assert measured >= (1 if "avx2" in kernels.available_isas() else 0)
    with pytest.raises(AccelsimError, match="peak probe must be one of"):
        kernels.peak_probe("vfmadd-bogus")
    with pytest.raises(ValueError, match="iters"):
        kernels.peak_probe(names[0], iters=0)
