"""Quality metrics on known images: PSNR formula, SSIM against its definition and scikit-image,
Frechet distance against closed forms."""
import math

import numpy as np
import pytest

from accelsim import quality


def test_psnr_identical_is_inf():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 32, 32))
    assert quality.psnr_db(x, x.copy()) == math.inf


def test_psnr_matches_formula_for_known_error():
    a = np.zeros((4, 4))
    b = a + 0.1                       # MSE = 0.01 exactly
    assert quality.psnr_db(a, b, data_range=2.0) == pytest.approx(10 * math.log10(4.0 / 0.01), abs=1e-9)
    assert quality.psnr_db(a, b, data_range=1.0) == pytest.approx(20.0, abs=1e-9)


def test_psnr_of_gaussian_noise_matches_sigma():
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (64, 64))
    noise = rng.standard_normal(a.shape) * 0.05
    expected = 10 * math.log10(4.0 / np.mean(noise ** 2))
    assert quality.psnr_db(a, a + noise) == pytest.approx(expected, rel=1e-12)
    assert abs(quality.psnr_db(a, a + noise) - 10 * math.log10(4.0 / 0.05 ** 2)) < 0.2  # ~ sigma formula


def test_psnr_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        quality.psnr_db(np.zeros((2, 2)), np.zeros((2, 3)))


def test_gaussian_window():
    g = quality.gaussian_window()
    assert g.size == 11 and g.sum() == pytest.approx(1.0) and np.allclose(g, g[::-1])
    assert g[5] / g[4] == pytest.approx(math.exp(1 / (2 * 1.5 ** 2)))


def test_ssim_identical_is_one_and_constant_shift_formula():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (1, 1, 20, 20))
    assert quality.ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    # constant images: variance terms vanish, SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)
    a, b = np.full((16, 16), 0.2), np.full((16, 16), -0.3)
    c1 = (0.01 * 2.0) ** 2
    assert quality.ssim(a, b) == pytest.approx((2 * 0.2 * -0.3 + c1) / (0.04 + 0.09 + c1), rel=1e-9)


@pytest.mark.parametrize("shape,data_range", [((32, 32), 2.0), ((1, 3, 40, 33), 2.0), ((48, 40), 255.0)])
def test_ssim_matches_scikit_image(shape, data_range):
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(3)
    a = rng.uniform(0, data_range, shape)
    b = np.clip(a + rng.normal(0, 0.1 * data_range, shape), 0, data_range)
    ours = quality.ssim(a, b, data_range=data_range)
    a2, b2 = a.reshape(-1, *shape[-2:]), b.reshape(-1, *shape[-2:])
    ref = np.mean([metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                 data_range=data_range) for x, y in zip(a2, b2)])
    assert ours == pytest.approx(ref, abs=1e-10)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(4)
    mu = rng.normal(size=5)
    a = rng.normal(size=(5, 5))
    s = a @ a.T + np.eye(5)
    assert quality.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
    d1, d2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    mu2 = mu + 1.0
    expected = 5.0 + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    assert quality.frechet_distance(mu, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(5)
    f1, f2 = rng.normal(size=(200, 8)), rng.normal(size=(150, 8)) * 1.3 + 0.2
    (m1, s1), (m2, s2) = quality.feature_statistics(f1), quality.feature_statistics(f2)
    ref = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    assert quality.frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-8)


def test_feature_statistics_uses_unbiased_covariance():
    f = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    mu, sigma = quality.feature_statistics(f)
    assert np.allclose(mu, [2.0, 4.0])
    assert sigma[0, 0] == pytest.approx(4.0)  # ((-2)^2 + 0 + 2^2) / (3 - 1)


def test_bicubic_upscale_reproduces_constants_ramps_and_identity():
    from accelsim.quality import bicubic_upscale
    np.testing.assert_allclose(bicubic_upscale(np.full((2, 5, 7), 3.25), 4), 3.25, rtol=0, atol=1e-12)
    x = np.arange(12, dtype=np.float64)[None, :].repeat(6, axis=0)       # a ramp along W
    up = bicubic_upscale(x, 3)
    xo = (np.arange(36) + 0.5) / 3 - 0.5                                  # MATLAB's imresize centres
    interior = (xo >= 1) & (xo <= 10)                                     # all four taps inside
    np.testing.assert_allclose(up[:, interior], np.broadcast_to(xo[interior], (18, interior.sum())), atol=1e-12)
    img = np.random.default_rng(0).random((3, 4, 5))
    np.testing.assert_allclose(bicubic_upscale(img, 1), img, atol=1e-12)
    with pytest.raises(ValueError, match="scale must be an integer"):
        bicubic_upscale(img, 2.0)


def test_sr_bicubic_reference_is_below_the_float_generator():
    """The reference line of compare for sr-x4: bicubic on the shipped crop (28.21 dB against HR),
    below the float SR generator (28.57 dB, the fp32 row)."""
    from accelsim import compare
    b = compare.sr_bicubic_psnr_gt_db()
    assert b == pytest.approx(28.2150, abs=1e-3)
    cg = __import__("accelsim.compress.zoo", fromlist=["build"]).build("sr-x4", "fp32")
    x = compare.model_inputs("sr-x4", 1)
    m = compare.quality(cg, x, cg.forward(x, np.float32).astype(np.float64), 1, 0)
    assert m["psnr_gt_db"] > b
