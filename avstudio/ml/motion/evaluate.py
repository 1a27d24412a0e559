"""Evaluation of a checkpoint on the held-out block of the target (reconstruction from its own poses).

Scores, for the model and for a trivial baseline (the mean training frame, which shows no person):
SSIM and PSNR over the whole picture (generated windows pasted into the background plate), and
Everybody Dance Now's pose distance — the pose detected on the generated frames by our extractor,
compared with the pose they were generated from (distance / person height, PCK@0.05, PCK@0.1). The detector is pointed at where the input pose
puts the person (a crop around it, enlarged): at 128 px a whole-frame search misses small people
even on the real frames (the walker clip: 0 of 13). A person elsewhere or of another size counts as
not found. Written to the checkpoint's metrics.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from avstudio.core.atomic import atomic_write_json
from avstudio.core.models import MOTION
from avstudio.core.progress import Progress
from avstudio.core.skeletons import map_points
from avstudio.core.store import load_project
from avstudio.core.tracks import Flag
from avstudio.ml import checkpoint as ck
from avstudio.ml.motion.build import checkpoint_nets
from avstudio.ml.motion.data import build_dataset, to_images, to_tensor
from avstudio.ml.device import autocast, resolve_device, to_device
from avstudio.ml.motion.nets.plate import PlateComposite
from avstudio.ml.motion.stage import Stage, crop, paste
from avstudio.ml.motion.train import Trainer

POSE_UPSCALE = 4.0  # generated frames are small (128 px): enlarge before detecting the pose


def load_generator(project_path: str, model_id: str, device, checkpoint: str | None = None):
    """The generator of a model's latest checkpoint (or of ``checkpoint``, a folder of that model)."""
    doc, tensors = ck.load_model(project_path, model_id, MOTION, checkpoint_nets, checkpoint)
    trainer = Trainer(doc["config"], device)
    trainer.load(tensors, doc.get("optim", {}), doc["path"], optimizers=False)
    trainer.G.eval()
    return doc, trainer


