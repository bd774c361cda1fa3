"""Float convolutions as one BLAS matrix product each, for the float runtime (fp32 generators,
pruned / shared / low-rank / distilled float weights in ``accelsim.compress``, quality metrics).

Same semantics and weight layouts as the golden ``accelsim.formats.conv``; only the summation order
differs, so float64 results agree with the golden forms to rounding (tests/test_fastconv.py bounds
it). Not a golden model: nothing bit-exact is checked against it.

* ``conv_transpose2d_gemm``: per group, ``cols = W^T X`` with ``W`` viewed as (Cin/g, Cout/g*KH*KW)
  and ``X`` as (Cin/g, H*W) per image (the scatter GEMM), then col2im: tap (ky, kx) of every input
  pixel is added to ``out[iy*s - p + ky*d, ix*s - p + kx*d]`` with one strided slice per tap.
* ``conv2d_gemm``: im2col per tap into (KH*KW*Cin/g, N*OH*OW), whole images at a time up to ``COLS_BYTES``,
  and ``W`` viewed as (Cout/g, KH*KW*Cin/g) times it.

Both run BLAS on one thread (``accelsim.blas``), so their bits do not depend on the thread count.
"""
from __future__ import annotations

import numpy as np

from accelsim.blas import one_thread
from accelsim.formats.conv import ConvSpec

COLS_BYTES = 32 << 20    # conv2d: im2col buffers of at most this size (whole images at a time)


def _valid(n_in: int, n_out: int, s: int, p: int, off: int) -> tuple[int, int]:
    """Input index range [lo, hi) whose output index i*s - p + off lies in [0, n_out)."""
    lo = max(0, -(-(p - off) // s))
    hi = min(n_in, (n_out - 1 + p - off) // s + 1)
    return lo, max(lo, hi)


def conv_transpose2d_gemm(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    with one_thread():
        return _conv_transpose2d_gemm(x, w, spec)


def conv2d_gemm(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    with one_thread():
        return _conv2d_gemm(x, w, spec)


# (one_thread inside, not the blas.deterministic decorator: mutmut does not mutate decorated functions)
def _conv_transpose2d_gemm(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    assert spec.transposed
    n, cout, oh, ow = spec.check_shapes(x.shape, w.shape)
    _, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw), g = spec.stride, spec.padding, spec.dilation, spec.groups
    cin_g = cin // g
    dtype = np.result_type(x, w)
    out = np.zeros((n, cout, oh, ow), dtype=dtype)
    for gi in range(g):
        xg = np.ascontiguousarray(x[:, gi * cin_g:(gi + 1) * cin_g], dtype=dtype).reshape(n, cin_g, h * wd)
        wg = np.asarray(w[gi * cin_g:(gi + 1) * cin_g], dtype=dtype).reshape(cin_g, cout_g * kh * kw)
        cols = np.matmul(wg.T, xg).reshape(n, cout_g, kh, kw, h, wd)
        og = out[:, gi * cout_g:(gi + 1) * cout_g]
        for ky in range(kh):
            y0, y1 = _valid(h, oh, sh, ph, ky * dh)
            if y0 >= y1:
                continue
            oy0 = y0 * sh - ph + ky * dh
            for kx in range(kw):
                x0, x1 = _valid(wd, ow, sw, pw, kx * dw)
                if x0 >= x1:
                    continue
                ox0 = x0 * sw - pw + kx * dw
                og[:, :, oy0:oy0 + (y1 - y0 - 1) * sh + 1:sh, ox0:ox0 + (x1 - x0 - 1) * sw + 1:sw] += \
                    cols[:, :, ky, kx, y0:y1, x0:x1]
    return out


def _conv2d_gemm(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    assert not spec.transposed
    n, cout, oh, ow = spec.check_shapes(x.shape, w.shape)
    _, cin, h, wd = x.shape
    _, cin_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw), g = spec.stride, spec.padding, spec.dilation, spec.groups
    cout_g = cout // g
    dtype = np.result_type(x, w)
    xp = np.zeros((n, cin, h + 2 * ph, wd + 2 * pw), dtype=dtype)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    out = np.empty((n, cout, oh, ow), dtype=dtype)
    per_image = oh * ow * cin_g * kh * kw * np.dtype(dtype).itemsize
    chunk = max(1, COLS_BYTES // max(per_image, 1))     # images per im2col buffer
    for gi in range(g):
        # (Cout/g, KH, KW, Cin/g) rows against (KH, KW, Cin/g, pixels) columns: every tap's copy is contiguous
        wg = np.ascontiguousarray(np.asarray(w[gi * cout_g:(gi + 1) * cout_g], dtype=dtype)
                                  .transpose(0, 2, 3, 1)).reshape(cout_g, -1)
        for n0 in range(0, n, chunk):
            xg = xp[n0:n0 + chunk, gi * cin_g:(gi + 1) * cin_g].transpose(1, 0, 2, 3)
            m = xg.shape[1]
            cols = np.empty((kh, kw, cin_g, m, oh, ow), dtype=dtype)
            for ky in range(kh):
                for kx in range(kw):
                    y0, x0 = ky * dh, kx * dw
                    cols[ky, kx] = xg[:, :, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]
            res = wg @ cols.reshape(kh * kw * cin_g, m * oh * ow)
            out[n0:n0 + m, gi * cout_g:(gi + 1) * cout_g] = res.reshape(cout_g, m, oh, ow).transpose(1, 0, 2, 3)
    return out


def convolve_gemm(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """conv2d or conv_transpose2d as the spec says, by GEMM."""
    return conv_transpose2d_gemm(x, w, spec) if spec.transposed else conv2d_gemm(x, w, spec)
