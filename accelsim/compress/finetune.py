"""Fine-tuning a compressed generator against a teacher (torch, imported inside the functions).

Loss per batch of fixed-seed latents z (Aguinaldo et al. 2019, "Compressing GANs using knowledge
distillation"): ``pixel_weight * mean|G_s(z) - G_t(z)|`` (L1, per pixel) ``+ adv_weight *
softplus(-D_t(G_s(z)))`` (the non-saturating generator loss under the teacher's frozen
discriminator ``D_t``, when one is shipped for the model: ``<model>-disc``) ``+ fm_weight * sum_l
mean|F_l(G_s(z)) - F_l(G_t(z))|`` (feature matching: L1 between the three hidden feature maps of
``D_t`` for the student's and the teacher's image of the same latent, a perceptual distance; the
pixel L1 alone averages what the student cannot match into blur) ``+ logit_weight *
mean|D_t(G_s(z)) - D_t(G_t(z))|`` (the frozen discriminator's verdict on the teacher's image as the
target of its verdict on the student's: discriminator supervision in the style of Yu & Pool 2020,
"Self-Supervised GAN Compression"; ``DSUP_WEIGHTS`` are the weights the ``dprune`` recipes use). No
real data is needed.

Constraints are kept during training, in the forward pass of every step:

* pruning masks: the weight is multiplied by its mask (pruned weights stay zero, get no gradient);
* quantized layers (int / ternary / binary codes, or ``weight_kind`` for QAT): fake quantization
  with a straight-through gradient (``qat.fake_quant_torch``); at the end the codes are re-derived
  with the golden quantizer (``precision.requantize_like``);
* fake-quantized activations (``act_bits``): ranges calibrated as ``accelsim.runtime`` calibrates them at
  deployment (max over the float forward pass of ``CALIB_N`` latents of seed ``CALIB_SEED``, with
  the current weights), re-calibrated every ``calib_every`` steps;
* codebook-shared layers are frozen (their weights are the centroids).

Joint generator/discriminator training (``disc_lr > 0``; QGAN's multi-precision setting, Wang et al.
2019): the discriminator is a trainable copy of the shipped one, updated before every generator step
with the non-saturating loss ``softplus(-D(G_t(z))) + softplus(D(G_s(z)))``: the teacher's images
are its "real" distribution (no real data needed). ``disc_kind`` fake-quantizes the discriminator's
conv weights as the generator's are (``qat.fake_quant_torch``, straight-through), trained or frozen.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from accelsim.compress.chain import CompressedGenerator
from accelsim.errors import ModelError

log = logging.getLogger(__name__)

CALIB_SEED, CALIB_N = 1234, 64      # as accelsim.compare
FM_WEIGHT = 3.0                     # weight of the feature-matching term in QAT (qat.qat)
LR_SCHEDULES = ("constant", "cosine")   # finetune's lr_schedule
# discriminator-supervised fine-tuning (recipe ``dprune<P>-<granularity>``): feature matching on the frozen
# discriminator only. Measured on dcgan-digits pruned 75 % (fine), 200 steps, digit-FID: pixel L1 alone 128 (2,000
# images); + fm 0.1: 78; fm 0.3: 105 and fm 1.0: 1370 (1,000 images); adding the non-saturating term (0.01) or logit
# matching (0.01 / 0.1) kept the generator collapsed (FID 227-1380). docs/reproductions.md, bench_pruning.py.
DSUP_WEIGHTS = {"adv_weight": 0.0, "fm_weight": 0.1, "logit_weight": 0.0}
# teacher-only fine-tuning (recipe ``prune<P>-<granularity>``): no discriminator at all
TEACHER_ONLY = {"discriminator": None}


def teacher_loss(out, target, disc, pixel_weight: float, adv_weight: float, fm_weight: float,
                 logit_weight: float = 0.0):
    """The distillation loss of a batch: pixel L1 to the teacher's images ``target``, the
    non-saturating loss under ``disc``, feature matching on ``disc``'s hidden features and the L1
    between ``disc``'s logits on the student's and the teacher's images."""
    import torch
    loss = pixel_weight * (out - target).abs().mean()
    if disc is not None and (adv_weight > 0 or fm_weight > 0 or logit_weight > 0):
        if hasattr(disc, "features"):
            feats, logit = disc.features(out)
        else:                           # a plain logit module: no features to match
            feats, logit, fm_weight = None, disc(out), 0.0
        if adv_weight > 0:
            loss = loss + adv_weight * torch.nn.functional.softplus(-logit).mean()
        if fm_weight > 0 or logit_weight > 0:
            with torch.no_grad():
                if fm_weight > 0:
                    t_feats, t_logit = disc.features(target)
                else:
                    t_logit = disc(target)
            if fm_weight > 0:
                loss = loss + fm_weight * sum((a - b).abs().mean() for a, b in zip(feats, t_feats))
            if logit_weight > 0:
                loss = loss + logit_weight * (logit - t_logit).abs().mean()
    return loss


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
             pixel_weight: float = 1.0, adv_weight: float = 0.05, fm_weight: float = 0.0, logit_weight: float = 0.0,
             discriminator="auto", disc_lr: float = 0.0, disc_kind: str | None = None,
             weight_kind: str | None = None, act_bits: int | None = None, calib_every: int = 50, seed: int = 0,
             threads: int | None = None, step_name: str | None = "ft", input_sampler=None,
             lr_schedule: str = "constant") -> CompressedGenerator:
    """Fine-tune ``cg`` for ``steps`` Adam steps towards ``teacher`` (a CompressedGenerator or a
    torch module) keeping its masks, codes and codebooks; ``weight_kind`` adds fake quantization of
    every layer (quantization-aware training); ``act_bits`` fake-quantizes the activations as the
    integer kernels will run them (``torch_chain.ChainModule.forward``). ``disc_lr > 0`` trains the
    discriminator with the generator, ``disc_kind`` fake-quantizes it (module docstring).
    ``input_sampler(batch, torch.Generator)`` makes each batch of inputs (default: standard normal
    latents; an image-input generator such as ``sr-x4`` needs one, e.g. ``lr_patch_sampler``).
    ``lr_schedule``: ``"constant"`` or ``"cosine"`` (the generator's rate decays from ``lr`` to 0 over
    ``steps``, ``CosineAnnealingLR``). Deterministic for a fixed ``seed`` and thread count."""
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
    if disc_lr < 0:
        raise ModelError(f"finetune: disc_lr must be >= 0, got {disc_lr!r}")
    if lr_schedule not in LR_SCHEDULES:
        raise ModelError(f"finetune: lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    if disc is None:
        if disc_lr > 0 or disc_kind is not None:
            raise ModelError(f"finetune: disc_lr / disc_kind need a discriminator; {cg.model!r} ships none")
        adv_weight = fm_weight = logit_weight = 0.0
    opt_d = None
    if disc is not None and (disc_lr > 0 or disc_kind is not None):
        disc, opt_d = _adversary(disc, disc_lr, disc_kind)
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
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps)) if lr_schedule == "cosine" else None
    gen = torch.Generator().manual_seed(seed)
    latent_input = input_sampler is None
    if latent_input:
        in_shape = _input_shape(cg)

        def input_sampler(n, g):
            return torch.randn(n, *in_shape, generator=g)
    calib_z = None
    if act_bits is not None:
        if latent_input:
            from accelsim.models.registry import latents
            calib_z = torch.from_numpy(latents(CALIB_N, CALIB_SEED, z_dim=in_shape[0]))
        else:
            calib_z = input_sampler(CALIB_N, torch.Generator().manual_seed(CALIB_SEED))
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if calib_z is not None and (step - 1) % max(1, calib_every) == 0:
            student.calibrate(calib_z)
        z = input_sampler(batch_size, gen)
        with torch.no_grad():
            target = t_module(z)
        out = student(z)
        if opt_d is not None:
            softplus = torch.nn.functional.softplus
            loss_d = softplus(-disc(target)).mean() + softplus(disc(out.detach())).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        loss = teacher_loss(out, target, disc, pixel_weight, adv_weight, fm_weight, logit_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
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


def _adversary(disc, lr: float, kind: str | None):
    """A copy of ``disc`` whose conv weights are fake-quantized to ``kind`` (None: float), trainable
    with its Adam optimizer when ``lr > 0`` (else frozen, optimizer None)."""
    import copy

    import torch
    from torch.nn.utils import parametrize

    from accelsim.compress.qat import fake_quant_torch, parse_kind

    if kind is not None:
        parse_kind(kind)
    adv = copy.deepcopy(disc)

    class FakeQuant(torch.nn.Module):
        def forward(self, w):
            return fake_quant_torch(w, kind, 0)

    for m in adv.modules():
        if kind is not None and isinstance(m, torch.nn.Conv2d):
            parametrize.register_parametrization(m, "weight", FakeQuant())
    for p in adv.parameters():
        p.requires_grad_(lr > 0)
    if lr <= 0:
        return adv.eval(), None
    return adv.train(), torch.optim.Adam([p for p in adv.parameters() if p.requires_grad], lr=lr, betas=(0.5, 0.999))


def _input_shape(cg: CompressedGenerator) -> tuple[int, ...]:
    """Latent shape (z_dim, 1, 1) of a generator chain (its first layer's input)."""
    first = cg.layers[0]
    if not first.transposed:
        raise ModelError("finetune: a generator whose first layer is not conv_transpose2d (not latent input) "
                         "needs an input_sampler (e.g. lr_patch_sampler for sr-x4)")
    return (first.in_channels, 1, 1)


def lr_patch_sampler(images_lr, patch: int = 24):
    """``input_sampler`` for image-input generators: random ``patch`` x ``patch`` crops of the uint8
    HWC images ``images_lr`` (chosen with probability proportional to area, as
    ``models/train_sr.py`` samples its training pairs), with random 90-degree rotations and flips,
    scaled to [-1, 1], as a (batch, C, patch, patch) float32 tensor. Drawn from the torch generator
    it is given: deterministic for a seed."""
    sample = _patch_sampler(images_lr, None, patch, 1)

    def lr_only(n: int, gen):
        return sample(n, gen)[0]
    return lr_only


def paired_patch_sampler(images_lr, images_hr, patch: int = 24, scale: int = 4):
    """As ``lr_patch_sampler`` (the same draws: its LR crops are ``lr_patch_sampler``'s for the same
    generator), returning ``(lr, hr)``: each LR crop with the ``scale * patch`` HR crop it was
    downsampled from, rotated and flipped alike (for training a discriminator on real HR patches)."""
    if len(images_hr) != len(images_lr):
        raise ModelError(f"paired_patch_sampler: {len(images_lr)} LR images but {len(images_hr)} HR images")
    for lo, hi in zip(images_lr, images_hr):
        if hi.ndim != 3 or lo.ndim != 3 or hi.shape[0] < scale * lo.shape[0] or hi.shape[1] < scale * lo.shape[1]:
            raise ModelError(f"paired_patch_sampler: an HR image of shape {hi.shape} is not {scale}x its LR "
                             f"image {lo.shape}")
    return _patch_sampler(images_lr, images_hr, patch, scale)


def _patch_sampler(images_lr, images_hr, patch: int, scale: int):
    import torch
    tensors = []
    for img in images_lr:
        if img.ndim != 3 or img.shape[0] < patch or img.shape[1] < patch:
            raise ModelError(f"lr_patch_sampler: every image must be HxWxC with H, W >= {patch}, got {img.shape}")
        tensors.append(torch.from_numpy(img.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1))
    if not tensors:
        raise ModelError("lr_patch_sampler: no images")
    hr = None if images_hr is None else [torch.from_numpy(img.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)
                                         for img in images_hr]
    areas = torch.tensor([float(t.shape[1] * t.shape[2]) for t in tensors])

    def sample(n: int, gen):
        idx = torch.multinomial(areas, n, replacement=True, generator=gen)
        out, out_hr = [], []
        for i in idx.tolist():
            t = tensors[i]
            y = int(torch.randint(0, t.shape[1] - patch + 1, (1,), generator=gen))
            x = int(torch.randint(0, t.shape[2] - patch + 1, (1,), generator=gen))
            p = t[:, y:y + patch, x:x + patch]
            k, flip = int(torch.randint(0, 4, (1,), generator=gen)), bool(torch.randint(0, 2, (1,), generator=gen))
            p = torch.rot90(p, k, (1, 2))
            out.append(p.flip(2) if flip else p)
            if hr is not None:
                h = torch.rot90(hr[i][:, scale * y:scale * (y + patch), scale * x:scale * (x + patch)], k, (1, 2))
                out_hr.append(h.flip(2) if flip else h)
        return torch.stack(out), (torch.stack(out_hr) if hr is not None else None)
    return sample
