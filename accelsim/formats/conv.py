"""Golden convolution: conv2d and conv_transpose2d with torch semantics, written for clarity.

Weight layouts are torch's: conv2d ``w[Cout, Cin/groups, KH, KW]``, conv_transpose2d
``w[Cin, Cout/groups, KH, KW]``. Arrays are NCHW. The functions are generic over the dtype: called
with int64 arrays they are exact integer references (no overflow below 2^63), with float64 arrays
they are the fp32 reference (cast the result to float32).

conv_transpose2d exists in two independent forms that must agree exactly:

* ``conv_transpose2d_scatter``: every input pixel scatters ``x[n, ci, iy, ix] * w[ci, co, ky, kx]``
  to ``out[n, co, iy*s - p + ky*d, ix*s - p + kx*d]`` (the definition);
* ``conv_transpose2d_gather``: insert ``s - 1`` zeros between input pixels, pad by
  ``d*(K-1) - p`` (crop where negative, plus output_padding at the end), and run a stride-1 conv2d
  with the kernel flipped and its channel axes swapped (the zero-insertion lowering).

Output size: conv2d ``(H + 2p - d*(K-1) - 1) // s + 1``; conv_transpose2d
``(H-1)*s - 2p + d*(K-1) + output_padding + 1``; ``output_padding < max(s, d)`` as torch requires.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.errors import ModelError


def _is_int(v) -> bool:
    """An integer that is not a bool (True is not the integer 1 here)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair(v, name: str) -> tuple[int, int]:
    if _is_int(v):
        return int(v), int(v)
    try:
        a, b = v
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be an int or a pair of ints, got {v!r}") from None
    if not all(_is_int(t) for t in (a, b)):
        raise ModelError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(a), int(b)


@dataclass(frozen=True)
class ConvSpec:
    """Geometry of one convolution (torch semantics). Pairs are (height, width)."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    transposed: bool = False

    @classmethod
    def make(cls, stride=1, padding=0, output_padding=0, dilation=1, groups=1, transposed=False):
        if not _is_int(groups):
            raise ModelError(f"groups must be an integer, got {groups!r}")
        if not isinstance(transposed, (bool, np.bool_)):
            raise ModelError(f"transposed must be True or False, got {transposed!r}")
        spec = cls(_pair(stride, "stride"), _pair(padding, "padding"),
                   _pair(output_padding, "output_padding"), _pair(dilation, "dilation"),
                   int(groups), bool(transposed))
        spec.validate()
        return spec

    def validate(self) -> None:
        for name in ("stride", "padding", "output_padding", "dilation"):
            v = getattr(self, name)
            if not (isinstance(v, tuple) and len(v) == 2 and all(isinstance(t, (int, np.integer)) for t in v)):
                raise ModelError(f"{name} must be a pair of ints, got {v!r}")
        if not isinstance(self.groups, (int, np.integer)) or not 1 <= self.groups <= 1 << 24:
            raise ModelError(f"groups must be an integer in [1, 2^24], got {self.groups!r}")
        for name in ("stride", "dilation"):
            for v in getattr(self, name):
                if not 1 <= v <= 1 << 20:
                    raise ModelError(f"{name} must be in [1, 2^20], got {getattr(self, name)}")
        for v in self.padding:
            if not 0 <= v <= 1 << 20:
                raise ModelError(f"padding must be in [0, 2^20], got {self.padding}")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op < 0 or (op and not self.transposed):
                raise ModelError(f"output_padding must be 0 for conv2d and >= 0, got {self.output_padding}")
            if op >= max(s, d):
                raise ModelError(f"output_padding must be < max(stride, dilation) "
                                 f"(stride={self.stride}, dilation={self.dilation}), got {self.output_padding}")

    def output_hw(self, h: int, w: int, kh: int, kw: int) -> tuple[int, int]:
        out = []
        for size, k, s, p, op, d in zip((h, w), (kh, kw), self.stride, self.padding,
                                        self.output_padding, self.dilation):
            if self.transposed:
                o = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            else:
                o = (size + 2 * p - d * (k - 1) - 1) // s + 1
            out.append(o)
        if out[0] < 1 or out[1] < 1:
            raise ModelError(f"output size {tuple(out)} is empty for input {h}x{w}, kernel {kh}x{kw}, {self}")
        return out[0], out[1]

    def check_shapes(self, x_shape, w_shape) -> tuple[int, int, int, int]:
        """Validate x (N,C,H,W) and w against this spec; return (N, Cout, OH, OW)."""
        self.validate()   # a ConvSpec built directly, without make(), is checked here
        if len(x_shape) != 4:
            raise ModelError(f"x must be 4-D NCHW, got shape {tuple(x_shape)}")
        if len(w_shape) != 4:
            raise ModelError(f"w must be 4-D, got shape {tuple(w_shape)}")
        n, cin, h, w = x_shape
        g = self.groups
        if self.transposed:
            wcin, cout_g, kh, kw = w_shape
            cout = cout_g * g
            if wcin != cin:
                raise ModelError(f"conv_transpose2d: w.shape[0]={wcin} must equal x channels {cin}")
        else:
            cout, cin_g, kh, kw = w_shape
            if cin_g * g != cin:
                raise ModelError(f"conv2d: w.shape[1]*groups={cin_g * g} must equal x channels {cin}")
        if cin % g or cout % g:
            raise ModelError(f"channels in={cin} out={cout} must be divisible by groups={g}")
        if min(n, cin, h, w, cout, kh, kw) < 1:
            raise ModelError(f"empty dimension: x {tuple(x_shape)}, w {tuple(w_shape)}")
        oh, ow = self.output_hw(h, w, kh, kw)
        return n, cout, oh, ow


def conv2d(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """out[n, co, oy, ox] = sum_{ci in group(co), ky, kx} x[n, ci, oy*s - p + ky*d, ox*s - p + kx*d] * w[co, ci', ky, kx]
    (out-of-range input taps are zero)."""
    assert not spec.transposed
    n, cout, oh, ow = spec.check_shapes(x.shape, w.shape)
    _, cin, h, wd = x.shape
    _, cin_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw), g = spec.stride, spec.padding, spec.dilation, spec.groups
    cout_g = cout // g
    xp = np.zeros((n, cin, h + 2 * ph, wd + 2 * pw), dtype=np.result_type(x, w))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    out = np.zeros((n, cout, oh, ow), dtype=xp.dtype)
    for gi in range(g):
        xg = xp[:, gi * cin_g:(gi + 1) * cin_g]
        wg = w[gi * cout_g:(gi + 1) * cout_g]
        for ky in range(kh):
            for kx in range(kw):
                y0, x0 = ky * dh, kx * dw
                patch = xg[:, :, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]
                out[:, gi * cout_g:(gi + 1) * cout_g] += np.einsum("nchw,dc->ndhw", patch, wg[:, :, ky, kx])
    return out


def conv_transpose2d_scatter(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Definition form: each input pixel scatters into out[iy*s - p + ky*d, ix*s - p + kx*d]."""
    assert spec.transposed
    n, cout, oh, ow = spec.check_shapes(x.shape, w.shape)
    _, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw), g = spec.stride, spec.padding, spec.dilation, spec.groups
    cin_g = cin // g
    out = np.zeros((n, cout, oh, ow), dtype=np.result_type(x, w))
    iy, ix = np.arange(h), np.arange(wd)
    for gi in range(g):
        xg = x[:, gi * cin_g:(gi + 1) * cin_g]
        wg = w[gi * cin_g:(gi + 1) * cin_g]
        for ky in range(kh):
            oy = iy * sh - ph + ky * dh
            vy = (oy >= 0) & (oy < oh)
            for kx in range(kw):
                ox = ix * sw - pw + kx * dw
                vx = (ox >= 0) & (ox < ow)
                if not vy.any() or not vx.any():
                    continue
                contrib = np.einsum("nchw,cd->ndhw", xg[:, :, vy][:, :, :, vx], wg[:, :, ky, kx])
                rows = oy[vy][:, None]
                cols = ox[vx][None, :]
                # For a fixed tap, distinct input pixels land on distinct outputs: no index repeats.
                out[:, gi * cout_g:(gi + 1) * cout_g, rows, cols] += contrib
    return out


