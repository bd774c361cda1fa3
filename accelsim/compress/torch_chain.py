"""The deploy-form chain as a torch module, for fine-tuning (torch is imported by the caller's
functions only; importing ``accelsim.compress`` does not import this module)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from accelsim.compress.chain import CompressedGenerator

_ACTS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "none": lambda v: v}


class ChainModule(nn.Module):
    """Conv / transposed-conv layers with bias, each followed by its activation. ``weight_transform``
    (layer name -> callable on the weight tensor) applies fake quantization or masks in forward."""

    def __init__(self, cg: CompressedGenerator):
        super().__init__()
        self.names = cg.layer_names()
        self.convs = nn.ModuleList()
        self.acts = []
        self.meta = []
        for layer in cg.layers:
            w = layer.weight
            if layer.transposed:
                conv = nn.ConvTranspose2d(w.shape[0], w.shape[1], w.shape[2:], layer.stride, layer.padding, bias=True)
            else:
                conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], layer.stride, layer.padding, bias=True)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(w.astype(np.float32)))
                conv.bias.copy_(torch.from_numpy((np.zeros(layer.out_channels) if layer.bias is None
                                                  else layer.bias).astype(np.float32)))
            if layer.bias is None:
                conv.bias.requires_grad_(False)
            self.convs.append(conv)
            self.acts.append(layer.act)
        self.weight_transform: dict = {}
        self.act_bits: int | None = None
        self.act_ranges: list | None = None     # set by ``calibrate``

    def _fake_quant_act(self, x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, levels: int) -> torch.Tensor:
        """Uniform fake quantization of ``x`` over [lo, hi] with ``levels`` steps (straight-through)."""
        scale = torch.clamp((hi - lo) / levels, min=1e-12)
        q = torch.clamp(torch.round((x - lo) / scale), 0, levels) * scale + lo
        return x + (q - x).detach()

    def effective_weight(self, i: int) -> torch.Tensor:
        w = self.convs[i].weight
        fn = self.weight_transform.get(self.names[i])
        return w if fn is None else fn(w)

    def _conv(self, i: int, x: torch.Tensor) -> torch.Tensor:
        conv, w = self.convs[i], self.effective_weight(i)
        if isinstance(conv, nn.ConvTranspose2d):
            return nn.functional.conv_transpose2d(x, w, conv.bias, conv.stride, conv.padding)
        return nn.functional.conv2d(x, w, conv.bias, conv.stride, conv.padding)

    @torch.no_grad()
    def calibrate(self, z: torch.Tensor) -> None:
        """Fix the activation ranges the way ``accelsim.qgen`` calibrates them at deployment: the
        float forward pass (current effective weights, activations not quantized) on the
        calibration batch ``z``, max-based per tensor: latent +-max(4, max|z|), ReLU outputs
        [0, max], a tanh/sigmoid layer's pre-activation +-max|pre|, other outputs [min, max]."""
        ranges = [torch.clamp(z.abs().max(), min=4.0)]
        x = z
        for i in range(len(self.convs)):
            x = self._conv(i, x)
            act = self.acts[i]
            if act in ("tanh", "sigmoid"):
                ranges.append(torch.clamp(x.abs().max(), min=1e-8))
            x = _ACTS[act](x)
            if act not in ("tanh", "sigmoid"):
                lo = torch.zeros(()) if act == "relu" else torch.clamp(x.min(), max=-1e-8)
                ranges.append((lo, torch.clamp(x.max(), min=1e-8)))
        self.act_ranges = ranges

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """With ``act_bits`` = b, activations are fake-quantized the way ``accelsim.qgen`` runs them:
        the latent input symmetric over +-zmax (2^b - 2 steps), ReLU outputs over [0, max] (2^b - 1
        steps), a tanh/sigmoid layer's pre-activation symmetric over +-max|pre| and its output on
        the 1/(2^(b-1) - 1) grid, other outputs over [min, max]. The ranges are those of the last
        ``calibrate`` (as deployed), or of the current batch when it was never called."""
        b = self.act_bits
        fixed = self.act_ranges if b is not None else None
        if b is not None:
            qmax = (1 << (b - 1)) - 1
            zmax = fixed[0] if fixed else torch.clamp(x.detach().abs().max(), min=4.0)
            x = self._fake_quant_act(x, -zmax, zmax, 2 * qmax)
        for i in range(len(self.convs)):
            x = self._conv(i, x)
            act = self.acts[i]
            if b is not None and act in ("tanh", "sigmoid"):
                pmax = fixed[i + 1] if fixed else torch.clamp(x.detach().abs().max(), min=1e-8)
                x = _ACTS[act](self._fake_quant_act(x, -pmax, pmax, 2 * qmax))
                lo = -1.0 if act == "tanh" else 0.0
                x = self._fake_quant_act(x, torch.tensor(lo), torch.tensor(1.0), 2 * qmax if act == "tanh" else (1 << b) - 1)
                continue
            x = _ACTS[act](x)
            if b is not None:
                if fixed:
                    lo, hi = fixed[i + 1]
                else:
                    lo = torch.zeros(()) if act == "relu" else torch.clamp(x.detach().min(), max=0.0)
                    hi = torch.clamp(x.detach().max(), min=1e-8)
                x = self._fake_quant_act(x, lo, hi, (1 << b) - 1)
        return x

    def to_generator(self, cg: CompressedGenerator, effective: bool = True) -> CompressedGenerator:
        """``cg`` with this module's weights (``effective``: after ``weight_transform``) and biases."""
        layers = []
        with torch.no_grad():
            for i, layer in enumerate(cg.layers):
                w = (self.effective_weight(i) if effective else self.convs[i].weight).double().numpy()
                b = None if layer.bias is None else self.convs[i].bias.double().numpy()
                layers.append(replace(layer, weight=w.copy(), bias=None if b is None else b.copy()))
        return cg.with_layers(layers)


def teacher_module(teacher):
    """A torch module computing the teacher: a CompressedGenerator or an nn.Module (eval mode)."""
    if isinstance(teacher, CompressedGenerator):
        return ChainModule(teacher).eval()
    return teacher.eval()
