"""The learned speech → mouth model at the project level: what training and the training monitor say
of it (workflows/training.py's row for the "mouth" kind), and driving the target's face with it."""

from __future__ import annotations

import numpy as np

from avstudio.core import roles
from avstudio.core.project import Project
from avstudio.workflows.operation import Operation, Runs, folder_of, needs_saved_project

from avstudio.workflows.lipsync import models as _lipsync_models

train_kwargs = _lipsync_models.train_kwargs   # its job takes the same arguments as the face renderer's
MODEL_NOUN = "Speech → mouth model"


def score_line(m: dict) -> str:
    a = m["model"]
    return (f"step {m['step']}: mouth LD {a['ld_mouth']:.4f} · LVD {a['lvd_mouth']:.4f} · loudness lag "
            f"{a['lag']:+d} (r {a['lag_r']:.2f})")


def baseline_line(m: dict) -> str:
    f = m["frames"]
    return (f"Held-out frames {f[0] + 1}–{f[1] + 1} of the {roles.label(m['clip'])}: mean mouth LD "
            f"{m['mean_mouth']['ld_mouth']:.4f} / LVD {m['mean_mouth']['lvd_mouth']:.4f}; visemes "
            f"{m['visemes']['ld_mouth']:.4f} / {m['visemes']['lvd_mouth']:.4f}; real shifted 5 frames "
            f"{m['shifted_plus']['ld_mouth']:.4f} / {m['shifted_plus']['lvd_mouth']:.4f}; the real footage's lag "
            f"{m['real']['lag']:+d}")


def predict_job(project_path: str, model_id: str, clip: str):
    """Job: the mouth offsets the model makes of ``clip``'s speech, on the target's frame grid."""
    from avstudio.core.progress import Progress
    from avstudio.core.store import load_project
    from avstudio.ml.lipsync.mouth_data import speech_inputs
    from avstudio.ml.lipsync.mouth_train import MouthModel
    from avstudio.workflows.lipsync.drive import driver_fps

    yield Progress(0, None, "Predicting the mouth from speech")
    project = load_project(project_path)
    model = MouthModel.load(project_path, model_id)
    return model.offsets(speech_inputs(project, clip, float(driver_fps(project, roles.TARGET)))).astype(np.float32)


@needs_saved_project
def predict(project: Project, clip: str, model_id: str, mode: str | None = None) -> Operation:
    """Drive the target's face from ``clip``'s speech with a trained speech → mouth model."""
    from avstudio.workflows.lipsync.visemes import offsets_edit, viseme_row

    viseme_row(project, clip)
    return Operation(f"Drive the target's face from speech ({model_id})",
                     "avstudio.workflows.lipsync.mouth:predict_job", (folder_of(project), model_id, clip),
                     runs=Runs.PROCESS,
                     apply=lambda p, off: offsets_edit(p, clip, off, model_id, mode)[0],
                     summary=lambda off: f"Drove {len(off)} frames from the {roles.label(clip)}'s speech with "
                                         f"{model_id}.")
