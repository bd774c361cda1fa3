"""The digit classifier's forward pass in numpy (torch-free), for ``digit-FID`` at run time.
Same arithmetic as ``classifier.DigitClassifier`` in eval mode (float32 by default, float64 on
request; equal to torch's float32 to ~1e-5 relative)."""
from __future__ import annotations

import numpy as np


def _conv3x3_same(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """conv2d, 3x3, stride 1, zero padding 1: (N, Cin, H, W) -> (N, Cout, H, W), as one matmul."""
    n, cin, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, h, w, cin, 3, 3), dtype=x.dtype)
    for ky in range(3):
        for kx in range(3):
            cols[..., ky, kx] = xp[:, :, ky:ky + h, kx:kx + w].transpose(0, 2, 3, 1)
    out = cols.reshape(n * h * w, cin * 9) @ weight.reshape(weight.shape[0], -1).T + bias
    return out.reshape(n, h, w, -1).transpose(0, 3, 1, 2)


def _relu_maxpool2(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return np.maximum(x, 0).reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def digit_features(images, weights: dict[str, np.ndarray], batch_size: int = 250,
                   dtype=np.float32) -> np.ndarray:
    """Penultimate features (N, 128) of images (N, 1, 32, 32) in [-1, 1], computed in ``dtype``
    (float32, the classifier's own precision, by default) and returned as float64."""
    images = np.asarray(images, dtype=dtype)
    if images.ndim != 4 or images.shape[1:] != (1, 32, 32):
        raise ValueError(f"images must be (N, 1, 32, 32), got {images.shape}")
    w = {k: np.asarray(v, dtype=dtype) for k, v in weights.items()}
    chunks = []
    for start in range(0, images.shape[0], batch_size):
        x = images[start:start + batch_size]
        for i in (1, 2, 3):
            x = _relu_maxpool2(_conv3x3_same(x, w[f"conv{i}.weight"], w[f"conv{i}.bias"]))
        chunks.append(np.maximum(x.reshape(x.shape[0], -1) @ w["fc1.weight"].T + w["fc1.bias"], 0))
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, w["fc1.weight"].shape[0]))


def digit_logits(images, weights: dict[str, np.ndarray]) -> np.ndarray:
    """Class logits (N, 10) float64."""
    f = digit_features(images, weights)
    return f @ np.asarray(weights["fc2.weight"], np.float64).T + np.asarray(weights["fc2.bias"], np.float64)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D) with the unbiased 1/(N-1) normalisation) of (N, D) features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be (N >= 2, D), got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm_psd(s: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((s + s.T) / 2.0)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between Gaussians N(mu1, sigma1) and N(mu2, sigma2):
    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The trace term is
    ``sum sqrt(eig(S1^(1/2) S2 S1^(1/2)))`` (same eigenvalues as S1 S2; symmetric PSD, so numpy's
    ``eigh`` suffices and no scipy is needed). Clamped at 0 against rounding."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    root1 = _sqrtm_psd(s1)
    inner = root1 @ s2 @ root1
    vals = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    trace_sqrt = float(np.sqrt(np.clip(vals, 0.0, None)).sum())
    diff = mu1 - mu2
    # The distance is >= 0; near-singular covariances can round the trace term a hair above the
    # traces (about 1e-5 on the shipped 128-d statistics), so clamp at 0.
    return max(0.0, float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt))
