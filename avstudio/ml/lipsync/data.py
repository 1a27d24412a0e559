"""What a learned face renderer sees (no torch): for one target frame, its crop with the lower half
masked (Wav2Lip's input), a reference crop of another frame, and the sketch of the wanted landmarks;
the frame's own crop is what it learns to paint (self-reconstruction: no audio, no second person).

The reference is the retrieval tier's answer (ml/lipsync/retrieval.py): another frame of the target
whose mouth is nearest the wanted one, warped onto the wanted landmarks — real teeth and lips in
about the right place, which the generator refines (light, seams, the exact shape) against the
frame's own upper half (Yi et al.'s render-then-refine). In training the reference never comes from
the frame itself or its neighbours (REFERENCE_GAP), so the generator learns to correct a different
frame, as it must at render time. The batch of step k is a function of the run's seed and k alone.
"""

from __future__ import annotations

import numpy as np

from avstudio.ml.lipsync.crop import MASK_ROW
from avstudio.ml.lipsync.sketch import sketch


def resized(img: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if img.shape[0] == size:
        return np.asarray(img)
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(img), (size, size), interpolation=interp)


def masked(crop: np.ndarray) -> np.ndarray:
    """The crop with everything below MASK_ROW of its height black."""
    out = np.array(crop, copy=True)
    out[int(round(MASK_ROW * len(out))):] = 0
    return out


def generator_input(crop: np.ndarray, reference: np.ndarray, landmarks: np.ndarray, size: int,
                    crop_size: int) -> np.ndarray:
    """(S, S, 7) uint8: the masked crop, the reference crop and the sketch of ``landmarks`` (68, 2 in
    pixels of a ``crop_size`` crop), all at ``size``."""
    k = size / crop_size
    return np.concatenate([masked(resized(crop, size)), resized(reference, size),
                           sketch(np.asarray(landmarks)[:, :2] * k, size)[..., None]], -1)


REFERENCE_GAP = 12   # clip frames around a training frame whose mouths are not its reference
REFERENCE_CHOICE = 3  # the reference is one of the nearest few mouths (a little variety in training)


def reference_row(faces, rows: np.ndarray) -> int:
    """The reference-frame baseline's frame: the one among ``rows`` whose mouth is open at the 75th
    percentile (it shows some of the inside of the mouth)."""
    gap = np.linalg.norm(faces.frontal[rows, 62] - faces.frontal[rows, 66], axis=1)
    order = np.argsort(gap, kind="stable")
    return int(rows[order[int(0.75 * (len(order) - 1))]])


def training_reference(retrieval, faces, row: int, rng: np.random.Generator) -> np.ndarray:
    """A training frame's reference: one of the nearest mouths away from it, warped onto its landmarks."""
    near = retrieval.nearest(faces.frontal[row], k=REFERENCE_CHOICE, away_from=int(faces.frames[row]),
                             gap=REFERENCE_GAP)
    return retrieval.paint(int(near[rng.integers(len(near))]), faces.landmarks[row])


MOUTH_PAD = 0.3   # the lips' box, widened by this share each side, is where the L1 loss weighs more


def mouth_mask(landmarks: np.ndarray, size: int, crop_size: int) -> np.ndarray:
    """(S, S) float32: 1 inside the lips' box (widened by MOUTH_PAD), 0 outside."""
    lips = np.asarray(landmarks)[48:68, :2] * (size / crop_size)
    (x0, y0), (x1, y1) = lips.min(0), lips.max(0)
    px, py = MOUTH_PAD * (x1 - x0), MOUTH_PAD * (y1 - y0) + 0.02 * size
    out = np.zeros((size, size), np.float32)
    out[max(0, int(y0 - py)):int(np.ceil(y1 + py)), max(0, int(x0 - px)):int(np.ceil(x1 + px))] = 1.0
    return out


def batch(faces, retrieval, rows: np.ndarray, seed: int, step: int, n: int, size: int, temporal: bool = False):
    """(inputs (n, S, S, 7), real (n, S, S, 3), lips (n, S, S)) of step ``step``: uint8 pictures and
    each sample's mouth box (mouth_mask); with ``temporal``, 2n of each: each sample's previous frame
    first, then the frame (consecutive clip frames)."""
    rng = np.random.default_rng([seed, step])
    pick = rows
    if temporal:
        prev = np.zeros(len(faces.frames), bool)
        prev[1:] = faces.frames[1:] == faces.frames[:-1] + 1
        pick = rows[prev[rows] & np.isin(rows - 1, rows)]
    chosen = rng.choice(pick, n, replace=len(pick) < n)
    order = list(chosen - 1) + list(chosen) if temporal else list(chosen)
    x, y, lips = [], [], []
    for r in order:
        crop = np.asarray(faces.crops[r])
        ref = np.clip(training_reference(retrieval, faces, int(r), rng), 0, 255).astype(np.uint8)
        x.append(generator_input(crop, ref, faces.landmarks[r], size, faces.size))
        y.append(resized(crop, size))
        lips.append(mouth_mask(faces.landmarks[r], size, faces.size))
    return np.stack(x), np.stack(y), np.stack(lips)
