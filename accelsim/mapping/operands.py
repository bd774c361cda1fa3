"""The data of a lowered layer: the GEMM operands each lowering of ``accelsim.mapping.lowering``
feeds an accelerator, and how the GEMM results land in the output tensor.

``conv_by_gemms(x, w, spec, method, matmul)`` computes a conv2d / conv_transpose2d (torch
semantics, ``accelsim.formats.conv``) as exactly the GEMMs ``lower()`` counts, in the same order and
shapes: for each group and (phase) sub-convolution, X (P x K) times W (K x F) through ``matmul``,
then places (gather forms) or overlap-adds (scatter) the P x F result into the output. With exact
integer ``matmul`` the result equals the golden convolution bit for bit (tests/test_crossbar.py);
the crossbar functional model passes its analog matmul instead.

- direct (conv2d): im2col, X[(n, oy, ox), (ci, ky, kx)] = x_pad[n, ci, oy*s + ky*d, ox*s + kx*d].
- zero_insert: the stride-1 conv2d over the zero-dilated, re-padded input with the flipped,
  channel-swapped kernel (``conv_transpose2d_gather``'s construction), as im2col.
- phase: output phase (ry, rx) gathers only taps with ky*d = ry + p (mod s); the input index
  (oy + p - ky*d) / s is then an integer; out-of-range taps (borders) read zero.
- scatter: X[(n, iy, ix), ci], W[ci, (co, ky, kx)]; product (iy, ix, ky, kx) lands on output
  (iy*s - p + ky*d, ix*s - p + kx*d) when that lies inside the output, else it is dropped.
"""
from __future__ import annotations

import numpy as np

from accelsim.errors import ConfigError
from accelsim.formats.conv import ConvSpec, zero_insert


