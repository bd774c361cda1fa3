"""Train ``sr-x4`` on the images bundled with scikit-image (no network) and compare with bicubic.

    python -m accelsim.models.train_sr                    # writes weights/sr_x4.npz, weights/sr_eval.npz
    python -m accelsim.models.train_sr --steps 5 --out /tmp/sr.npz   # quick test

Data: ``skimage.data`` images present in the wheel (``TRAIN_IMAGES``; grayscale ones replicated
to RGB), cropped to multiples of 4. Low-resolution inputs are made the standard way: bicubic
downsampling by 4 with PIL (``Image.BICUBIC``, antialiased), stored as 8-bit. The held-out image is
``chelsea`` (``cat`` is the same photograph, so it is excluded from training too).

Training: starts from bilinear upsampling (``sr.init_weights``), random 24x24 LR / 96x96 HR patch pairs with flips and 90-degree rotations, batch 16,
L1 loss, Adam lr 1e-3 with cosine decay, fixed seeds, one thread.

Evaluation: PSNR in dB over all RGB values in [0, 255] (8-bit rounded output), with a 4-pixel
border (the scale) cropped, of the network and of PIL bicubic upsampling, on the whole held-out
image. ``weights/sr_eval.npz`` ships a 128x128 HR crop of it (``hr``, uint8 HWC), its LR input
(``lr``, uint8 HWC) and the bicubic upsampling of that LR (``bicubic``), so quality can be scored at
run time without scikit-image or PIL.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import time

import numpy as np
import torch

from . import model_card
from .registry import WEIGHTS_DIR, save_weights
from .sr import SCALE, SRGenerator, init_weights

log = logging.getLogger(__name__)

TRAIN_IMAGES = ("astronaut", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "colorwheel",
                "camera", "coins", "moon", "brick", "grass", "gravel", "clock", "page", "text", "retina")
HELD_OUT = "chelsea"
LR_PATCH = 24
BORDER = SCALE
EVAL_CROP = 128


def load_rgb(name: str) -> np.ndarray:
    """uint8 (H, W, 3) cropped to multiples of the scale."""
    import skimage.data
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3]).astype(np.uint8)
    h, w = (img.shape[0] // SCALE) * SCALE, (img.shape[1] // SCALE) * SCALE
    return img[:h, :w]


def resize_bicubic(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """PIL bicubic resize of a uint8 HWC image (antialiased when shrinking)."""
    from PIL import Image
    return np.asarray(Image.fromarray(img).resize((width, height), Image.BICUBIC))


def downsample(hr: np.ndarray) -> np.ndarray:
    return resize_bicubic(hr, hr.shape[0] // SCALE, hr.shape[1] // SCALE)


def to_tensor(img_uint8: np.ndarray) -> torch.Tensor:
    """uint8 HWC -> float32 (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(img_uint8.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return np.clip(np.rint((x[0].permute(1, 2, 0).numpy().astype(np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def psnr_uint8_db(a: np.ndarray, b: np.ndarray, border: int = BORDER) -> float:
    a = a[border:-border, border:-border].astype(np.float64)
    b = b[border:-border, border:-border].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def super_resolve(model: SRGenerator, lr_uint8: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(model(to_tensor(lr_uint8)))


def train(pairs: list[tuple[np.ndarray, np.ndarray]], steps: int, seed: int = 0, batch_size: int = 16,
          minutes: float | None = None) -> tuple[SRGenerator, dict]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SRGenerator()
    init_weights(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    tensors = [(to_tensor(lr)[0], to_tensor(hr)[0]) for lr, hr in pairs]
    areas = np.array([lr.shape[0] * lr.shape[1] for lr, _ in pairs], np.float64)
    prob = areas / areas.sum()
    start = time.perf_counter()
    step = 0
    for step in range(1, steps + 1):
        lr_batch, hr_batch = [], []
        for i in rng.choice(len(tensors), size=batch_size, p=prob):
            lr, hr = tensors[i]
            y = int(rng.integers(0, lr.shape[1] - LR_PATCH + 1))
            x = int(rng.integers(0, lr.shape[2] - LR_PATCH + 1))
            lp = lr[:, y:y + LR_PATCH, x:x + LR_PATCH]
            hp = hr[:, SCALE * y:SCALE * (y + LR_PATCH), SCALE * x:SCALE * (x + LR_PATCH)]
            k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
            lp, hp = torch.rot90(lp, k, (1, 2)), torch.rot90(hp, k, (1, 2))
            if flip:
                lp, hp = lp.flip(2), hp.flip(2)
            lr_batch.append(lp)
            hr_batch.append(hp)
        loss = (model(torch.stack(lr_batch)) - torch.stack(hr_batch)).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        elapsed_s = time.perf_counter() - start
        if step % 500 == 0 or step == steps:
            log.info("step %d/%d  l1 %.4f  %.0f s", step, steps, loss.item(), elapsed_s)
        if minutes is not None and elapsed_s > 60.0 * minutes:
            log.warning("wall-clock cap of %.1f min reached at step %d of %d", minutes, step, steps)
            break
    return model.eval(), {"steps_run": step, "steps_requested": steps,
                          "train_seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=14.5, help="wall-clock cap")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--images", default=",".join(TRAIN_IMAGES), help="comma-separated skimage.data names")
    p.add_argument("--out", default=None, help="weights .npz (default: the shipped file)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    pairs = []
    for name in args.images.split(","):
        hr = load_rgb(name)
        pairs.append((downsample(hr), hr))
    model, stats = train(pairs, args.steps, seed=args.seed, minutes=args.minutes)
    out = args.out or os.path.join(WEIGHTS_DIR, "sr_x4.npz")
    save_weights(model.state_dict(), out)
    hr = load_rgb(HELD_OUT)
    lr = downsample(hr)
    bicubic = resize_bicubic(lr, hr.shape[0], hr.shape[1])
    stats.update({"seed": args.seed, "threads": args.threads, "train_images": args.images.split(","),
                  "held_out": HELD_OUT, "psnr_db_model": round(psnr_uint8_db(super_resolve(model, lr), hr), 3),
                  "psnr_db_bicubic": round(psnr_uint8_db(bicubic, hr), 3)})
    # a crop for run-time scoring (LR-aligned: the crop starts at a multiple of the scale)
    y0, x0 = 80, 160
    hr_crop = hr[y0:y0 + EVAL_CROP, x0:x0 + EVAL_CROP]
    lr_crop = lr[y0 // SCALE:(y0 + EVAL_CROP) // SCALE, x0 // SCALE:(x0 + EVAL_CROP) // SCALE]
    bic_crop = bicubic[y0:y0 + EVAL_CROP, x0:x0 + EVAL_CROP]
    stats["crop_psnr_db_model"] = round(psnr_uint8_db(super_resolve(model, lr_crop), hr_crop), 3)
    stats["crop_psnr_db_bicubic"] = round(psnr_uint8_db(bic_crop, hr_crop), 3)
    if args.out is None:
        np.savez(os.path.join(WEIGHTS_DIR, "sr_eval.npz"), hr=hr_crop, lr=lr_crop, bicubic=bic_crop)
        model_card.update("sr-x4", stats)
    log.info("wrote %s: %s", out, stats)
    return stats


if __name__ == "__main__":
    main()
