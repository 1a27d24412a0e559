"""The smallest real checkpoint of each kind of model, written with the real save_checkpoint from the
real networks' state (each kind's smallest preset with the narrowest widths), in a project folder
without media: what the hostile-input tests damage, copy and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from avstudio.core import models
from avstudio.ml import checkpoint as ck
from avstudio.ml import runs

MOUTH_POINTS = 20


def _motion() -> tuple[dict, dict, dict]:
    from avstudio.ml.motion.presets import preset_config
    from avstudio.ml.motion.train import Trainer

    cfg = preset_config("preview", ngf=4, ndf=4, steps=4, checkpoint_every=4)
    cfg["stage"] = {"src_size": [64, 48], "size": 128, "side": 128.0, "moving": False, "bias": [0.0, 0.0]}
    tensors, meta = Trainer(cfg, torch.device("cpu"), speedups=False).tensors()
    return cfg, tensors, {"optim": meta}


def _voice() -> tuple[dict, dict, dict]:
    from avstudio.ml.voice.presets import vc_config
    from avstudio.ml.voice.train import VCTrainer

    cfg = vc_config("vc-preview", width=0.03, steps=4, checkpoint_every=4, f0_method="dio")
    tensors, meta = VCTrainer(cfg, torch.device("cpu"), speedups=False).tensors()
    n = cfg["n_mcep"]
    stats = {side: {"mcep_mean": [0.1] * n, "mcep_std": [1.0] * n, "logf0_mean": 5.0 + i, "logf0_std": 0.2,
                    "frames": 100, "files": 1} for i, side in enumerate(("source", "target"))}
    return cfg, tensors, {"optim": meta, "stats": stats, "sources": {"source": [], "target": []}}


def _lipsync() -> tuple[dict, dict, dict]:
    from avstudio.ml.lipsync.presets import face_config
    from avstudio.ml.lipsync.train import FaceTrainer

    cfg = face_config("face-128", ngf=4, ndf=4, steps=4, checkpoint_every=4)
    tensors, meta = FaceTrainer(cfg, torch.device("cpu"), speedups=False).tensors()
    return cfg, tensors, {"optim": meta}


def _mouth() -> tuple[dict, dict, dict]:
    from avstudio.ml.lipsync.mouth_train import build
    from avstudio.ml.lipsync.presets import mouth_config

    cfg = mouth_config("mouth-cpu", steps=4, checkpoint_every=4)
    net = build(cfg, 15)
    tensors, meta = runs.one_net_state(net, torch.optim.Adam(net.parameters()))
    rng = np.random.default_rng(0)
    tensors["basis/mean"] = torch.from_numpy(rng.normal(size=2 * MOUTH_POINTS).astype(np.float32))
    tensors["basis/components"] = torch.from_numpy(rng.normal(size=(cfg["k"], 2 * MOUTH_POINTS)).astype(np.float32))
    return cfg, tensors, {"optim": meta, "visemes": 15}


def _expert() -> tuple[dict, dict, dict]:
    from avstudio.ml.lipsync.expert import SyncExpert
    from avstudio.ml.lipsync.presets import expert_config

    cfg = expert_config("expert-cpu", steps=4, checkpoint_every=4)
    net = SyncExpert(29)
    tensors, meta = runs.one_net_state(net, torch.optim.Adam(net.parameters()))
    return cfg, tensors, {"optim": meta, "points": 29}


MAKERS = {models.MOTION: _motion, models.VOICE: _voice, models.LIPSYNC: _lipsync, models.MOUTH: _mouth,
          models.EXPERT: _expert}


def write_model(project: Path, model_id: str, kind: str, step: int = 4) -> Path:
    """A checkpoint of ``kind`` as training writes it: models/<model_id>/ckpt-<step>/ + latest.json."""
    cfg, tensors, extra = MAKERS[kind]()
    return ck.save_checkpoint(models.RunFolder.of(project, model_id).path, step, cfg, tensors,
                              {**extra, "seed": 0, "model_id": model_id})


def load_ready(project: Path, model_id: str, kind: str):
    """Load a model as the commands that use it do (its networks built and filled, ready to run)."""
    if kind == models.MOTION:
        from avstudio.ml.motion.evaluate import load_generator
        return load_generator(str(project), model_id, torch.device("cpu"))
    if kind == models.VOICE:
        from avstudio.ml.voice.convert import load_voice_model
        return load_voice_model(str(project), model_id, torch.device("cpu"))
    if kind == models.LIPSYNC:
        from avstudio.ml.lipsync.train import load_face_trainer
        return load_face_trainer(str(project), model_id, "cpu")
    if kind == models.MOUTH:
        from avstudio.ml.lipsync.mouth_train import MouthModel
        return MouthModel.load(str(project), model_id)
    from avstudio.ml.lipsync.expert_train import load_expert
    return load_expert(str(project), model_id)
