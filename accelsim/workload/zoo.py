"""Published generator shapes. Each builder cites the public definition it follows; the tests pin the
parameter and MAC counts (and say where the reference figures come from).

Normalization: BatchNorm is folded into the preceding conv (its 2*C affine parameters are counted
in ``norm_params`` and the conv gets a folded bias); InstanceNorm cannot be folded (it normalizes
with run-time statistics) and is treated as a cost-free post-op, its affine parameters (if any)
counted. Activations are fused post-ops. Concatenation (U-Net skips, RRDB dense links) is free:
the tensors sit side by side in DRAM.
"""
from __future__ import annotations

import functools

from accelsim.errors import ModelError
from accelsim.workload.graph import Workload
from accelsim.workload.layer import Layer


class _Builder:
    """Appends layers in order and records what each reads (``Workload.inputs``): the previous
    layer's output, unless told otherwise (``src``; None: not known)."""

    def __init__(self, c: int, h: int, w: int):
        self.c, self.h, self.w = c, h, w
        self.layers: list[Layer] = []
        self.inputs: list[tuple[int, ...] | None] = []
        self.block = -1                  # the tensor a residual block started from
        self.concat = False              # the next conv reads an untracked concatenation

    @property
    def last(self) -> int:
        return len(self.layers) - 1

    def _append(self, layer: Layer, src) -> None:
        self.layers.append(layer)
        self.inputs.append((self.last - 1,) if src == "prev" else src)

    def start_block(self):
        self.block = self.last
        return self

    def conv(self, name, cout, k, s=1, p=0, *, cin=None, bias=False, bn=False, norm_affine=False,
             transposed=False, op=0, groups=1, padding_mode="zeros", post=(), src="prev"):
        if isinstance(src, tuple):
            pass                         # told explicitly (a concatenation of these layers' outputs)
        elif src == "prev" and (self.concat or (cin is not None and cin != self.c)):
            src = None                   # reads a concatenation the builder does not track
        self.concat = False
        cin = self.c if cin is None else cin
        layer = Layer(name, "conv_transpose2d" if transposed else "conv2d", cin, cout, (self.h, self.w),
                      kernel_hw=k, stride_hw=s, padding_hw=p, output_padding_hw=op, groups=groups,
                      bias=bias, bias_folded=bn, padding_mode=padding_mode,
                      norm_params=2 * cout if (bn or norm_affine) else 0, post_ops=tuple(post))
        self._append(layer, src)
        self.c, (self.h, self.w) = cout, layer.out_hw
        return layer

    def add(self, name, skip=None):
        """Residual add of the previous layer's output and ``skip`` (default: the block's start)."""
        skip = self.block if skip is None else skip
        self._append(Layer(name, "add", self.c, self.c, (self.h, self.w)), (self.last, skip))

    def upsample(self, name, factor):
        layer = Layer(name, "upsample_nearest", self.c, self.c, (self.h, self.w), scale_factor=factor)
        self._append(layer, "prev")
        self.h, self.w = layer.out_hw

    def at(self, c, h, w):
        """Continue from a tensor of this shape: a concatenation the builder does not track when the
        channels change (the next conv's input is then not known)."""
        self.concat = c != self.c
        self.c, self.h, self.w = c, h, w
        return self

    def workload(self, name: str, input_chw, source: str) -> Workload:
        return Workload(name, tuple(self.layers), input_chw, source, tuple(self.inputs), (self.last,))


def dcgan_64() -> Workload:
    """DCGAN generator, Radford et al. 2015, as in pytorch/examples dcgan/main.py (nz=100, ngf=64,
    nc=3): ConvT(100,512,4,1,0)+BN+ReLU, three ConvT(k4,s2,p1)+BN+ReLU, ConvT(64,3,4,2,1)+Tanh."""
    b = _Builder(100, 1, 1)
    b.conv("G1", 512, 4, 1, 0, transposed=True, bn=True, post=("relu",))
    b.conv("G2", 256, 4, 2, 1, transposed=True, bn=True, post=("relu",))
    b.conv("G3", 128, 4, 2, 1, transposed=True, bn=True, post=("relu",))
    b.conv("G4", 64, 4, 2, 1, transposed=True, bn=True, post=("relu",))
    b.conv("G5", 3, 4, 2, 1, transposed=True, post=("tanh",))
    return b.workload("dcgan-64", (100, 1, 1), "pytorch/examples dcgan/main.py Generator")


