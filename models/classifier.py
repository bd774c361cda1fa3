"""A small digit CNN whose penultimate (128-d, post-ReLU) features define ``digit-FID``.

    x (N, 1, 32, 32) in [-1, 1]
    conv1 3x3 1->32 pad 1 + ReLU + maxpool 2    -> 32 x 16 x 16
    conv2 3x3 32->64 pad 1 + ReLU + maxpool 2   -> 64 x 8 x 8
    conv3 3x3 64->64 pad 1 + ReLU + maxpool 2   -> 64 x 4 x 4
    fc1 1024 -> 128 + ReLU                      -> features
    fc2 128 -> 10                               -> logits

(dropout before fc2 during training only). ``features.digit_features`` is the same forward pass in
numpy, so ``digit-FID`` needs no torch at run time.
"""
from __future__ import annotations

import torch
from torch import nn

FEATURE_DIM = 128


class DigitClassifier(nn.Module):
    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 4 * 4, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, 10)
        self.dropout = nn.Dropout(dropout)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv1, self.conv2, self.conv3):
            x = nn.functional.max_pool2d(torch.relu(conv(x)), 2)
        return torch.relu(self.fc1(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(self.features(x)))
