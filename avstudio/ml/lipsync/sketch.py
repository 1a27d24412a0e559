"""The landmark sketch a learned face renderer is driven by (EDN's face input, EVP's edge map): the
iBUG-68 contours in white and the inside of the mouth in grey, one channel, deterministic."""

from __future__ import annotations

import numpy as np

from avstudio.core.skeletons import skeleton

INNER_MOUTH = tuple(range(60, 68))
MOUTH_FILL = 128


def sketch(points: np.ndarray, size: int, flags: np.ndarray | None = None) -> np.ndarray:
    """(size, size) uint8: the contours of one face (68, ≥2 in crop pixels); a contour with a MISSING
    point is left out."""
    import cv2

    from avstudio.core.tracks import Flag

    img = np.zeros((size, size), np.uint8)
    ok = np.ones(68, bool) if flags is None else flags[:68] != Flag.MISSING
    shift = 2  # sub-pixel precision: cv2 draws with 2 fractional bits
    pts = np.round(np.asarray(points)[:68, :2] * (1 << shift)).astype(np.int32)
    if ok[list(INNER_MOUTH)].all():
        cv2.fillPoly(img, [pts[list(INNER_MOUTH)]], MOUTH_FILL, lineType=cv2.LINE_AA, shift=shift)
    thickness = max(1, round(size / 128))
    for a, b, closed in skeleton("face68").polylines:
        idx = list(range(a, b + 1))
        if ok[idx].all():
            cv2.polylines(img, [pts[idx]], bool(closed), 255, thickness, lineType=cv2.LINE_AA, shift=shift)
    return img