def zero_insert(x: np.ndarray, stride: tuple[int, int]) -> np.ndarray:
    """Insert stride-1 zeros between neighbouring pixels: (H, W) -> ((H-1)*sh + 1, (W-1)*sw + 1)."""
    n, c, h, w = x.shape
    sh, sw = stride
    out = np.zeros((n, c, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=x.dtype)
    out[:, :, ::sh, ::sw] = x
    return out


def conv_transpose2d_gather(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Zero-insertion form: stride-1 conv2d over the zero-dilated, re-padded input with the flipped,
    channel-swapped kernel. Padding d*(K-1) - p on the leading side, that plus output_padding on the
    trailing side; a negative pad crops."""
    assert spec.transposed
    n, cout, oh, ow = spec.check_shapes(x.shape, w.shape)
    cin, cout_g, kh, kw = w.shape
    g = spec.groups
    cin_g = cin // g
    z = zero_insert(x, spec.stride)
    pads = []
    for k, p, op, d in zip((kh, kw), spec.padding, spec.output_padding, spec.dilation):
        lead = d * (k - 1) - p
        pads.append((lead, lead + op))
    (t, b), (l, r) = pads
    zh, zw = z.shape[2], z.shape[3]
    big = np.zeros((n, cin, zh + max(t, 0) + max(b, 0), zw + max(l, 0) + max(r, 0)), dtype=z.dtype)
    big[:, :, max(t, 0):max(t, 0) + zh, max(l, 0):max(l, 0) + zw] = z
    big = big[:, :, max(-t, 0):big.shape[2] - max(-b, 0), max(-l, 0):big.shape[3] - max(-r, 0)]
    # w[Cin, Cout/g, KH, KW] -> conv2d weight [Cout, Cin/g, KH, KW], flipped spatially.
    wc = np.concatenate([np.swapaxes(w[gi * cin_g:(gi + 1) * cin_g], 0, 1) for gi in range(g)], axis=0)
    wc = wc[:, :, ::-1, ::-1]
    out = conv2d(big, wc, ConvSpec.make(stride=1, padding=0, dilation=spec.dilation, groups=g))
    assert out.shape == (n, cout, oh, ow), (out.shape, (n, cout, oh, ow))
    return out


def conv_transpose2d(x, w, spec):
    """The reference transposed convolution (scatter form)."""
    return conv_transpose2d_scatter(x, w, spec)


def convolve(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """conv2d or conv_transpose2d as the spec says."""
    return conv_transpose2d(x, w, spec) if spec.transposed else conv2d(x, w, spec)


def taps_per_output(w_shape, spec: ConvSpec) -> int:
    """Upper bound on the number of products summed into one output: Cin/groups * KH * KW."""
    if spec.transposed:
        cin, _, kh, kw = w_shape
        return (cin // spec.groups) * kh * kw
    _, cin_g, kh, kw = w_shape
    return cin_g * kh * kw
