"""The kinds of model AV Studio trains, as data: what trains, scores and uses each one (job specs, so
the editor names them without importing torch), its presets, what its samples are. The editor's
training panel, the CLI and the workflows read this table; adding lip sync adds a row.

No torch here (the editor reads it at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from avstudio.core import models
from avstudio.ml.lipsync.presets import EXPERT_PRESETS, FACE_PRESETS, MOUTH_PRESETS
from avstudio.ml.motion.presets import PRESETS as MOTION_PRESETS
from avstudio.ml.voice.presets import VC_PRESETS


@dataclass(frozen=True)
class ModelKind:
    name: str             # core.models kind (a run's config "kind")
    noun: str             # "a motion-transfer model"
    train_job: str        # "module:function" of the training job
    evaluate_job: str     # the held-out scoring job (takes project_path, model_id, device, checkpoint)
    presets: dict
    default_preset: str
    preset_tip: str
    sample: str           # what a training sample is: "image" or "audio"


MODEL_KINDS: dict[str, ModelKind] = {
    models.MOTION: ModelKind(
        models.MOTION, models.NOUNS[models.MOTION], "avstudio.ml.motion.train:train",
        "avstudio.ml.motion.evaluate:evaluate", MOTION_PRESETS, "preview",
        "preview: 128 px, minutes on a CPU · standard: 256 px + temporal · "
        "hd: pix2pixHD 512 px + temporal + face stage (needs a GPU)", "image"),
    models.VOICE: ModelKind(
        models.VOICE, models.NOUNS[models.VOICE], "avstudio.ml.voice.train:train_voice",
        "avstudio.ml.voice.evaluate:evaluate_voice", VC_PRESETS, "vc-preview",
        "vc-preview: a quarter of the channels, a CPU-bounded run · vc: CycleGAN-VC2 as published (days on a GPU)",
        "audio"),
    models.LIPSYNC: ModelKind(
        models.LIPSYNC, models.NOUNS[models.LIPSYNC], "avstudio.ml.lipsync.train:train_face",
        "avstudio.ml.lipsync.evaluate:evaluate_face", FACE_PRESETS, "face-128",
        "face-128: 128 px, about 15 minutes on a CPU · face-256: two-scale and temporal discriminators, for a GPU",
        "image"),
    models.MOUTH: ModelKind(
        models.MOUTH, models.NOUNS[models.MOUTH], "avstudio.ml.lipsync.mouth_train:train_mouth",
        "avstudio.ml.lipsync.mouth_eval:evaluate_mouth", MOUTH_PRESETS, "mouth-cpu",
        "mouth-cpu: a small temporal network on the target's own speech, minutes on a CPU", "image"),
    models.EXPERT: ModelKind(
        models.EXPERT, models.NOUNS[models.EXPERT], "avstudio.ml.lipsync.expert_train:train_expert",
        "avstudio.ml.lipsync.expert_train:evaluate_expert", EXPERT_PRESETS, "expert-cpu",
        "expert-cpu: sound vs mouth landmarks, minutes on a CPU", "image"),
}


def model_kind(name: str) -> ModelKind:
    from avstudio.core.errors import UserError

    try:
        return MODEL_KINDS[name]
    except KeyError:
        raise UserError(f"Unknown kind of model {name!r}: AV Studio trains {', '.join(MODEL_KINDS)}.") from None