def _shift(t: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Move an image batch by whole pixels (what falls out is dropped, what comes in is black)."""
    if dx == 0 and dy == 0:
        return t
    out = torch.full_like(t, -1.0)
    h, w = t.shape[-2:]
    out[..., max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
        t[..., max(0, -dy):h + min(0, -dy), max(0, -dx):w + min(0, -dx)]
    return out


@torch.no_grad()
def generate_rows(trainer: Trainer, poses: np.ndarray, device, batch: int = 8, boxes=None,
                  windows: np.ndarray | None = None, layers: bool = False) -> np.ndarray:
    """Generate the windows of consecutive frames from their pose images (sequentially when
    temporal: the previous output, moved into this frame's window, conditions the next). ``windows``
    (N, 2) say where each sits on the stage (the background plate behind it); with a face stage,
    ``boxes`` (from face_boxes) say where to refine the face. ``layers``: RGBA (N, S, S, 4), the
    colour and the mask (opaque for models without a plate) instead of the composite."""
    out = []
    plated = isinstance(trainer.G, PlateComposite)
    n, size = len(poses), trainer.cfg["size"]
    windows = np.zeros((n, 2), np.int64) if windows is None else np.asarray(windows)
    plate = to_images(trainer.G.plate)[0] if plated else None
    step = 1 if trainer.cfg["temporal"] else batch
    prev = None
    for i in range(0, n, step):
        pose = to_device(to_tensor(poses[i:i + step]), device, trainer.speedups)
        back = None
        if plate is not None:
            back = to_device(to_tensor(np.stack([crop(plate, w, size) for w in windows[i:i + step]])), device,
                             trainer.speedups)
        with autocast(device, trainer.speedups):
            if trainer.cfg["temporal"] and prev is not None:
                dx, dy = (windows[i - 1] - windows[i]).tolist()
                prev = _shift(prev, int(dx), int(dy))
            if layers and plated:
                fake, colour, mask = trainer.generate_layers(pose, prev, back)
            else:
                fake = trainer.generate(pose, prev, plate=back)
                colour, mask = fake, torch.ones_like(fake[:, :1])
        fake, colour = fake.float(), colour.float()
        prev = fake
        if trainer.face_g is not None and boxes is not None:
            fake = trainer.refine_faces(fake, pose, boxes[i:i + step])
            colour = fake if not plated else trainer.refine_faces(colour, pose, boxes[i:i + step])
        if layers:
            alpha = (mask.float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
            out.append(np.concatenate([to_images(colour), alpha], axis=3))
        else:
            out.append(to_images(fake))
    return np.concatenate(out)


def paste_stage(trainer: Trainer, stage: Stage, windows: np.ndarray, crops: np.ndarray) -> np.ndarray:
    """Generated windows pasted into the stage's background plate (black without one): whole frames."""
    w, h = stage.stage_size
    plate = to_images(trainer.G.plate)[0] if isinstance(trainer.G, PlateComposite) else np.zeros((h, w, 3), np.uint8)
    return np.stack([paste(plate.copy(), c, win) for c, win in zip(crops, windows)])


def _crop(img, content):
    x0, y0, x1, y1 = content
    return img[y0:y1, x0:x1]


def _hints(data, rows) -> list:
    """Where each held-out person should be (the box of its input pose, in the stage picture's
    pixels): the detector looks there, on generated, real and baseline frames alike."""
    out = []
    for r in rows:
        ok = data.body_flags[r] != Flag.MISSING
        if ok.sum() < 4:
            out.append(None)
            continue
        p = data.stage_body[r][ok, :2] - np.asarray(data.content[:2], np.float32)
        (x0, y0), (x1, y1) = p.min(0), p.max(0)
        out.append(((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0, 1.0)))
    return out


def score(frames: np.ndarray, real: np.ndarray, data, rows) -> dict:
    """Whole stage frames (generated or baseline) against the real ones, over the picture's area."""
    from avstudio.analysis.landmarks.extract import extract_frames  # MediaPipe and OpenCV: scoring only
    from avstudio.analysis.metrics.image import psnr, ssim
    from avstudio.analysis.metrics.pose import compare

    x0, y0, x1, y1 = data.content
    crops = [_crop(f, data.content) for f in frames]
    s = float(np.mean([ssim(c, _crop(r, data.content)) for c, r in zip(crops, real)]))
    p = float(np.mean([psnr(c, _crop(r, data.content)) for c, r in zip(crops, real)]))
    # The person is about S / 1.3 px tall on the stage: enlarge to ≈4x that at 128 px.
    pts, fl = extract_frames(crops, "pose", upscale=POSE_UPSCALE * 128 / data.size, hints=_hints(data, rows))
    pts[..., 0] += x0
    pts[..., 1] += y0
    b_pts, b_fl = map_points(pts, fl, "mediapipe33->body25")
    pose = compare(data.stage_body[rows], data.body_flags[rows], b_pts, b_fl)
    return {"ssim": s, "psnr": p, "pose_distance": pose.distance, "pck_005": pose.pck_005, "pck_010": pose.pck_010,
            "frames_without_person": pose.frames_missing}


def evaluate(project_path: str, model_id: str, device: str = "auto", checkpoint: str | None = None) -> Iterator[Progress]:
    """Job: score the model's latest checkpoint (or ``checkpoint``) on the held-out block, beside the
    mean-frame baseline; written to the checkpoint's metrics.json. Returns the metrics dict."""
    dev = resolve_device(device)
    project = load_project(project_path)
    yield Progress(0, 4, "Loading the model")
    doc, trainer = load_generator(project_path, model_id, dev, checkpoint)
    data = yield from build_dataset(project, doc["config"]["size"], doc["config"].get("stage") or {"moving": False})
    rows = data.held_rows
    real = np.asarray(data.stage_frames[rows])
    yield Progress(1, 4, f"Generating {len(rows)} held-out frames")
    boxes = None
    if trainer.face_g is not None:
        from avstudio.ml.motion.face_refiner import face_boxes
        boxes = face_boxes(data.body[rows], data.body_flags[rows], data.size)
    crops = generate_rows(trainer, np.asarray(data.poses[rows]), dev, boxes=boxes, windows=data.windows[rows])
    fake = paste_stage(trainer, data.stage, data.windows[rows], crops)
    yield Progress(2, 4, "Scoring the model")
    model_scores = score(fake, real, data, rows)
    yield Progress(3, 4, "Scoring the mean-frame baseline")
    mean = np.asarray(data.stage_frames[data.train_rows]).mean(0).round().astype(np.uint8)
    base_scores = score(np.repeat(mean[None], len(rows), 0), real, data, rows)
    metrics = {"step": doc["step"], "heldout_frames": [int(data.indices[rows[0]]), int(data.indices[rows[-1]])],
               "model": model_scores, "baseline_mean_frame": base_scores}
    atomic_write_json(Path(doc["path"]) / "metrics.json", metrics)
    yield Progress(4, 4, f"SSIM {model_scores['ssim']:.3f} (baseline {base_scores['ssim']:.3f}), "
                         f"PSNR {model_scores['psnr']:.1f} dB ({base_scores['psnr']:.1f}), "
                         f"PCK@0.1 {model_scores['pck_010']:.2f} ({base_scores['pck_010']:.2f})", data=metrics)
    return metrics
