"""Image quality metrics (numpy only): PSNR, SSIM and the Frechet distance of classifier features.

Conventions: images are float arrays of identical shape, (H, W), (C, H, W) or (N, C, H, W), in a
known range of width ``data_range`` (generators here produce [-1, 1], hence the default 2.0).

* ``psnr_db = 10 log10(data_range^2 / MSE)`` over all elements; ``inf`` when MSE == 0.
* ``ssim``: Wang et al. 2004 -- 11x11 Gaussian window (sigma 1.5, normalised), ``K1 = 0.01``,
  ``K2 = 0.03``, ``C1 = (K1 L)^2``, ``C2 = (K2 L)^2``, population (1/N) weighted moments, mean of the
  SSIM map over the positions where the window fits ('valid'), then over images and channels. Equal to
  ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=L)``.
* ``frechet_distance``: ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``, with the trace term
  computed as ``sum sqrt(eig(S1^(1/2) S2 S1^(1/2)))`` (symmetric eigendecompositions, no scipy).
  It lives in ``accelsim.models.features`` (the lowest layer, so the training scripts use the same
  code) and is re-exported here, running its BLAS on one thread (``accelsim.blas``).
* ``bicubic_upscale``: the reference every super-resolution paper reports: Keys' cubic convolution
  (a = -0.5), separable, output pixel centres mapped as MATLAB's imresize maps them
  (``x_in = (x_out + 0.5) / scale - 0.5``), edge pixels replicated, no antialiasing (upscaling only).
* ``digit_fid``: the Frechet distance between the shipped digit classifier's 128-d penultimate
  features of ``images`` and of the 5,000 real digits (statistics shipped in
  ``accelsim/models/weights/digit_fid_stats.npz``).
"""
from __future__ import annotations

import math
import os

import numpy as np

from accelsim.blas import deterministic
from accelsim.errors import ModelError
from accelsim.models import features as _features

feature_statistics = deterministic(_features.feature_statistics)
frechet_distance = deterministic(_features.frechet_distance)

BICUBIC_A = -0.5
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ModelError(f"images must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ModelError("images are empty")
    return a, b


def mse(a, b) -> float:
    a, b = _pair(a, b)
    return float(np.mean((a - b) ** 2))


def psnr_db(a, b, data_range: float = 2.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images."""
    err = mse(a, b)
    if err == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / err)


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian taps ``exp(-x^2 / (2 sigma^2))``, x in [-(size-1)/2, (size-1)/2]."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of the last two axes with the 1-D ``taps``."""
    k = taps.size
    h, w = x.shape[-2:]
    rows = sum(taps[i] * x[..., i:i + h - k + 1, :] for i in range(k))
    return sum(taps[i] * rows[..., :, i:i + w - k + 1] for i in range(k))


def ssim_map(a, b, data_range: float = 2.0) -> np.ndarray:
    """The SSIM map over the 'valid' window positions (last two axes shrink by 10)."""
    a, b = _pair(a, b)
    if a.ndim < 2 or min(a.shape[-2:]) < SSIM_WINDOW:
        raise ModelError(f"ssim needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}")
    g = gaussian_window()
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a * mu_a
    var_b = _filter_valid(b * b, g) - mu_b * mu_b
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def ssim(a, b, data_range: float = 2.0) -> float:
    """Mean SSIM (1.0 for identical images)."""
    return float(ssim_map(a, b, data_range).mean())


@deterministic
def digit_features(images) -> np.ndarray:
    """128-d features of (N, 1, 32, 32) images in [-1, 1] from the shipped digit classifier."""
    from accelsim.models.features import digit_features as forward
    from accelsim.models.registry import load_weights
    return forward(images, load_weights("digit-classifier"))


def real_digit_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Shipped (mean, covariance) of the classifier features of the 5,000 real digits."""
    from accelsim.models.registry import WEIGHTS_DIR
    with np.load(os.path.join(WEIGHTS_DIR, "digit_fid_stats.npz")) as f:
        return f["mu"].copy(), f["sigma"].copy()


@deterministic
def digit_fid(images) -> float:
    """digit-FID of generated (N, 1, 32, 32) images in [-1, 1] against the real digits. The score
    depends on N (the estimator is biased): compare scores computed with the same N."""
    mu, sigma = feature_statistics(digit_features(images))
    mu_real, sigma_real = real_digit_statistics()
    return frechet_distance(mu, sigma, mu_real, sigma_real)


def image_metrics(images, reference, fid: bool = False, data_range: float = 2.0) -> dict:
    """``{"psnr_db", "ssim", "fid"}`` of generated ``images`` against ``reference`` (the fp32
    generator's images for the same latents); ``fid`` (digit-FID against the real digits, needs
    (N, 1, 32, 32) images) only when asked, else None."""
    return {"psnr_db": psnr_db(images, reference, data_range), "ssim": ssim(images, reference, data_range),
            "fid": digit_fid(images) if fid else None}


def output_scores(out, ref, tanh_output: bool) -> dict:
    """``{"psnr_db", "ssim", "data_range"}`` of a generator's output against its float reference: the
    data range is 2 for a tanh output (images in [-1, 1]), else the reference's own range; SSIM only
    for images of at least 11x11 (NaN otherwise)."""
    out, ref = _pair(out, ref)
    data_range = 2.0 if tanh_output else float(ref.max() - ref.min()) or 1.0
    images = out.ndim == 4 and min(out.shape[2:]) >= SSIM_WINDOW
    return {"psnr_db": psnr_db(out, ref, data_range), "ssim": ssim(out, ref, data_range) if images else math.nan,
            "data_range": data_range}


def _cubic(t: np.ndarray, a: float = BICUBIC_A) -> np.ndarray:
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1,
                    np.where(t < 2, a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a, 0.0))


def _bicubic_taps(n_in: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    x = (np.arange(n_in * scale) + 0.5) / scale - 0.5
    idx = np.floor(x).astype(np.int64)[:, None] - 1 + np.arange(4)[None, :]
    w = _cubic(x[:, None] - idx)
    return np.clip(idx, 0, n_in - 1), w / w.sum(axis=1, keepdims=True)


def bicubic_upscale(img, scale: int) -> np.ndarray:
    """``img`` (..., H, W) upscaled by the integer ``scale`` to (..., H*scale, W*scale), float64."""
    img = np.asarray(img, dtype=np.float64)
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 64:
        raise ModelError(f"bicubic_upscale: scale must be an integer in [1, 64], got {scale!r}")
    if img.ndim < 2 or min(img.shape[-2:]) < 1:
        raise ModelError(f"bicubic_upscale: expected (..., H, W) with H, W >= 1, got shape {img.shape}")
    ih, wh = _bicubic_taps(img.shape[-2], scale)
    iw, ww = _bicubic_taps(img.shape[-1], scale)
    rows = (img[..., ih, :] * wh[:, :, None]).sum(axis=-2)
    return (rows[..., :, iw] * ww).sum(axis=-1)
