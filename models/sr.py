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
