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

    def _fake_quant_act(self, x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, levels: int) -> torch.Tensor:
        """Uniform fake quantization of ``x`` over [lo, hi] with ``levels`` steps (straight-through)."""
        scale = torch.clamp((hi - lo) / levels, min=1e-12)
        q = torch.clamp(torch.round((x - lo) / scale), 0, levels) * scale + lo
        return x + (q - x).detach()

    def effective_weight(self, i: int) -> torch.Tensor:
        w = self.convs[i].weight
        fn = self.weight_transform.get(self.names[i])
        return w if fn is None else fn(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """With ``act_bits`` = b, activations are fake-quantized the way ``accelsim.qgen`` runs them
        (ranges from the current batch instead of a calibration batch): the latent input
        symmetric over +-max(4, max|z|) (2^b - 2 steps), ReLU outputs over [0, max] (2^b - 1
        steps), a tanh/sigmoid layer's pre-activation symmetric over +-max|pre| and its output on
        the 1/(2^(b-1) - 1) grid, other outputs over [min, max]."""
        b = self.act_bits
        if b is not None:
            qmax = (1 << (b - 1)) - 1
            zmax = torch.clamp(x.detach().abs().max(), min=4.0)
            x = self._fake_quant_act(x, -zmax, zmax, 2 * qmax)
        for i, conv in enumerate(self.convs):
            w = self.effective_weight(i)
            if isinstance(conv, nn.ConvTranspose2d):
                x = nn.functional.conv_transpose2d(x, w, conv.bias, conv.stride, conv.padding)
            else:
                x = nn.functional.conv2d(x, w, conv.bias, conv.stride, conv.padding)
            act = self.acts[i]
            if b is not None and act in ("tanh", "sigmoid"):
                pmax = torch.clamp(x.detach().abs().max(), min=1e-8)
                x = _ACTS[act](self._fake_quant_act(x, -pmax, pmax, 2 * qmax))
                lo = -1.0 if act == "tanh" else 0.0
                x = self._fake_quant_act(x, torch.tensor(lo), torch.tensor(1.0), 2 * qmax if act == "tanh" else (1 << b) - 1)
                continue
            x = _ACTS[act](x)
            if b is not None:
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