def _im2col(xp: np.ndarray, kh: int, kw: int, s, d, oh: int, ow: int) -> np.ndarray:
    """(N, C, Hp, Wp) padded input -> (N*oh*ow, C*kh*kw) patches (stride s, dilation d)."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=xp.dtype)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * d[0], kx * d[1]
            cols[:, :, ky, kx] = xp[:, :, y0:y0 + s[0] * (oh - 1) + 1:s[0], x0:x0 + s[1] * (ow - 1) + 1:s[1]]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)


def _direct(x, w, spec: ConvSpec, matmul, out):
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    g, cout_g = spec.groups, cout // spec.groups
    (ph, pw) = spec.padding
    oh, ow = out.shape[2:]
    xp = np.zeros((n, cin, h + 2 * ph, wd + 2 * pw), dtype=np.int64)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    for gi in range(g):
        xg = _im2col(xp[:, gi * cin_g:(gi + 1) * cin_g], kh, kw, spec.stride, spec.dilation, oh, ow)
        wg = w[gi * cout_g:(gi + 1) * cout_g].reshape(cout_g, -1).T
        y = matmul(xg, np.ascontiguousarray(wg))
        out[:, gi * cout_g:(gi + 1) * cout_g] = y.reshape(n, oh, ow, cout_g).transpose(0, 3, 1, 2)


def _zero_insert(x, w, spec: ConvSpec, matmul, out):
    cin, cout_g, kh, kw = w.shape
    g, cin_g = spec.groups, cin // spec.groups
    z = zero_insert(x, spec.stride)
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op) for k, p, op, d in
            zip((kh, kw), spec.padding, spec.output_padding, spec.dilation)]
    (t, b), (l, r) = pads
    zh, zw = z.shape[2:]
    big = np.zeros((x.shape[0], cin, zh + max(t, 0) + max(b, 0), zw + max(l, 0) + max(r, 0)), dtype=np.int64)
    big[:, :, max(t, 0):max(t, 0) + zh, max(l, 0):max(l, 0) + zw] = z
    big = big[:, :, max(-t, 0):big.shape[2] - max(-b, 0), max(-l, 0):big.shape[3] - max(-r, 0)]
    wc = np.concatenate([np.swapaxes(w[gi * cin_g:(gi + 1) * cin_g], 0, 1) for gi in range(g)], axis=0)
    _direct(big, np.ascontiguousarray(wc[:, :, ::-1, ::-1]),
            ConvSpec.make(stride=1, padding=0, dilation=spec.dilation, groups=g), matmul, out)


def _phase_taps(r: int, k: int, s: int, p: int, d: int) -> list[int]:
    return [t for t in range(k) if (t * d) % s == (r + p) % s]


def _phase(x, w, spec: ConvSpec, matmul, out):
    n, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    g, cin_g = spec.groups, cin // spec.groups
    oh, ow = out.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = spec.stride, spec.padding, spec.dilation
    for gi in range(g):
        xg = x[:, gi * cin_g:(gi + 1) * cin_g]
        wg = w[gi * cin_g:(gi + 1) * cin_g]
        for ry in range(sh):
            oy, ty = np.arange(ry, oh, sh), _phase_taps(ry, kh, sh, ph, dh)
            for rx in range(sw):
                ox, tx = np.arange(rx, ow, sw), _phase_taps(rx, kw, sw, pw, dw)
                if not (oy.size * ox.size and len(ty) * len(tx)):
                    continue
                iy = (oy[:, None] + ph - np.array(ty)[None, :] * dh) // sh      # (nh, th), exact
                ix = (ox[:, None] + pw - np.array(tx)[None, :] * dw) // sw      # (nw, tw)
                vy, vx = (iy >= 0) & (iy < h), (ix >= 0) & (ix < wd)
                pat = xg[:, :, np.clip(iy, 0, h - 1)[:, :, None, None], np.clip(ix, 0, wd - 1)[None, None, :, :]]
                pat = pat * (vy[:, :, None, None] & vx[None, None, :, :])        # (N, cin, nh, th, nw, tw)
                xm = pat.transpose(0, 2, 4, 1, 3, 5).reshape(n * oy.size * ox.size, -1)
                wm = wg[:, :, ty][:, :, :, tx].transpose(0, 2, 3, 1).reshape(-1, cout_g)
                y = matmul(np.ascontiguousarray(xm), np.ascontiguousarray(wm))
                out[:, gi * cout_g:(gi + 1) * cout_g, oy[:, None], ox[None, :]] = \
                    y.reshape(n, oy.size, ox.size, cout_g).transpose(0, 3, 1, 2)


def _scatter(x, w, spec: ConvSpec, matmul, out):
    n, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    g, cin_g = spec.groups, cin // spec.groups
    oh, ow = out.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = spec.stride, spec.padding, spec.dilation
    iy, ix = np.arange(h), np.arange(wd)
    for gi in range(g):
        xm = x[:, gi * cin_g:(gi + 1) * cin_g].transpose(0, 2, 3, 1).reshape(n * h * wd, cin_g)
        wm = w[gi * cin_g:(gi + 1) * cin_g].reshape(cin_g, -1)
        y = matmul(np.ascontiguousarray(xm), np.ascontiguousarray(wm)).reshape(n, h, wd, cout_g, kh, kw)
        for ky in range(kh):
            oy = iy * sh - ph + ky * dh
            vy = (oy >= 0) & (oy < oh)
            for kx in range(kw):
                ox = ix * sw - pw + kx * dw
                vx = (ox >= 0) & (ox < ow)
                if vy.any() and vx.any():
                    part = y[:, vy][:, :, vx][:, :, :, :, ky, kx].transpose(0, 3, 1, 2)
                    out[:, gi * cout_g:(gi + 1) * cout_g, oy[vy][:, None], ox[vx][None, :]] += part


def conv_by_gemms(x, w, spec: ConvSpec, method: str, matmul=None) -> np.ndarray:
    """conv2d (method ``direct``) or conv_transpose2d (``zero_insert``, ``phase``, ``scatter``) of
    integer x and w as the lowering's GEMMs, each computed by ``matmul(X, W)`` (exact int64 ``@`` by
    default). Returns int64 (N, Cout, OH, OW), no bias."""
    x, w = np.asarray(x, dtype=np.int64), np.asarray(w, dtype=np.int64)
    n, cout, oh, ow = spec.check_shapes(x.shape, w.shape)
    matmul = matmul or (lambda a, b: a @ b)
    if not spec.transposed:
        if method != "direct":
            raise ConfigError(f"conv2d lowers one way (direct), got {method!r}")
        fn = _direct
    else:
        table = {"zero_insert": _zero_insert, "phase": _phase, "scatter": _scatter}
        if method not in table:
            raise ConfigError(f"conv_transpose2d lowering must be one of {', '.join(table)}, got {method!r}")
        fn = table[method]
    out = np.zeros((n, cout, oh, ow), dtype=np.int64)
    fn(x, w, spec, matmul, out)
    return out
