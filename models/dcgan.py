"""DCGAN generator and discriminator for 32x32 single-channel images (Radford et al. 2016).

``dcgan-digits`` / ``dcgan-fashion`` generator (fixed: the simulator's zoo uses these shapes)::

    z (N, 64, 1, 1)
    deconv1 ConvTranspose2d(64, 128, 4, stride 1, pad 0, no bias) + bn1 + ReLU   -> (N, 128, 4, 4)
    deconv2 ConvTranspose2d(128, 64, 4, stride 2, pad 1, no bias) + bn2 + ReLU   -> (N, 64, 8, 8)
    deconv3 ConvTranspose2d(64, 32, 4, stride 2, pad 1, no bias)  + bn3 + ReLU   -> (N, 32, 16, 16)
    deconv4 ConvTranspose2d(32, 1, 4, stride 2, pad 1, no bias)   + Tanh         -> (N, 1, 32, 32)

295,424 convolution weights. ``channels`` makes narrower students for knowledge distillation.
"""
from __future__ import annotations

import torch
from torch import nn

Z_DIM = 64
GENERATOR_CHANNELS = (128, 64, 32)
DISCRIMINATOR_CHANNELS = (32, 64, 128)


class Generator(nn.Module):
    """z (N, z_dim, 1, 1) -> image (N, out_channels, 32, 32) in [-1, 1]."""

    def __init__(self, z_dim: int = Z_DIM, channels: tuple[int, int, int] = GENERATOR_CHANNELS,
                 out_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.z_dim, self.channels, self.out_channels = z_dim, tuple(channels), out_channels
        self.deconv1 = nn.ConvTranspose2d(z_dim, c1, 4, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.deconv2 = nn.ConvTranspose2d(c1, c2, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.deconv3 = nn.ConvTranspose2d(c2, c3, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c3)
        self.deconv4 = nn.ConvTranspose2d(c3, out_channels, 4, 2, 1, bias=False)

    @staticmethod
    def config_from_weights(weights) -> dict:
        """Constructor arguments matching a state dict (so narrower students load too)."""
        return {"z_dim": weights["deconv1.weight"].shape[0],
                "channels": tuple(weights[f"deconv{i}.weight"].shape[1] for i in (1, 2, 3)),
                "out_channels": weights["deconv4.weight"].shape[1]}

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.deconv1(z)))
        x = torch.relu(self.bn2(self.deconv2(x)))
        x = torch.relu(self.bn3(self.deconv3(x)))
        return torch.tanh(self.deconv4(x))


class Discriminator(nn.Module):
    """image (N, in_channels, 32, 32) -> real/fake logit (N,)."""

    def __init__(self, channels: tuple[int, int, int] = DISCRIMINATOR_CHANNELS, in_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.channels = tuple(channels)
        self.conv1 = nn.Conv2d(in_channels, c1, 4, 2, 1, bias=False)            # 16x16
        self.conv2 = nn.Conv2d(c1, c2, 4, 2, 1, bias=False)                     # 8x8
        self.bn2 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, c3, 4, 2, 1, bias=False)                     # 4x4
        self.bn3 = nn.BatchNorm2d(c3)
        self.conv4 = nn.Conv2d(c3, 1, 4, 1, 0, bias=False)                      # 1x1

    @staticmethod
    def config_from_weights(weights) -> dict:
        return {"channels": tuple(weights[f"conv{i}.weight"].shape[0] for i in (1, 2, 3)),
                "in_channels": weights["conv1.weight"].shape[1]}

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(the three hidden feature maps, the logit): for feature-matching losses."""
        f1 = nn.functional.leaky_relu(self.conv1(x), 0.2)
        f2 = nn.functional.leaky_relu(self.bn2(self.conv2(f1)), 0.2)
        f3 = nn.functional.leaky_relu(self.bn3(self.conv3(f2)), 0.2)
        return [f1, f2, f3], self.conv4(f3).flatten()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[1]


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BatchNorm gamma N(1, 0.02), beta 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def conv_weight_count(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
