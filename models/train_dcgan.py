"""Train the DCGAN generator (and its discriminator) on 32x32 digits or Fashion-MNIST.

    python -m accelsim.models.train_dcgan --dataset digits            # writes weights/dcgan_digits.npz
    python -m accelsim.models.train_dcgan --dataset fashion --steps 20 --out /tmp/g.npz   # quick test

Fixed seeds; one CPU thread by default, so a run is deterministic: the same ``--steps`` give the same
weights. ``--minutes`` is a wall-clock cap (stopping early is logged and recorded in the model card).
Adam (lr 2e-4, betas 0.5/0.999), batch 32, non-saturating generator loss, one-sided label smoothing
(real target 0.9). The shipped generator is the exponential moving average of the generator's
weights (decay ``min(0.999, (1 + t) / (10 + t))`` at step t), whose BatchNorm running statistics are
then re-estimated ("standing statistics": 20 batches of 256 fixed latents in train mode, cumulative
average). Writes the generator to ``--out``, the discriminator beside it (``*_disc.npz``, used by
knowledge distillation), and for the shipped files an entry in ``model_card.json`` with the digit-FID
of the EMA and of the raw generator (2,500 latents, seed 0) when the digit classifier is present.
"""
from __future__ import annotations

import argparse
import copy
import logging
import os
import time

import numpy as np
import torch
from torch import nn

from . import model_card
from .data import image_grid, load_dataset, save_png
from .dcgan import Discriminator, Generator, conv_weight_count, init_weights
from .registry import WEIGHTS_DIR, latents, save_weights

log = logging.getLogger(__name__)

# 10,000 steps: digit-FID 18.3 (2,500 samples) vs 61.8 after 3,400. 0.055 s a step on an idle
# 2-core machine (about 9 minutes); one thread, so the same steps always give the same weights.
DEFAULT_STEPS = {"digits": 10000, "fashion": 10000}


BATCH_SIZE = 32
EMA_DECAY = 0.999


def standing_bn_statistics(gen: Generator, seed: int, batches: int = 20, batch_size: int = 256) -> None:
    """Re-estimate BatchNorm running statistics of ``gen`` on fixed latents (cumulative average)."""
    rng = torch.Generator().manual_seed(seed)
    bns = [m for m in gen.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    gen.train()
    with torch.no_grad():
        for _ in range(batches):
            gen(torch.randn(batch_size, gen.z_dim, 1, 1, generator=rng))
    for bn in bns:
        bn.momentum = 0.1
    gen.eval()


def train(images: np.ndarray, steps: int, seed: int = 0, batch_size: int = BATCH_SIZE, minutes: float | None = None,
          log_every: int = 100) -> tuple[Generator, Discriminator, dict, Generator]:
    """Train a fresh Generator/Discriminator pair on ``images`` (N,1,32,32) in [-1,1]. Returns
    (EMA generator, discriminator, stats, raw generator)."""
    torch.manual_seed(seed)
    gen, disc = Generator(), Discriminator()
    init_weights(gen)
    init_weights(disc)
    ema = copy.deepcopy(gen)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    data = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    rng = torch.Generator().manual_seed(seed + 1)
    real_target = torch.full((batch_size,), 0.9)
    fake_target = torch.zeros(batch_size)
    start = time.perf_counter()
    step = 0
    loss_d = loss_g = float("nan")
    for step in range(1, steps + 1):
        real = data[torch.randint(0, data.shape[0], (batch_size,), generator=rng)]
        z = torch.randn(batch_size, gen.z_dim, 1, 1, generator=rng)
        fake = gen(z)
        opt_d.zero_grad(set_to_none=True)
        d_loss = bce(disc(real), real_target) + bce(disc(fake.detach()), fake_target)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        g_loss = bce(disc(fake), torch.ones(batch_size))
        g_loss.backward()
        opt_g.step()
        decay = min(EMA_DECAY, (1.0 + step) / (10.0 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), gen.parameters()):
                pe.mul_(decay).add_(p, alpha=1.0 - decay)
        loss_d, loss_g = d_loss.item(), g_loss.item()
        elapsed_s = time.perf_counter() - start
        if step % log_every == 0 or step == steps:
            log.info("step %d/%d  loss_d %.3f  loss_g %.3f  %.0f s", step, steps, loss_d, loss_g, elapsed_s)
        if minutes is not None and elapsed_s > 60.0 * minutes:
            log.warning("wall-clock cap of %.1f min reached at step %d of %d", minutes, step, steps)
            break
    stats = {"steps_run": step, "steps_requested": steps, "train_seconds": round(time.perf_counter() - start, 1),
             "final_loss_d": round(loss_d, 4), "final_loss_g": round(loss_g, 4)}
    standing_bn_statistics(ema, seed + 2)
    return ema.eval(), disc.eval(), stats, gen.eval()


def _digit_fid(gen: Generator, n: int = 2500) -> float:
    """digit-FID of ``gen`` on latents(n, seed 0) against the shipped real-digit statistics."""
    from .features import digit_features, feature_statistics, frechet_distance
    from .registry import load_weights
    with torch.no_grad():
        images = gen(torch.from_numpy(latents(n, seed=0))).double().numpy()
    feats = digit_features(images, load_weights("digit-classifier"))
    with np.load(os.path.join(WEIGHTS_DIR, "digit_fid_stats.npz")) as f:
        return frechet_distance(*feature_statistics(feats), f["mu"], f["sigma"])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=("digits", "fashion"), default="digits")
    p.add_argument("--steps", type=int, default=None, help="generator steps (default: the shipped run's)")
    p.add_argument("--minutes", type=float, default=None,
                   help="wall-clock cap (default none: stopping early would make the result depend on load)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="use only the first N images (tests)")
    p.add_argument("--out", default=None, help="generator .npz (default: the shipped file)")
    p.add_argument("--samples", default=None, help="write a PNG grid of 64 samples here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    steps = args.steps if args.steps is not None else DEFAULT_STEPS[args.dataset]
    out = args.out or os.path.join(WEIGHTS_DIR, f"dcgan_{args.dataset}.npz")
    images, _ = load_dataset(args.dataset)
    if args.limit is not None:
        images = images[:args.limit]
    gen, disc, stats, raw = train(images, steps, seed=args.seed, minutes=args.minutes)
    save_weights(gen.state_dict(), out)
    save_weights(disc.state_dict(), out.removesuffix(".npz") + "_disc.npz")
    with torch.no_grad():
        samples = gen(torch.from_numpy(latents(64, seed=0))).numpy()
    if args.samples:
        save_png(image_grid(samples), args.samples, scale=3)
    stats.update({"dataset": args.dataset, "seed": args.seed, "threads": args.threads, "batch_size": BATCH_SIZE,
                  "train_images": int(images.shape[0]), "conv_weights": conv_weight_count(gen),
                  "sample_mean_latents64_seed0": round(float(samples.mean()), 6)})
    if args.out is None and args.dataset == "digits" and os.path.exists(os.path.join(WEIGHTS_DIR, "digit_fid_stats.npz")):
        stats["digit_fid_2500"] = round(_digit_fid(gen), 3)
        stats["digit_fid_2500_raw_generator"] = round(_digit_fid(raw), 3)
    if args.out is None:
        model_card.update(f"dcgan-{args.dataset}", stats)
    log.info("wrote %s: %s", out, stats)
    return stats


if __name__ == "__main__":
    main()