def pix2pix_unet256() -> Workload:
    """pix2pix U-Net-256 generator (Isola et al. 2017), junyanz/pytorch-CycleGAN-and-pix2pix
    models/networks.py UnetGenerator(3, 3, num_downs=8, ngf=64, norm=BatchNorm2d): convs have no
    bias (BatchNorm) except the outermost ConvTranspose; decoder inputs are skip concatenations."""
    b = _Builder(3, 256, 256)
    chans = [64, 128, 256, 512, 512, 512, 512, 512]
    for i, c in enumerate(chans):   # encoder: Conv(k4,s2,p1); BN except outermost and innermost
        b.conv(f"down{i + 1}", c, 4, 2, 1, bn=0 < i < len(chans) - 1, post=("leaky_relu",))
    skips = chans[:-1][::-1]        # channels concatenated before each decoder conv
    outs = [512, 512, 512, 512, 256, 128, 64]
    for i, cout in enumerate(outs):
        cin = chans[-1] if i == 0 else outs[i - 1] + skips[i - 1]
        src = "prev" if i == 0 else (b.last, len(chans) - 1 - i)   # [previous, encoder skip] concatenated
        b.conv(f"up{len(chans) - i}", cout, 4, 2, 1, cin=cin, transposed=True, bn=True, post=("relu",), src=src)
    b.conv("up1", 3, 4, 2, 1, cin=outs[-1] + chans[0], transposed=True, bias=True, post=("tanh",), src=(b.last, 0))
    return b.workload("pix2pix-unet256", (3, 256, 256),
                    "junyanz/pytorch-CycleGAN-and-pix2pix UnetGenerator (unet_256, batch norm)")


def cyclegan_resnet9() -> Workload:
    """CycleGAN ResNet-9 generator at 256x256 (Zhu et al. 2017), junyanz/pytorch-CycleGAN-and-pix2pix
    ResnetGenerator(3, 3, ngf=64, norm=InstanceNorm2d (affine=False, so convs have bias),
    n_blocks=9, reflection padding)."""
    b = _Builder(3, 256, 256)
    b.conv("c7s1-64", 64, 7, 1, 3, bias=True, padding_mode="reflect", post=("instance_norm", "relu"))
    b.conv("d128", 128, 3, 2, 1, bias=True, post=("instance_norm", "relu"))
    b.conv("d256", 256, 3, 2, 1, bias=True, post=("instance_norm", "relu"))
    for i in range(9):
        b.start_block()
        b.conv(f"R{i + 1}a", 256, 3, 1, 1, bias=True, padding_mode="reflect", post=("instance_norm", "relu"))
        b.conv(f"R{i + 1}b", 256, 3, 1, 1, bias=True, padding_mode="reflect", post=("instance_norm",))
        b.add(f"R{i + 1}add")
    b.conv("u128", 128, 3, 2, 1, op=1, bias=True, transposed=True, post=("instance_norm", "relu"))
    b.conv("u64", 64, 3, 2, 1, op=1, bias=True, transposed=True, post=("instance_norm", "relu"))
    b.conv("c7s1-3", 3, 7, 1, 3, bias=True, padding_mode="reflect", post=("tanh",))
    return b.workload("cyclegan-resnet9", (3, 256, 256),
                    "junyanz/pytorch-CycleGAN-and-pix2pix ResnetGenerator (resnet_9blocks)")


def stargan_128() -> Workload:
    """StarGAN generator (Choi et al. 2018), yunjey/stargan model.py Generator(conv_dim=64, c_dim=5,
    repeat_num=6) at 128x128: bias-free convs, InstanceNorm(affine=True), 6 residual blocks."""
    b = _Builder(3 + 5, 128, 128)
    b.conv("conv1", 64, 7, 1, 3, norm_affine=True, post=("instance_norm", "relu"))
    b.conv("down1", 128, 4, 2, 1, norm_affine=True, post=("instance_norm", "relu"))
    b.conv("down2", 256, 4, 2, 1, norm_affine=True, post=("instance_norm", "relu"))
    for i in range(6):
        b.start_block()
        b.conv(f"res{i + 1}a", 256, 3, 1, 1, norm_affine=True, post=("instance_norm", "relu"))
        b.conv(f"res{i + 1}b", 256, 3, 1, 1, norm_affine=True, post=("instance_norm",))
        b.add(f"res{i + 1}add")
    b.conv("up1", 128, 4, 2, 1, transposed=True, norm_affine=True, post=("instance_norm", "relu"))
    b.conv("up2", 64, 4, 2, 1, transposed=True, norm_affine=True, post=("instance_norm", "relu"))
    b.conv("conv_out", 3, 7, 1, 3, post=("tanh",))
    return b.workload("stargan-128", (8, 128, 128), "yunjey/stargan model.py Generator")


