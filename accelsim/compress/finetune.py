"""Fine-tuning a compressed generator against a teacher (torch, imported inside the functions).

Loss per batch of fixed-seed latents z (Aguinaldo et al. 2019, "Compressing GANs using knowledge
distillation"): ``pixel_weight * mean|G_s(z) - G_t(z)|`` (L1, per pixel) ``+ adv_weight *
softplus(-D_t(G_s(z)))`` (the non-saturating generator loss under the teacher's frozen
discriminator ``D_t``, when one is shipped for the model: ``<model>-disc``). No real data is needed.

Constraints are kept during training, in the forward pass of every step:

* pruning masks: the weight is multiplied by its mask (pruned weights stay zero, get no gradient);
* quantized layers (int / ternary / binary codes, or ``weight_kind`` for QAT): fake quantization
  with a straight-through gradient (``qat.fake_quant_torch``); at the end the codes are re-derived
  with the golden quantizer (``precision.requantize_like``);
* codebook-shared layers are frozen (their weights are the centroids).
"""
from __future__ import annotations

import logging
import time

import numpy as np

from accelsim.compress.chain import CompressedGenerator

log = logging.getLogger(__name__)


def load_teacher_discriminator(model: str):
    """The shipped discriminator of ``model`` as a frozen torch module, or None."""
    from accelsim.models import registry
    name = f"{model}-disc"
    if name not in registry.MODELS or name not in registry.available():
        return None
    disc = registry.load(name)
    for p in disc.parameters():
        p.requires_grad_(False)
    return disc


def _kind_of(enc) -> str | None:
    return {"int": f"int{enc.value_bits}", "ternary": "ternary", "binary": "binary"}.get(enc.value_kind)


def finetune(cg: CompressedGenerator, teacher, steps: int, lr: float = 2e-4, batch_size: int = 64,
             pixel_weight: float = 1.0, adv_weight: float = 0.05, discriminator="auto", weight_kind: str | None = None,
             act_bits: int | None = None, seed: int = 0, threads: int | None = None,
             step_name: str | None = "ft") -> CompressedGenerator:
    """Fine-tune ``cg`` for ``steps`` Adam steps towards ``teacher`` (a CompressedGenerator or a
    torch module) keeping its masks, codes and codebooks; ``weight_kind`` adds fake quantization of
    every layer (quantization-aware training); ``act_bits`` fake-quantizes the activations as the
    integer kernels will run them (``torch_chain.ChainModule.forward``). Deterministic for a fixed
    ``seed`` and thread count."""
    import torch

    from accelsim.compress.precision import requantize_like
    from accelsim.compress.qat import fake_quant_torch
    from accelsim.compress.torch_chain import ChainModule, teacher_module

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    student = ChainModule(cg).train()
    student.act_bits = act_bits
    t_module = teacher_module(teacher)
    disc = load_teacher_discriminator(cg.model) if discriminator == "auto" else discriminator
    if disc is None:
        adv_weight = 0.0
    masks = {}
    for i, layer in enumerate(cg.layers):
        enc = cg.encodings[layer.name]
        mask = None if enc.mask is None else torch.from_numpy(enc.mask.astype(np.float32))
        kind = weight_kind or _kind_of(enc)
        if enc.value_kind == "codebook":
            student.convs[i].weight.requires_grad_(False)
            continue
        out_axis = layer.out_axis

        def transform(w, mask=mask, kind=kind, out_axis=out_axis):
            if mask is not None:
                w = w * mask
            if kind is not None:
                w = fake_quant_torch(w, kind, out_axis)
                if mask is not None:
                    w = w * mask
            return w
        if mask is not None or kind is not None:
            student.weight_transform[layer.name] = transform
        masks[layer.name] = mask
    params = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    in_shape = _input_shape(cg)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        z = torch.randn(batch_size, *in_shape, generator=gen)
        with torch.no_grad():
            target = t_module(z)
        out = student(z)
        loss = pixel_weight * (out - target).abs().mean()
        if adv_weight > 0:
            loss = loss + adv_weight * torch.nn.functional.softplus(-disc(out)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 200 == 0 or step == steps:
            log.info("finetune %s step %d/%d loss %.4f (%.0f s)", cg.name, step, steps, loss.item(),
                     time.perf_counter() - start)
    with torch.no_grad():  # apply masks to the stored (latent) weights
        for i, layer in enumerate(cg.layers):
            if masks.get(layer.name) is not None:
                student.convs[i].weight.mul_(masks[layer.name])
    tuned = student.to_generator(cg, effective=False)
    tuned = requantize_like(tuned, cg)
    return tuned.with_layers(tuned.layers, step=step_name)


def _input_shape(cg: CompressedGenerator) -> tuple[int, ...]:
    """Latent shape (z_dim, 1, 1) of a generator chain (its first layer's input)."""
    first = cg.layers[0]
    if not first.transposed:
        raise ValueError("finetune: only latent-input generators (first layer conv_transpose2d) are supported")
    return (first.in_channels, 1, 1)
