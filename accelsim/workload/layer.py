"""One layer of a generator: op kind, shapes and the MAC counts that follow from them.

Semantics of every field are those of ``torch.nn.Conv2d`` / ``ConvTranspose2d`` / ``Linear``.
Counting conventions (all counts include ``batch``):

- ``macs_direct``: conv2d: output pixels x window; conv_transpose2d: the scatter form, every input
  pixel times every kernel tap (taps that land in the cropped padding included). This is the
  "direct MACs" figure of DCGAN-64 (0.105 G).
- ``macs_zero_insert``: conv_transpose2d as a stride-1 conv over the zero-inserted, padded input:
  output pixels x full window (the convention of SCALE-Sim, ZigZag and the GAN Compression paper).
- ``macs_effectual``: only products of a real (not inserted, not zero-padding) input with a weight
  that land inside the output. Reflection/replication padding reads real data, so those taps count.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from accelsim.errors import ModelError

CONV_OPS = ("conv2d", "conv_transpose2d", "linear")
# Streamed on the vector unit (inputs read once, output written once): residual add/sub/mul, data
# movement (upsample, pixel shuffle, pad, permute, embedding rows) and unfused elementwise work
# (``elementwise``: an activation or normalization whose input no conv produced).
ELEMENTWISE_OPS = ("add", "sub", "mul", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pad", "permute",
                   "embedding", "elementwise")
BINARY_OPS = ("add", "sub", "mul")
OPS = CONV_OPS + ELEMENTWISE_OPS
PADDING_MODES = ("zeros", "reflect", "replicate")


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        return (v, v)
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return (int(v[0]), int(v[1]))
    raise ModelError(f"{name} must be an int or a pair of ints, got {v!r}")


def conv_out_size(n_in: int, k: int, s: int, p: int, d: int) -> int:
    return (n_in + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_out_size(n_in: int, k: int, s: int, p: int, op: int, d: int) -> int:
    return (n_in - 1) * s - 2 * p + d * (k - 1) + op + 1


def conv_valid_taps(n_in: int, n_out: int, k: int, s: int, p: int, d: int) -> int:
    """Number of (output index, tap) pairs along one axis whose input index lies inside [0, n_in)."""
    count = 0
    for t in range(k):
        # input index i = o*s + t*d - p must satisfy 0 <= i < n_in
        lo = max(0, -(-(p - t * d) // s))            # ceil((p - t*d)/s)
        hi = min(n_out - 1, (n_in - 1 + p - t * d) // s)
        count += max(0, hi - lo + 1)
    return count


def conv_transpose_valid_taps(n_in: int, n_out: int, k: int, s: int, p: int, d: int) -> int:
    """Number of (input index, tap) pairs along one axis that land inside the output [0, n_out)."""
    count = 0
    for t in range(k):
        # output index o = i*s - p + t*d must satisfy 0 <= o < n_out
        lo = max(0, -(-(p - t * d) // s))
        hi = min(n_in - 1, (n_out - 1 + p - t * d) // s)
        count += max(0, hi - lo + 1)
    return count


@dataclass(frozen=True)
class Layer:
    """A layer. Spatial pairs are (height, width). ``norm_params`` counts the affine parameters of a
    normalization folded into (BatchNorm) or following (InstanceNorm) this layer, so the published
    parameter count is reproduced; ``bias_folded`` is True when a folded BatchNorm gives the layer
    a bias on hardware even though the torch layer has none."""
    name: str
    op: str
    in_channels: int
    out_channels: int
    in_hw: tuple[int, int]
    kernel_hw: tuple[int, int] = (1, 1)
    stride_hw: tuple[int, int] = (1, 1)
    padding_hw: tuple[int, int] = (0, 0)
    output_padding_hw: tuple[int, int] = (0, 0)
    dilation_hw: tuple[int, int] = (1, 1)
    groups: int = 1
    batch: int = 1
    bias: bool = False
    bias_folded: bool = False
    padding_mode: str = "zeros"
    norm_params: int = 0
    scale_factor: int = 1
    post_ops: tuple[str, ...] = field(default=())
    operands: int | None = None              # tensors read (default: 2 for add/sub/mul, else 1)
    output_hw: tuple[int, int] | None = None  # data ops whose output size is not a scale (pad, resize)

    def __post_init__(self):
        if self.op not in OPS:
            raise ModelError(f"layer {self.name!r}: op must be one of {', '.join(OPS)}, got {self.op!r}")
        for fname in ("in_hw", "kernel_hw", "stride_hw", "padding_hw", "output_padding_hw", "dilation_hw"):
            object.__setattr__(self, fname, _pair(getattr(self, fname), f"layer {self.name!r}: {fname}"))
        for fname in ("in_channels", "out_channels", "groups", "batch", "scale_factor"):
            v = getattr(self, fname)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ModelError(f"layer {self.name!r}: {fname} must be an integer >= 1, got {v!r}")
        if min(self.in_hw + self.kernel_hw + self.stride_hw + self.dilation_hw) < 1:
            raise ModelError(f"layer {self.name!r}: in_hw, kernel_hw, stride_hw, dilation_hw must be >= 1")
        if min(self.padding_hw + self.output_padding_hw) < 0 or self.norm_params < 0:
            raise ModelError(f"layer {self.name!r}: padding_hw, output_padding_hw, norm_params must be >= 0")
        if self.padding_mode not in PADDING_MODES:
            raise ModelError(f"layer {self.name!r}: padding_mode must be one of {PADDING_MODES}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ModelError(f"layer {self.name!r}: groups={self.groups} must divide in_channels and out_channels")
        if self.op == "conv_transpose2d":
            for op_, s, d in zip(self.output_padding_hw, self.stride_hw, self.dilation_hw):
                if op_ >= max(s, d):
                    raise ModelError(f"layer {self.name!r}: output_padding must be < max(stride, dilation)")
        if self.op in BINARY_OPS and self.in_channels != self.out_channels:
            raise ModelError(f"layer {self.name!r}: {self.op} needs in_channels == out_channels")
        if self.operands is not None and not (isinstance(self.operands, int) and 1 <= self.operands <= 64):
            raise ModelError(f"layer {self.name!r}: operands must be an integer in [1, 64], got {self.operands!r}")
        if self.output_hw is not None:
            if self.is_conv:
                raise ModelError(f"layer {self.name!r}: output_hw is for data ops; a conv's output follows its shape")
            object.__setattr__(self, "output_hw", _pair(self.output_hw, f"layer {self.name!r}: output_hw"))
        if self.op == "pixel_shuffle" and self.in_channels != self.out_channels * self.scale_factor ** 2:
            raise ModelError(f"layer {self.name!r}: pixel_shuffle needs in_channels == out_channels * scale_factor^2")
        if min(self.out_hw) < 1:
            raise ModelError(f"layer {self.name!r}: output would be empty ({self.out_hw})")

    # ---- shapes ---------------------------------------------------------------------------
    @property
    def is_conv(self) -> bool:
        return self.op in CONV_OPS

    @cached_property
    def out_hw(self) -> tuple[int, int]:
        if self.output_hw is not None:
            return self.output_hw
        if self.op in ("conv2d", "linear"):
            return tuple(conv_out_size(n, k, s, p, d) for n, k, s, p, d in
                         zip(self.in_hw, self.kernel_hw, self.stride_hw, self.padding_hw, self.dilation_hw))
        if self.op == "conv_transpose2d":
            return tuple(conv_transpose_out_size(n, k, s, p, o, d) for n, k, s, p, o, d in
                         zip(self.in_hw, self.kernel_hw, self.stride_hw, self.padding_hw,
                             self.output_padding_hw, self.dilation_hw))
        if self.op in ("upsample_nearest", "upsample_bilinear", "pixel_shuffle"):
            return (self.in_hw[0] * self.scale_factor, self.in_hw[1] * self.scale_factor)
        return self.in_hw

    @property
    def in_pixels(self) -> int:
        return self.in_hw[0] * self.in_hw[1]

    @property
    def out_pixels(self) -> int:
        h, w = self.out_hw
        return h * w

    @property
    def input_elems(self) -> int:
        """Elements of the input tensor(s) read (add/sub/mul read two operands unless told otherwise;
        an embedding reads one table row per output position)."""
        if self.op == "embedding":
            return self.output_elems
        n = self.batch * self.in_channels * self.in_pixels
        return n * (self.operands if self.operands is not None else (2 if self.op in BINARY_OPS else 1))

    @property
    def output_elems(self) -> int:
        return self.batch * self.out_channels * self.out_pixels

    @property
    def kernel_taps(self) -> int:
        return self.kernel_hw[0] * self.kernel_hw[1]

    # ---- parameters -----------------------------------------------------------------------
    @property
    def weight_elems(self) -> int:
        if not self.is_conv:
            return 0
        return self.in_channels // self.groups * self.out_channels * self.kernel_taps

    @property
    def bias_elems(self) -> int:
        """Bias values stored on hardware (torch bias or one folded from BatchNorm)."""
        return self.out_channels if self.is_conv and (self.bias or self.bias_folded) else 0

    @property
    def params(self) -> int:
        """Parameter count of the published torch model (weights + torch bias + norm affine)."""
        return self.weight_elems + (self.out_channels if self.bias and self.is_conv else 0) + self.norm_params

    # ---- MAC counts -----------------------------------------------------------------------
    @property
    def _reduction(self) -> int:
        return self.in_channels // self.groups * self.out_channels

    @property
    def macs_direct(self) -> int:
        if not self.is_conv:
            return 0
        pixels = self.in_pixels if self.op == "conv_transpose2d" else self.out_pixels
        return self.batch * pixels * self.kernel_taps * self._reduction

    @property
    def macs_zero_insert(self) -> int:
        if not self.is_conv:
            return 0
        return self.batch * self.out_pixels * self.kernel_taps * self._reduction

    @property
    def macs(self) -> int:
        """The conventional count: direct for conv2d/linear, zero-insert for conv_transpose2d."""
        return self.macs_zero_insert

    @property
    def macs_effectual(self) -> int:
        if not self.is_conv:
            return 0
        if self.op == "conv_transpose2d":
            taps = [conv_transpose_valid_taps(n, o, k, s, p, d) for n, o, k, s, p, d in
                    zip(self.in_hw, self.out_hw, self.kernel_hw, self.stride_hw, self.padding_hw, self.dilation_hw)]
        elif self.padding_mode != "zeros":
            taps = [o * k for o, k in zip(self.out_hw, self.kernel_hw)]
        else:
            taps = [conv_valid_taps(n, o, k, s, p, d) for n, o, k, s, p, d in
                    zip(self.in_hw, self.out_hw, self.kernel_hw, self.stride_hw, self.padding_hw, self.dilation_hw)]
        return self.batch * taps[0] * taps[1] * self._reduction

    @property
    def elementwise_ops(self) -> int:
        """Scalar operations done outside the PE array: one per output of add/sub/mul and of unfused
        elementwise work, four (two-tap lerp in each axis) per output of a bilinear resize."""
        if self.op in BINARY_OPS or self.op == "elementwise":
            return self.output_elems
        return 4 * self.output_elems if self.op == "upsample_bilinear" else 0

    def with_batch(self, batch: int) -> "Layer":
        from dataclasses import replace
        return self if batch == self.batch else replace(self, batch=batch)


@lru_cache(maxsize=4096)
def unnamed(layer: Layer) -> Layer:
    """``layer`` without its name: the key under which the simulator's memos (``mapping.search``,
    ``sim.simulate_conv``) share work between identical layers of different names (repeated blocks)."""
    from dataclasses import replace
    return layer if layer.name == "" else replace(layer, name="")
