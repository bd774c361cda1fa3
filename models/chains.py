"""Torch-free description of each shipped generator as a chain of convolution layers, read from
its weights. This is what the compressions, the golden models and the simulator consume.

Each layer is a dict::

    {"name": "deconv2", "transposed": True, "stride": 2, "padding": 1, "act": "relu",
     "weight": ndarray (torch layout), "bias": ndarray | None,
     "bn": (gamma, beta, running_mean, running_var, eps) | None}
"""
from __future__ import annotations

import numpy as np

BN_EPS = 1e-5

# sr-x4 (see sr.py): (name, transposed, stride, padding, activation) in order.
SR_CHAIN = (
    ("conv1", False, 1, 2, "relu"),     # 5x5 feature extraction
    ("conv2", False, 1, 0, "relu"),     # 1x1 shrink
    ("conv3", False, 1, 1, "relu"),     # 3x3 mapping
    ("conv4", False, 1, 1, "relu"),
    ("conv5", False, 1, 1, "relu"),
    ("conv6", False, 1, 1, "relu"),
    ("conv7", False, 1, 0, "relu"),     # 1x1 expand
    ("deconv", True, 4, 2, "none"),     # 8x8 stride 4: x4 upsampling
)


def _bn(weights: dict, prefix: str):
    if f"{prefix}.weight" not in weights:
        return None
    return tuple(np.asarray(weights[f"{prefix}.{k}"], np.float64)
                 for k in ("weight", "bias", "running_mean", "running_var")) + (BN_EPS,)


def dcgan_chain(weights: dict) -> list[dict]:
    """deconv1 (stride 1, pad 0), deconv2.. (stride 2, pad 1); BN + ReLU, tanh on the last."""
    count = 0
    while f"deconv{count + 1}.weight" in weights:
        count += 1
    if count == 0:
        raise ValueError("not a DCGAN generator state dict: no deconv1.weight")
    chain = []
    for i in range(1, count + 1):
        bias = weights.get(f"deconv{i}.bias")
        chain.append({"name": f"deconv{i}", "transposed": True, "stride": 1 if i == 1 else 2,
                      "padding": 0 if i == 1 else 1, "act": "tanh" if i == count else "relu",
                      "weight": np.asarray(weights[f"deconv{i}.weight"], np.float64),
                      "bias": None if bias is None else np.asarray(bias, np.float64),
                      "bn": _bn(weights, f"bn{i}")})
    return chain


def sr_chain(weights: dict) -> list[dict]:
    return [{"name": name, "transposed": transposed, "stride": stride, "padding": padding, "act": act,
             "weight": np.asarray(weights[f"{name}.weight"], np.float64),
             "bias": np.asarray(weights[f"{name}.bias"], np.float64) if f"{name}.bias" in weights else None,
             "bn": None}
            for name, transposed, stride, padding, act in SR_CHAIN]


def layer_chain(model: str, weights: dict) -> list[dict]:
    """The layer chain of a registry model (``dcgan-*`` or ``sr-x4``) from its weights."""
    if model.startswith("dcgan-") and not model.endswith("-disc"):
        return dcgan_chain(weights)
    if model == "sr-x4":
        return sr_chain(weights)
    raise ValueError(f"no layer chain for model {model!r}")
