"""Trained models inside a project: the one definition of the run-folder layout, the model index
(which models exist, of which kind) and model names. No torch: the editor, the CLI and the
training code all read it.

    models/<id>/                   one training run (a model)
      latest.json                  {"checkpoint": "ckpt-00001200", "step": 1200}: the newest complete one
      losses.jsonl                 one line of losses per step
      samples/step-00001200.png    what the model made at that step (.wav for voice models)
      ckpt-00001200/               config.json (the run's config, its kind) + weights.safetensors
        metrics.json               held-out scores of this checkpoint

A model's kind (motion, voice, …) is read from its config; checkpoints written before kinds were
named say ``"cyclegan-vc2"`` (voice) or nothing (motion).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from avstudio.core.errors import ProjectError

MODELS = "models"
LATEST = "latest.json"
LOSSES = "losses.jsonl"
SAMPLES = "samples"
CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
METRICS = "metrics.json"

MOTION = "motion"
VOICE = "voice"
LIPSYNC = "lipsync"   # a face renderer
MOUTH = "mouth"       # a speech → mouth model (lip sync)
EXPERT = "expert"     # a person-specific lip-sync expert (lip sync)
KINDS = (MOTION, VOICE, LIPSYNC, MOUTH, EXPERT)
_LEGACY_KINDS = {"cyclegan-vc2": VOICE, None: MOTION}

_CHECKPOINT = re.compile(r"ckpt-\d{8}")
# A model name is one folder inside models/: letters, digits, space, . _ -; never a path.
_MODEL_ID = re.compile(r"\w[\w .-]{0,79}")


def model_kind(config: dict) -> str:
    """The kind of model a run's config describes."""
    kind = config.get("kind")
    return _LEGACY_KINDS.get(kind, kind)


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not _MODEL_ID.fullmatch(model_id) or model_id.strip() != model_id:
        raise ProjectError(f"{model_id!r} cannot name a model: use letters, digits, spaces, '.', '_' or '-' "
                           "(up to 80, no folder separators).")
    return model_id


def new_model_id() -> str:
    """A fresh name: the date and time, and a few random letters."""
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]


def models_dir(project_folder) -> Path:
    return Path(project_folder) / MODELS


def checkpoint_name(step: int) -> str:
    return f"ckpt-{int(step):08d}"


@dataclass(frozen=True)
class RunFolder:
    """The files of one model (training run), and nothing outside its folder."""

    path: Path

    @classmethod
    def of(cls, project_folder, model_id: str) -> RunFolder:
        return cls(models_dir(project_folder) / check_model_id(model_id))

    @property
    def model_id(self) -> str:
        return self.path.name

    @property
    def latest_file(self) -> Path:
        return self.path / LATEST

    @property
    def losses_file(self) -> Path:
        return self.path / LOSSES

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES

    def sample_file(self, step: int, suffix: str) -> Path:
        return self.samples_dir / f"step-{int(step):08d}{suffix}"

    def checkpoint_dir(self, step: int) -> Path:
        return self.path / checkpoint_name(step)

    def checkpoints(self) -> list[Path]:
        return sorted(p for p in self.path.glob("ckpt-*") if p.is_dir() and _CHECKPOINT.fullmatch(p.name))

    def latest(self) -> Path | None:
        """The newest complete checkpoint named by latest.json, or None. A name that is not one of
        this run's checkpoint folders (a path, "..", a link elsewhere) counts as none."""
        try:
            name = json.loads(self.latest_file.read_text())["checkpoint"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(name, str) or not _CHECKPOINT.fullmatch(name):
            return None
        path = self.path / name
        try:
            inside = path.resolve().parent == self.path.resolve()
        except OSError:
            return None
        return path if inside and (path / CONFIG).is_file() else None

    def latest_config(self) -> dict | None:
        """The config of the newest checkpoint (None when there is none or it is unreadable)."""
        ckpt = self.latest()
        if ckpt is None:
            return None
        try:
            doc = json.loads((ckpt / CONFIG).read_text())
            return doc["config"] if isinstance(doc.get("config"), dict) else None
        except (OSError, ValueError, KeyError, AttributeError):
            return None


@dataclass(frozen=True)
class ModelRef:
    id: str
    kind: str
    preset: str | None
    run: RunFolder


def list_models(project_folder, kind: str | None = None) -> list[ModelRef]:
    """The project's models that have a checkpoint, sorted by name (so the newest time-stamped name
    comes last); only those of ``kind`` when given."""
    if project_folder is None:
        return []
    root = Path(project_folder) / MODELS
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.is_symlink() or not _MODEL_ID.fullmatch(p.name):
            continue
        run = RunFolder(p)
        cfg = run.latest_config()
        if cfg is None:
            continue
        ref = ModelRef(p.name, model_kind(cfg), cfg.get("preset"), run)
        if kind is None or ref.kind == kind:
            out.append(ref)
    return out


def model_ids(project_folder, kind: str | None = None) -> list[str]:
    return [m.id for m in list_models(project_folder, kind)]
