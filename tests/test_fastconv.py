"""The BLAS float convolutions (accelsim.formats.fastconv) agree with the golden forms to float64
rounding, on every geometry torch allows (strides, paddings, output_padding, dilation, groups)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from accelsim.formats.conv import ConvSpec, conv2d, conv_transpose2d_scatter
from accelsim.formats.fastconv import conv2d_gemm, conv_transpose2d_gemm


@st.composite
def cases(draw, transposed):
    g = draw(st.sampled_from([1, 2]))
    cin, cout = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s, d = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    p = draw(st.integers(0, 3))
    op = draw(st.integers(0, max(s, d) - 1)) if transposed else 0
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    try:
        spec = ConvSpec.make(stride=s, padding=p, output_padding=op, dilation=d, groups=g, transposed=transposed)
        wshape = (cin, cout // g, *k) if transposed else (cout, cin // g, *k)
        spec.check_shapes((2, cin, h, w), wshape)
    except ValueError:
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    return rng.standard_normal((2, cin, h, w)), rng.standard_normal(wshape), spec


@given(cases(True))
def test_conv_transpose2d_gemm_equals_golden(case):
    if case is None:
        return
    x, w, spec = case
    ref = conv_transpose2d_scatter(x, w, spec)
    got = conv_transpose2d_gemm(x, w, spec)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@given(cases(False))
def test_conv2d_gemm_equals_golden(case):
    if case is None:
        return
    x, w, spec = case
    ref = conv2d(x, w, spec)
    got = conv2d_gemm(x, w, spec)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_integer_inputs_stay_exact():
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 4, 5, 5))
    w = rng.integers(-127, 128, (4, 3, 4, 4))
    spec = ConvSpec.make(stride=2, padding=1, transposed=True)
    np.testing.assert_array_equal(conv_transpose2d_gemm(x, w, spec), conv_transpose2d_scatter(x, w, spec))
