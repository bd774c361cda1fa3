"""Knowledge distillation: a narrower DCGAN student trained from the teacher generator.

Aguinaldo et al. 2019 ("Compressing GANs using knowledge distillation"): the student minimises a
per-pixel distance to the teacher's image for the same latent plus an adversarial term from the
teacher's discriminator (frozen here, as in Yu & Pool 2020's self-supervised variant: the teacher's
discriminator already encodes what a real image looks like). Loss per batch of latents z:
``pixel_weight * mean|G_s(z) - G_t(z)| + adv_weight * softplus(-D_t(G_s(z)))`` plus, optionally, feature
matching on ``D_t``'s hidden features (``fm_weight``, ``finetune.teacher_loss``; off by default: with
the train-mode BatchNorm student it made the folded eval-mode student diverge). The student keeps
BatchNorm during training (train mode, as a GAN generator is trained) and is folded afterwards.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace

from accelsim.compress.chain import CompressedGenerator, from_graph

log = logging.getLogger(__name__)

DEFAULT_STUDENT_CHANNELS = (64, 32, 16)


def distill(teacher: CompressedGenerator, channels=DEFAULT_STUDENT_CHANNELS, steps: int = 2000, lr: float = 2e-3,
            batch_size: int = 64, pixel_weight: float = 1.0, adv_weight: float = 0.05, fm_weight: float = 0.0,
            discriminator="auto",
            seed: int = 0, threads: int | None = None, step_name: str = "distilled") -> CompressedGenerator:
    """Train a ``dcgan.Generator(channels=channels)`` student from ``teacher`` (a DCGAN chain);
    returns the student in deploy form (its history continues the teacher's)."""
    import torch

    from accelsim.compress.finetune import load_teacher_discriminator, teacher_loss
    from accelsim.compress.torch_chain import teacher_module
    from accelsim.graph.shipped import dcgan_graph
    from accelsim.models.dcgan import Generator, init_weights

    if threads is not None:
        torch.set_num_threads(threads)
    first, last = teacher.layers[0], teacher.layers[-1]
    z_dim, out_channels = first.in_channels, last.out_channels
    torch.manual_seed(seed)
    student = Generator(z_dim=z_dim, channels=tuple(channels), out_channels=out_channels)
    init_weights(student)
    student.train()
    t_module = teacher_module(teacher)
    disc = load_teacher_discriminator(teacher.model) if discriminator == "auto" else discriminator
    if disc is None:
        adv_weight = fm_weight = 0.0
    opt = torch.optim.Adam(student.parameters(), lr=lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        z = torch.randn(batch_size, z_dim, 1, 1, generator=gen)
        with torch.no_grad():
            target = t_module(z)
        out = student(z)
        loss = teacher_loss(out, target, disc, pixel_weight, adv_weight, fm_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps:
            log.info("distill step %d/%d loss %.4f (%.0f s)", step, steps, loss.item(), time.perf_counter() - start)
    student.eval()
    weights = {k: v.detach().double().numpy() for k, v in student.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    out = from_graph(teacher.model, dcgan_graph(teacher.model, weights, "distilled student"))
    return replace(out, steps=teacher.steps + (step_name,), fmt="fp32")


def distill_sr(teacher: CompressedGenerator, features: int, shrink: int, steps: int, input_sampler,
               lr: float = 1e-3, batch_size: int = 64, seed: int = 0, threads: int | None = None,
               step_name: str = "distilled", discriminator=None, adv_weight: float = 0.0,
               disc_lr: float = 0.0) -> CompressedGenerator:
    """A narrower ``sr-x4`` student (``models.sr.SRGenerator(features, shrink)``, started from
    bilinear upsampling by ``sr.init_weights`` as the teacher was) trained towards ``teacher``'s
    output on the LR patches ``input_sampler`` draws (``finetune.lr_patch_sampler``), through the one
    fine-tuning loop (``finetune.finetune``): pixel L1 to the teacher, plus, with a
    ``discriminator`` (a ``models.sr.PatchDiscriminator``, e.g. ``distill_patch_discriminator``'s),
    ``adv_weight`` times the non-saturating loss under it (frozen, or trained with the student at Adam
    rate ``disc_lr`` with the teacher's images as its real set: ``finetune``'s joint training)."""
    import torch

    from accelsim.compress.chain import from_weights
    from accelsim.compress.finetune import finetune
    from accelsim.errors import ModelError
    from accelsim.models import sr

    for name, v in (("features", features), ("shrink", shrink)):
        if isinstance(v, bool) or not isinstance(v, int) or v < SR_MIN_WIDTH:
            raise ModelError(f"distill_sr: {name} must be an integer >= {SR_MIN_WIDTH} (the bilinear start carries "
                             f"relu(x) and relu(-x) of the 3 RGB channels), got {v!r}")
    if adv_weight < 0 or disc_lr < 0:
        raise ModelError(f"distill_sr: adv_weight and disc_lr must be >= 0, got {adv_weight!r}, {disc_lr!r}")
    if (adv_weight > 0 or disc_lr > 0) and discriminator is None:
        raise ModelError("distill_sr: adv_weight / disc_lr need a discriminator (sr-x4 ships none: "
                         "train one with train_patch_discriminator)")
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    module = sr.SRGenerator(features=features, shrink=shrink)
    sr.init_weights(module)
    student = from_weights(teacher.model, {k: v.detach().double().numpy() for k, v in module.state_dict().items()})
    if steps > 0:
        student = finetune(student, teacher, steps, lr=lr, batch_size=batch_size,
                           discriminator=discriminator if adv_weight > 0 or disc_lr > 0 else None,
                           adv_weight=adv_weight, disc_lr=disc_lr, input_sampler=input_sampler, seed=seed,
                           threads=threads, step_name=None)
    return replace(student, steps=teacher.steps + (step_name,), fmt="fp32")


SR_MIN_WIDTH = 6      # sr.init_weights' identity path: relu(x) and relu(-x) of 3 RGB channels


def sr_training_pairs() -> tuple[list, list]:
    """(LR images, HR images) of sr-x4's training set (``models/train_sr.py``: ``skimage.data``
    images cropped to multiples of 4, PIL bicubic / 4). Needs scikit-image, as that script does:
    ConfigError naming ``steps`` when it is missing (no training, no images needed)."""
    import importlib.util

    from accelsim.errors import ConfigError
    if importlib.util.find_spec("skimage") is None:
        raise ConfigError("steps: training on sr-x4's training images needs scikit-image (pip install scikit-image; "
                          "models/train_sr.py trains on skimage.data images); 0 steps scores the untrained start")
    from accelsim.models import train_sr
    hr = [train_sr.load_rgb(n) for n in train_sr.TRAIN_IMAGES]
    return [train_sr.downsample(h) for h in hr], hr


def _generator_module(teacher):
    from accelsim.compress.torch_chain import teacher_module
    module = teacher_module(teacher)
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def train_patch_discriminator(teacher: CompressedGenerator, pair_sampler, steps: int, width: int = 16,
                              lr: float = 2e-4, batch_size: int = 16, seed: int = 0, threads: int | None = None):
    """The teacher's PatchGAN (``models.sr.PatchDiscriminator(width)``, ``init_discriminator(seed)``)
    trained for ``steps`` Adam steps against the frozen ``teacher`` generator: real = the HR patches
    of ``pair_sampler`` (``finetune.paired_patch_sampler``), fake = the teacher's x4 output of their
    LR patches; non-saturating loss ``softplus(-D(hr)) + softplus(D(G_t(lr)))``. Returns the module
    (eval mode, frozen) and the last batch's mean real and fake logits."""
    import torch

    from accelsim.models import sr

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    disc = sr.init_discriminator(sr.PatchDiscriminator(width), seed).train()
    g_t = _generator_module(teacher)
    opt = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    softplus = torch.nn.functional.softplus
    real = fake = float("nan")
    for step in range(1, steps + 1):
        lr_patch, hr_patch = pair_sampler(batch_size, gen)
        with torch.no_grad():
            sr_patch = g_t(lr_patch)
        d_real, d_fake = disc(hr_patch), disc(sr_patch)
        loss = softplus(-d_real).mean() + softplus(d_fake).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        real, fake = d_real.mean().item(), d_fake.mean().item()
        if step % 100 == 0 or step == steps:
            log.info("patch D step %d/%d loss %.4f real %.3f fake %.3f", step, steps, loss.item(), real, fake)
    disc.eval()
    for p in disc.parameters():
        p.requires_grad_(False)
    return disc, {"real_logit": real, "fake_logit": fake}


def distill_patch_discriminator(d_teacher, teacher: CompressedGenerator, pair_sampler, steps: int, width: int = 8,
                                lr: float = 1e-3, batch_size: int = 16, seed: int = 0, threads: int | None = None):
    """A narrower PatchGAN (``PatchDiscriminator(width)``, same depth) distilled from ``d_teacher``:
    L1 between the student's and the teacher's logit maps on both of the teacher's inputs, the HR
    patches and the teacher generator's output of their LR patches (MFAGAN distils D as well as G;
    this is the distillation part only, no adversarial term of its own). Returns the module (eval
    mode, frozen) and the final batch's L1 and the fraction of logits whose sign (real/fake verdict)
    agrees with the teacher's."""
    import torch

    from accelsim.models import sr

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    student = sr.init_discriminator(sr.PatchDiscriminator(width, n_down=d_teacher.n_down), seed + 1).train()
    g_t = _generator_module(teacher)
    opt = torch.optim.Adam(student.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    l1 = agree = float("nan")
    for step in range(1, steps + 1):
        lr_patch, hr_patch = pair_sampler(batch_size, gen)
        with torch.no_grad():
            x = torch.cat([hr_patch, g_t(lr_patch)])
            target = d_teacher(x)
        out = student(x)
        loss = (out - target).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        l1, agree = loss.item(), ((out > 0) == (target > 0)).float().mean().item()
        if step % 100 == 0 or step == steps:
            log.info("patch D distill step %d/%d l1 %.4f sign agreement %.3f", step, steps, l1, agree)
    student.eval()
    for p in student.parameters():
        p.requires_grad_(False)
    return student, {"l1": l1, "sign_agreement": agree}
