"""SSIM and PSNR against their definitions."""

import numpy as np
import pytest

from avstudio.analysis.metrics.image import psnr, ssim


def ssim_by_definition(a, b):
    """Wang et al. 2004: 11×11 Gaussian (σ 1.5) statistics at every position where the window fits."""
    x = np.arange(11) - 5
    g = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    out = []
    for c in range(3):
        p, q = a[..., c].astype(float), b[..., c].astype(float)
        for i in range(p.shape[0] - 10):
            for j in range(p.shape[1] - 10):
                u, v = p[i:i + 11, j:j + 11], q[i:i + 11, j:j + 11]
                mu, mv = (w * u).sum(), (w * v).sum()
                su, sv, cov = (w * u * u).sum() - mu ** 2, (w * v * v).sum() - mv ** 2, (w * u * v).sum() - mu * mv
                out.append((2 * mu * mv + c1) * (2 * cov + c2) / ((mu ** 2 + mv ** 2 + c1) * (su + sv + c2)))
    return float(np.mean(out))


def test_ssim_and_psnr_follow_their_definitions():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(ssim_by_definition(a, b), abs=1e-12)
    assert ssim(a, a) == pytest.approx(1.0) and ssim(a, b) < 0.99
    mse = np.mean((a.astype(float) - b) ** 2)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / mse)) and psnr(a, a) == float("inf")
