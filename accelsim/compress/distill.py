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
               step_name: str = "distilled") -> CompressedGenerator:
    """A narrower ``sr-x4`` student (``models.sr.SRGenerator(features, shrink)``, started from
    bilinear upsampling by ``sr.init_weights`` as the teacher was) trained towards ``teacher``'s
    output on the LR patches ``input_sampler`` draws (``finetune.lr_patch_sampler``): pixel L1 only
    (no discriminator is shipped for sr-x4), through the one fine-tuning loop (``finetune.finetune``)."""
    import torch

    from accelsim.compress.chain import from_weights
    from accelsim.compress.finetune import finetune
    from accelsim.models import sr

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    module = sr.SRGenerator(features=features, shrink=shrink)
    sr.init_weights(module)
    student = from_weights(teacher.model, {k: v.detach().double().numpy() for k, v in module.state_dict().items()})
    if steps > 0:
        student = finetune(student, teacher, steps, lr=lr, batch_size=batch_size, discriminator=None,
                           input_sampler=input_sampler, seed=seed, threads=threads, step_name=None)
    return replace(student, steps=teacher.steps + (step_name,), fmt="fp32")