def esrgan_rrdb23_x4(lr_hw: int = 64) -> Workload:
    """ESRGAN generator (Wang et al. 2018), xinntao/ESRGAN RRDBNet_arch.py RRDBNet(3, 3, nf=64, nb=23,
    gc=32), x4 by two nearest-neighbour upsamplings; LR input lr_hw x lr_hw (default 64 -> 256)."""
    b = _Builder(3, lr_hw, lr_hw)
    b.conv("conv_first", 64, 3, 1, 1, bias=True)
    for r in range(23):
        rrdb_in = b.last
        for d in range(3):
            pre = f"rrdb{r + 1}.rdb{d + 1}"
            b.start_block()
            for j in range(4):
                b.at(64 + 32 * j, b.h, b.w).conv(f"{pre}.conv{j + 1}", 32, 3, 1, 1, bias=True, post=("leaky_relu",))
            b.at(64 + 32 * 4, b.h, b.w).conv(f"{pre}.conv5", 64, 3, 1, 1, bias=True)
            b.add(f"{pre}.add")
        b.add(f"rrdb{r + 1}.add", skip=rrdb_in)
    b.conv("trunk_conv", 64, 3, 1, 1, bias=True)
    b.add("trunk_add", skip=0)
    b.upsample("up1", 2)
    b.conv("upconv1", 64, 3, 1, 1, bias=True, post=("leaky_relu",))
    b.upsample("up2", 2)
    b.conv("upconv2", 64, 3, 1, 1, bias=True, post=("leaky_relu",))
    b.conv("HRconv", 64, 3, 1, 1, bias=True, post=("leaky_relu",))
    b.conv("conv_last", 3, 3, 1, 1, bias=True)
    return b.workload("esrgan-rrdb23-x4", (3, lr_hw, lr_hw), "xinntao/ESRGAN RRDBNet_arch.py")


def gan_compression_h2z() -> Workload:
    """GAN Compression (Li et al. 2020) horse->zebra student, mit-han-lab/gan-compression
    SubMobileResnetGenerator with config_str 16_16_32_16_32_32_16_16 (scripts/cycle_gan/horse2zebra/
    test_compressed.sh), InstanceNorm (so convs have bias), reflection padding, 256x256."""
    ch = [16, 16, 32, 16, 32, 32, 16, 16]
    b = _Builder(3, 256, 256)
    b.conv("conv_in", ch[0], 7, 1, 3, bias=True, padding_mode="reflect", post=("instance_norm", "relu"))
    b.conv("down1", ch[1] * 2, 3, 2, 1, bias=True, post=("instance_norm", "relu"))
    b.conv("down2", ch[2] * 2 * 2, 3, 2, 1, cin=ch[1] * 2, bias=True, post=("instance_norm", "relu"))
    width = ch[2] * 4
    for i in range(9):
        mid = ch[3 + i // 3] * 4
        pre = f"block{i + 1}"
        b.start_block()
        b.at(width, b.h, b.w).conv(f"{pre}.dw1", width, 3, 1, 1, groups=width, bias=True, padding_mode="reflect")
        b.conv(f"{pre}.pw1", mid, 1, bias=True, post=("instance_norm", "relu"))
        b.conv(f"{pre}.dw2", mid, 3, 1, 1, groups=mid, bias=True, padding_mode="reflect")
        b.conv(f"{pre}.pw2", width, 1, bias=True, post=("instance_norm",))
        b.add(f"{pre}.add")
    b.conv("up1", ch[6] * 4 // 2, 3, 2, 1, op=1, transposed=True, bias=True, post=("instance_norm", "relu"))
    b.conv("up2", ch[7] * 2 // 2, 3, 2, 1, cin=ch[6] * 2, op=1, transposed=True, bias=True,
           post=("instance_norm", "relu"))
    b.conv("conv_out", 3, 7, 1, 3, cin=ch[7], bias=True, padding_mode="reflect", post=("tanh",))
    return b.workload("gancompression-h2z", (3, 256, 256),
                    "mit-han-lab/gan-compression SubMobileResnetGenerator 16_16_32_16_32_32_16_16")


ZOO = {
    "dcgan-64": dcgan_64,
    "pix2pix-unet256": pix2pix_unet256,
    "cyclegan-resnet9": cyclegan_resnet9,
    "stargan-128": stargan_128,
    "esrgan-rrdb23-x4": esrgan_rrdb23_x4,
    "gancompression-h2z": gan_compression_h2z,
}


def get_model(name: str) -> Workload:
    """The workload of a published shape (``ZOO``) or of a generator with shipped weights, priced from
    its graph (``accelsim.graph.shipped``: the same layer names every command shows)."""
    if name in ZOO:
        return ZOO[name]()
    from accelsim.models import registry
    if name in registry.GENERATORS:
        return _shipped(name)
    raise ModelError(f"unknown model {name!r}; known: {', '.join((*registry.GENERATORS, *ZOO))}")


@functools.lru_cache(maxsize=8)
def _shipped(name: str) -> Workload:
    from accelsim.graph.shipped import shipped_graph
    from accelsim.workload.from_graph import from_graph
    return from_graph(shipped_graph(name), name)
