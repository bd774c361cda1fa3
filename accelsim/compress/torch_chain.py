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

    def effective_weight(self, i: int) -> torch.Tensor:
        w = self.convs[i].weight
        fn = self.weight_transform.get(self.names[i])
        return w if fn is None else fn(w)

    def _conv(self, i: int, x: torch.Tensor) -> torch.Tensor:
        conv, w = self.convs[i], self.effective_weight(i)
        if isinstance(conv, nn.ConvTranspose2d):
            return nn.functional.conv_transpose2d(x, w, conv.bias, conv.stride, conv.padding)
        return nn.functional.conv2d(x, w, conv.bias, conv.stride, conv.padding)

    def _fake_quant_affine(self, x: torch.Tensor, lo, hi, bits: int) -> torch.Tensor:
        """Fake quantization as ``accelsim.runtime`` quantizes a value (straight-through): signed
        ``bits``-bit codes, affine over [min(lo, 0), max(hi, 0)] with an integer zero point
        (``accelsim.formats.fixed.choose_activation_qparams``), round half to even, saturate."""
        qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        lo, hi = torch.clamp(torch.as_tensor(lo), max=0.0), torch.clamp(torch.as_tensor(hi), min=0.0)
        if float(hi - lo) == 0.0:
            return x
        scale = (hi - lo) / (qmax - qmin)
        zp = torch.clamp(torch.round(qmin - lo / scale), qmin, qmax)
        q = (torch.clamp(torch.round(x / scale) + zp, qmin, qmax) - zp) * scale
        return x + (q - x).detach()

    @torch.no_grad()
    def calibrate(self, z: torch.Tensor) -> None:
        """Fix the activation ranges the way ``accelsim.runtime`` calibrates them at deployment: the
        float forward pass (current effective weights, activations not quantized) on the calibration
        batch ``z``, [min, max] per tensor: the latent input, every layer's output after its
        activation, and a tanh/sigmoid layer's pre-activation (the vector unit reads it)."""
        ranges = [(z.min(), z.max())]
        x = z
        for i in range(len(self.convs)):
            x = self._conv(i, x)
            act = self.acts[i]
            if act in ("tanh", "sigmoid"):
                ranges.append((x.min(), x.max()))
            x = _ACTS[act](x)
            if act not in ("tanh", "sigmoid"):
                ranges.append((x.min(), x.max()))
        self.act_ranges = ranges

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """With ``act_bits`` = b, activations are fake-quantized the way ``accelsim.runtime`` runs the
        chain: the latent input and every layer output read by the next layer at b bits, a
        tanh/sigmoid layer's pre-activation at ``VECTOR_BITS`` (the vector unit applies the function
        in float). The ranges are those of the last ``calibrate`` (as deployed), or of the current
        batch when it was never called."""
        from accelsim.runtime.quantized import VECTOR_BITS
        b = self.act_bits
        fixed = self.act_ranges if b is not None else None

        def rng(k, v):
            return fixed[k] if fixed else (v.detach().min(), v.detach().max())

        if b is not None:
            x = self._fake_quant_affine(x, *rng(0, x), b)
        for i in range(len(self.convs)):
            x = self._conv(i, x)
            act = self.acts[i]
            if b is not None and act in ("tanh", "sigmoid"):
                x = _ACTS[act](self._fake_quant_affine(x, *rng(i + 1, x), VECTOR_BITS))
                continue
            x = _ACTS[act](x)
            if b is not None:
                x = self._fake_quant_affine(x, *rng(i + 1, x), b)
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
