"""Image metrics: SSIM (Gaussian 11×11, σ 1.5, as in Wang et al. 2004) and PSNR, on uint8 RGB."""

from __future__ import annotations

import numpy as np

try:
    import cv2
except ImportError:  # the bare GPU machine of benchmarks/gpu.py: the same numbers, ≈5× slower
    cv2 = None

WINDOW, SIGMA = 11, 1.5


def _gaussian() -> np.ndarray:
    x = np.arange(WINDOW, dtype=np.float64) - WINDOW // 2
    g = np.exp(-(x ** 2) / (2 * SIGMA ** 2))
    return g / g.sum()


def _blur(img: np.ndarray) -> np.ndarray:
    """The Gaussian window over every position where it fits whole ('valid'), as in the reference
    implementation; separable, in float64 (a 2-D float64 convolution costs 100× more on a CPU)."""
    g = _gaussian()
    r = WINDOW // 2
    if cv2 is not None:
        return cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]
    h, w = img.shape[:2]
    rows = sum(g[k] * img[k:k + h - 2 * r] for k in range(WINDOW))
    return sum(g[k] * rows[:, k:k + w - 2 * r] for k in range(WINDOW))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 images (H, W, 3) over channels, data range 255."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _blur(x), _blur(y)
    sxx = _blur(x * x) - mx ** 2
    syy = _blur(y * y) - my ** 2
    sxy = _blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
