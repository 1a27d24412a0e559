"""Scoring the face renderers on the target's held-out block (never trained on or retrieved from):
self-reenactment — each held-out frame rendered from its own tracked landmarks — scored against the
frame as filmed by SSIM and PSNR of the mouth crop and of the whole frame, and by LD / LVD of the
landmarks re-detected on the rendered frames (analysis/metrics/face.py). Beside a model: the two
baselines measured the same way — the reference frame's lower face pasted unchanged, and the
retrieval tier — and the re-detection on the real frames (what a perfect render would score).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core.progress import Progress


def _held_frames(faces, path) -> Iterator[tuple[int, np.ndarray]]:
    from avstudio.media.video import VideoSource

    rows = faces.held_rows
    want = set(faces.frames[rows].tolist())
    vs = VideoSource(path, prefetch=0, cache_mb=0)
    try:
        for i, rgb in vs.iter_frames(int(faces.frames[rows[0]]), int(faces.frames[rows[-1]]) + 1):
            if i in want:
                yield i, rgb
    finally:
        vs.close()


def image_scores(frames: list, real: list, face68: np.ndarray) -> dict:
    from avstudio.analysis.metrics.face import mouth_box
    from avstudio.analysis.metrics.image import psnr, ssim

    mouth_ssim, mouth_psnr, whole_ssim, whole_psnr = [], [], [], []
    for g, r, lm in zip(frames, real, face68):
        x0, y0, x1, y1 = mouth_box(lm)
        h, w = r.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        mouth_ssim.append(ssim(g[y0:y1, x0:x1], r[y0:y1, x0:x1]))
        mouth_psnr.append(psnr(g[y0:y1, x0:x1], r[y0:y1, x0:x1]))
        whole_ssim.append(ssim(g, r))
        whole_psnr.append(psnr(g, r))
    return {"mouth_ssim": float(np.mean(mouth_ssim)), "mouth_psnr": float(np.mean(mouth_psnr)),
            "ssim": float(np.mean(whole_ssim)), "psnr": float(np.mean(whole_psnr))}


def landmark_scores(frames: list, face68: np.ndarray, flags68: np.ndarray) -> dict:
    """LD / LVD of the face re-detected on ``frames`` (MediaPipe, pointed at the driving face) against
    the driving landmarks."""
    from avstudio.analysis.landmarks.extract import extract_frames
    from avstudio.analysis.landmarks.layouts import face68_of
    from avstudio.analysis.metrics.face import compare

    hints = []
    for lm in face68:
        (x0, y0), (x1, y1) = lm[:, :2].min(0), lm[:, :2].max(0)
        hints.append(((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)))
    pts, fl = extract_frames(frames, "face", hints=hints)
    p68, f68 = face68_of(pts, fl, "mediapipe478")
    return compare(p68, f68, face68, flags68).to_json()


STRIP_FRAMES, STRIP_SIDE = 5, 160


def comparison_strip(faces, frames: np.ndarray, real: list, rendered: dict, path: str) -> None:
    """A picture of a few held-out frames' face crops: one column per frame, one row each for the
    frame as filmed and every renderer (top to bottom in ``rendered``'s order), labelled."""
    import cv2

    from avstudio.ml.lipsync.crop import warp

    picks = np.linspace(0, len(frames) - 1, min(STRIP_FRAMES, len(frames))).round().astype(int)
    rows = []
    for name, imgs in [("filmed", real), *rendered.items()]:
        cells = [cv2.resize(warp(imgs[k], faces.matrix(int(frames[k])), faces.size), (STRIP_SIDE, STRIP_SIDE),
                            interpolation=cv2.INTER_AREA) for k in picks]
        row = np.concatenate(cells, 1)
        cv2.putText(row, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2, cv2.LINE_AA)
        rows.append(row)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(np.concatenate(rows, 0)[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])


def evaluate_face(project_path: str, model_id: str | None = None, device: str = "auto",
                  checkpoint: str | None = None, strip: str | None = None) -> Iterator[Progress]:
    """Job: the held-out scores of a face renderer (written to its checkpoint's metrics.json) beside
    the baselines; with no model, the baselines (and the real frames) alone. ``strip``: also write
    :func:`comparison_strip` there. Returns the metrics."""
    from avstudio.analysis.face.analyse import clip_face
    from avstudio.core import roles
    from avstudio.core.atomic import atomic_write_json
    from avstudio.core.store import load_project
    from avstudio.ml.lipsync.data import reference_row
    from avstudio.ml.lipsync.render import ReferencePainter, RetrievalPainter, paint_frame
    from avstudio.ml.lipsync.target import load_target

    project = load_project(project_path)
    faces = yield from load_target(project)
    target = clip_face(project, roles.TARGET)
    _, path = project.clip_media(roles.TARGET)
    painters, doc = {}, None
    ref_row = reference_row(faces, faces.train_rows)
    if model_id is not None:
        from avstudio.ml.lipsync.learned import LearnedPainter
        yield Progress(0, None, "Loading the model")
        painters["model"] = LearnedPainter.load(project_path, model_id, faces, device, checkpoint, faces.train_rows)
        doc = painters["model"].doc
    painters["retrieval"] = RetrievalPainter(faces, faces.train_rows)
    painters["reference"] = ReferencePainter(faces, ref_row)
    rows = faces.held_rows
    frames = faces.frames[rows]
    rendered: dict[str, list] = {name: [] for name in painters}
    real = []
    for k, (f, rgb) in enumerate(_held_frames(faces, path)):
        real.append(rgb)
        row = rows[k]
        for name, p in painters.items():
            rendered[name].append(paint_frame(p, rgb, faces.matrix(f), faces.size, target.face68[f], target.face68[f],
                                              faces.frontal[row]))
        if k % 20 == 0:
            yield Progress(k, len(rows), f"Rendering held-out frame {k + 1}/{len(rows)}")
    if strip:
        comparison_strip(faces, frames, real, rendered, strip)
    metrics: dict = {"heldout_frames": [int(frames[0]), int(frames[-1])], "frames": int(len(frames))}
    f68, fl68 = target.face68[frames], target.flags68[frames]
    for i, (name, imgs) in enumerate(rendered.items()):
        yield Progress(i, len(painters) + 1, f"Scoring {name}")
        metrics[name] = {**image_scores(imgs, real, f68), **landmark_scores(imgs, f68, fl68)}
    metrics["real"] = landmark_scores(real, f68, fl68)  # re-detection on the frames as filmed: the floor
    if doc is not None:
        metrics["step"] = int(doc["step"])
        atomic_write_json(Path(doc["path"]) / "metrics.json", metrics)
    return metrics
