"""``sr-x4``: a small x4 super-resolution generator with transposed-conv upsampling.

A plain convolution chain in the FSRCNN layout (Dong et al. 2016; the generator family of SRGAN /
MFAGAN-style accelerators, kept to a chain so the golden models and kernels run it layer by layer)::

    x (N, 3, h, w) RGB in [-1, 1]
    conv1  5x5, 3 -> 48, pad 2 + ReLU          feature extraction
    conv2  1x1, 48 -> 24 + ReLU                shrinking
    conv3..conv6  3x3, 24 -> 24, pad 1 + ReLU  mapping (4 layers)
    conv7  1x1, 24 -> 48 + ReLU                expanding
    deconv ConvTranspose2d 8x8, stride 4, pad 2, 48 -> 3   x4 upsampling (no activation)
    -> (N, 3, 4h, 4w)

35,856 weights + 219 biases. ``accelsim.graph.shipped.SR_LAYERS`` describes the same chain without torch.

``PatchDiscriminator``: the PatchGAN discriminator (Isola et al. 2017, "Image-to-Image Translation
with Conditional Adversarial Networks"; the discriminator family MFAGAN distils) for HR images, one
real/fake logit per receptive-field patch. No weights are shipped: the teacher's is trained from
this file against the teacher generator on the LR/HR patches of ``train_sr``'s images, the student's
distilled from it (``accelsim.compress.distill``).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

SCALE = 4


class SRGenerator(nn.Module):
    def __init__(self, features: int = 48, shrink: int = 24, mapping_layers: int = 4):
        super().__init__()
        if mapping_layers != 4:
            raise ValueError("sr-x4 has exactly 4 mapping layers (accelsim.graph.shipped.SR_LAYERS)")
        self.conv1 = nn.Conv2d(3, features, 5, padding=2)
        self.conv2 = nn.Conv2d(features, shrink, 1)
        self.conv3 = nn.Conv2d(shrink, shrink, 3, padding=1)
        self.conv4 = nn.Conv2d(shrink, shrink, 3, padding=1)
        self.conv5 = nn.Conv2d(shrink, shrink, 3, padding=1)
        self.conv6 = nn.Conv2d(shrink, shrink, 3, padding=1)
        self.conv7 = nn.Conv2d(shrink, features, 1)
        self.deconv = nn.ConvTranspose2d(features, 3, 8, stride=SCALE, padding=2)

    @staticmethod
    def config_from_weights(weights) -> dict:
        return {"features": weights["conv1.weight"].shape[0], "shrink": weights["conv2.weight"].shape[0]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.conv6, self.conv7):
            x = torch.relu(conv(x))
        return self.deconv(x)


def bilinear_kernel(scale: int = SCALE) -> np.ndarray:
    """1-D taps of bilinear x``scale`` upsampling for ConvTranspose2d(kernel 2*scale, stride scale,
    padding scale//2): ``1 - |i - (scale - 0.5)| / scale``."""
    i = np.arange(2 * scale, dtype=np.float64)
    return 1.0 - np.abs(i - (scale - 0.5)) / scale


def init_weights(model: SRGenerator, seed_channels: int = 3) -> None:
    """He initialisation for the ReLU convs, N(0, 0.001) for the deconvolution (FSRCNN); then an
    identity path so training starts from bilinear upsampling instead of from noise: channels
    0..2 carry relu(x) and 3..5 carry relu(-x) of the RGB input unchanged through every conv (their
    rows are identity taps, zero elsewhere), and the deconvolution maps them to
    ``bilinear(relu(x)) - bilinear(relu(-x)) = bilinear(x)``. The other channels start random."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    nn.init.normal_(model.deconv.weight, 0.0, 0.001)
    nn.init.zeros_(model.deconv.bias)
    n = 2 * seed_channels
    with torch.no_grad():
        convs = [model.conv1, model.conv2, model.conv3, model.conv4, model.conv5, model.conv6, model.conv7]
        for li, conv in enumerate(convs):
            k = conv.weight.shape[-1]
            conv.weight[:n] = 0.0
            for c in range(n):
                if li == 0:
                    conv.weight[c, c % seed_channels, k // 2, k // 2] = 1.0 if c < seed_channels else -1.0
                else:
                    conv.weight[c, c, k // 2, k // 2] = 1.0
        taps = torch.from_numpy(np.outer(bilinear_kernel(), bilinear_kernel()).astype(np.float32))
        for c in range(n):
            model.deconv.weight[c] = 0.0
            model.deconv.weight[c, c % seed_channels] = taps if c < seed_channels else -taps


class PatchDiscriminator(nn.Module):
    """PatchGAN for (N, 3, H, W) images in [-1, 1]: ``n_down`` convs 4x4 stride 2 pad 1 (widths
    ``width``, 2 ``width``, 4 ``width``, ..., capped at 8 ``width``) + LeakyReLU(0.2), one conv 3x3
    stride 1 pad 1 + LeakyReLU(0.2), and a conv 3x3 pad 1 to one channel: logits of shape
    (N, 1, H / 2^n_down, W / 2^n_down) (H, W multiples of 2^n_down), each seeing a
    ``receptive_field(n_down)``-pixel square of the input. No normalisation layers (the batch
    statistics of a small discriminator on 16 patches are noisy). ``features`` also returns the hidden
    maps (``finetune.teacher_loss`` matches them)."""

    def __init__(self, width: int = 32, n_down: int = 3, in_channels: int = 3):
        super().__init__()
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise ValueError(f"PatchDiscriminator: width must be a positive integer, got {width!r}")
        if not isinstance(n_down, int) or isinstance(n_down, bool) or not 1 <= n_down <= 5:
            raise ValueError(f"PatchDiscriminator: n_down must be an integer in [1, 5], got {n_down!r}")
        self.width, self.n_down = width, n_down
        convs, c = [], in_channels
        for i in range(n_down):
            out = width * min(2 ** i, 8)
            convs.append(nn.Conv2d(c, out, 4, stride=2, padding=1))
            c = out
        convs.append(nn.Conv2d(c, c, 3, padding=1))
        self.convs = nn.ModuleList(convs)
        self.head = nn.Conv2d(c, 1, 3, padding=1)

    @staticmethod
    def receptive_field(n_down: int = 3) -> int:
        """Input pixels (per side) one output logit sees: 4x4 stride-2 convs, then two 3x3 convs."""
        rf, jump = 1, 1
        for k, s in [(4, 2)] * n_down + [(3, 1), (3, 1)]:
            rf += (k - 1) * jump
            jump *= s
        return rf

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        feats = []
        for conv in self.convs:
            x = nn.functional.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return feats, self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[1]


def init_discriminator(model: PatchDiscriminator, seed: int = 0) -> PatchDiscriminator:
    """DCGAN initialisation (N(0, 0.02) weights, zero biases) from a fixed torch seed."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
                nn.init.zeros_(m.bias)
    return model
