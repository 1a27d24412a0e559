"""Scoring the speech → mouth model (EVP's LD / LVD, in the pose-normalized space) on speech it never
trained on — the target's held-out block, or another recording of the same person (``against``: the
source clip, its tracked mouth as the truth) — beside three baselines measured the same way: the mean
mouth, the viseme model (no training) and the real track shifted by ±5 frames; and sync without ground
truth: the lag correlation of loudness with the mouth's opening (peak lag and r) beside the same on
the real footage, bilabial closure, and — given a lip-sync expert — the offset and confidence it reads
on the model's mouth, the viseme model's and the real one."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core import layers, roles
from avstudio.core.progress import Progress
from avstudio.core.tracks import Flag

SHIFT = 5


def opening(offsets: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    from avstudio.analysis.face.curves import curve_values
    from avstudio.retarget.face import DRIVEN_POINTS

    pts = np.repeat(neutral[None, :, :2], len(offsets), 0).astype(np.float64)
    pts[:, list(DRIVEN_POINTS)] += offsets
    return curve_values(pts)[:, 0]


def viseme_baseline(project, clip: str, inputs) -> np.ndarray:
    """The viseme model's mouth offsets for the same speech, in the target's units."""
    from avstudio.analysis.face.analyse import clip_face
    from avstudio.retarget.face import DRIVEN_POINTS
    from avstudio.retarget.speech import choose_frames, jaw_from_loudness, mouth_offsets, shapes

    target = clip_face(project, roles.TARGET)
    usable = (target.frontal_flags[:, list(DRIVEN_POINTS)] != Flag.MISSING).all(1)
    yaw = project.require_track(roles.TARGET, layers.HEAD_POSE).arrays["values"][:, 0]
    frames = choose_frames(target.frontal, usable, yaw, target.fit.neutral_array, target.fit.mouth_range,
                           project.settings.get("viseme_frames") or {})
    row = project.require_track(clip, layers.VISEMES)
    n = len(inputs.mel)
    return mouth_offsets(row.spans(), float(row.meta.get("duration", n / inputs.fps)), inputs.fps, n,
                         shapes(target.frontal, frames, target.fit.neutral_array),
                         jaw_from_loudness(inputs.loudness, inputs.speaking))


def _sync(loud, open_, rows) -> dict:
    from avstudio.analysis.metrics.sync import lag_correlation

    lag, r = lag_correlation(loud[rows], open_[rows])
    return {"lag": int(lag), "lag_r": float(r)}


def score(project, model, clip: str, rows: np.ndarray, expert=None) -> dict:
    """Every number of the evaluation, on the frames ``rows`` of ``clip``."""
    from avstudio.analysis.metrics.face import offset_scores
    from avstudio.analysis.metrics.sync import bilabial_closure, closed_below
    from avstudio.ml.lipsync.mouth_data import clip_mouth, speech_inputs
    from avstudio.retarget.face import DRIVEN_POINTS

    truth = clip_mouth(project, clip)
    inputs = speech_inputs(project, clip, truth.fps, len(truth.offsets))
    ok = np.zeros(len(truth.offsets), bool)
    ok[rows] = truth.usable[rows]
    target_neutral = clip_mouth(project, roles.TARGET).neutral
    mouth = np.array([j >= 48 for j in DRIVEN_POINTS])
    mean = model.mean.numpy().reshape(-1, 2)
    tries = {"model": model.offsets(inputs), "mean_mouth": np.repeat(mean[None], len(ok), 0),
             "visemes": viseme_baseline(project, clip, inputs),
             "shifted_plus": np.roll(truth.offsets, SHIFT, 0), "shifted_minus": np.roll(truth.offsets, -SHIFT, 0)}
    out = {name: offset_scores(off, truth.offsets, ok, mouth) for name, off in tries.items()}
    real_open = np.where(truth.usable, opening(truth.offsets, truth.neutral), np.nan)
    out["real"] = _sync(inputs.loudness, real_open, rows)
    bilabials = [(a, b) for a, b, v in project.require_track(clip, layers.VISEMES).spans() if v == "PP"
                 and rows[0] <= a * truth.fps < rows[-1] + 1]
    closed = closed_below(real_open)
    for name in ("model", "visemes"):
        o = opening(tries[name], target_neutral)
        out[name].update(_sync(inputs.loudness, o, rows))
        out[name]["closure"] = bilabial_closure(bilabials, o, truth.fps, closed) if bilabials else None
    if expert is not None:   # the lip-sync expert's reading of each mouth against the sound
        from avstudio.ml.lipsync.expert_train import read

        speaking = truth.usable & inputs.speaking
        for name in ("model", "visemes"):
            out[name]["expert"] = read(expert, inputs.mel, tries[name], speaking, rows)
        out["real"]["expert"] = read(expert, inputs.mel, truth.offsets, speaking, rows)
    out["frames"] = [int(rows[0]), int(rows[-1])]
    out["clip"] = clip
    return out


def evaluate_mouth(project_path: str, model_id: str, device: str = "cpu", checkpoint: str | None = None,
                   against: str | None = None, expert: str | None = None) -> Iterator[Progress]:
    """Job: score a speech → mouth model on the target's held-out block (default) or on ``against``
    (a clip of the same person with its own speech and face). The target's scores are written to the
    checkpoint's metrics.json."""
    from avstudio.core.atomic import atomic_write_json
    from avstudio.core.store import load_project
    from avstudio.ml.lipsync.mouth_data import clip_mouth, split
    from avstudio.ml.lipsync.mouth_train import MouthModel

    project = load_project(project_path)
    yield Progress(0, None, "Loading the model")
    model = MouthModel.load(project_path, model_id, checkpoint)
    clip = against or roles.TARGET
    if clip == roles.TARGET:
        truth = clip_mouth(project, roles.TARGET)
        rows = split(len(truth.offsets), truth.fps)[1]
    else:
        rows = np.arange(len(clip_mouth(project, clip).offsets))
    yield Progress(0, None, f"Scoring on the {roles.label(clip)}")
    judge = None
    if expert:
        from avstudio.ml.lipsync.expert_train import load_expert

        judge, _ = load_expert(project_path, expert)
    metrics = score(project, model, clip, rows, judge)
    metrics["step"] = int(model.doc["step"])
    if clip == roles.TARGET:
        atomic_write_json(Path(model.doc["path"]) / "metrics.json", metrics)
    return metrics
