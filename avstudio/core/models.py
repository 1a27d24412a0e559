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

A project never reaches outside itself through its models: a model is named by an id (never a path),
its folder must be a folder of ``<project>/models/`` (a link to elsewhere is refused), a checkpoint
must be a folder of its model (latest.json cannot name another), and the small JSON files are read
bounded by size and type (a link to /dev/zero or a FIFO is refused, not read).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from avstudio.core.errors import ProjectError, UserError
from avstudio.core.files import KIB, MIB, excerpt, read_json, read_limited

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
# Each kind in words, and the action that trains one (an action id of the CLI's and the editor's hints).
NOUNS = {MOTION: "a motion-transfer model", VOICE: "a voice model", LIPSYNC: "a face renderer",
         MOUTH: "a speech → mouth model", EXPERT: "a lip-sync expert"}
TRAIN_ACTIONS = {MOTION: "train", VOICE: "train_voice", LIPSYNC: "train_lipsync", MOUTH: "train_mouth",
                 EXPERT: "train_expert"}
_LEGACY_KINDS = {"cyclegan-vc2": VOICE, None: MOTION}

LATEST_LIMIT = 64 * KIB   # latest.json: one name and a step
CONFIG_LIMIT = 16 * MIB   # a checkpoint's config.json (the run's config, speaker statistics, optimizer settings)

_CHECKPOINT = re.compile(r"ckpt-\d{8}")
# A model name is one folder inside models/: letters, digits, space, . _ -; never a path.
_MODEL_ID = re.compile(r"\w[\w .-]{0,79}")


def model_kind(config: dict) -> str:
    """The kind of model a run's config describes."""
    kind = config.get("kind")
    if kind is not None and not isinstance(kind, str):
        return "unknown"  # an altered config: no kind of ours
    return _LEGACY_KINDS.get(kind, kind)


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not _MODEL_ID.fullmatch(model_id) or model_id.strip() != model_id:
        raise ProjectError(f"{model_id!r} cannot name a model: use letters, digits, spaces, '.', '_' or '-' "
                           "(up to 80, no folder separators).")
    return model_id


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, its links followed, is directly in ``folder`` (its links followed too)."""
    try:
        return _real_parent(path) == folder.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return False


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
        """The folder of model ``model_id`` of a project: a folder of ``<project>/models/``, never a
        path, nor a link leading elsewhere (ProjectError)."""
        path = models_dir(project_folder) / check_model_id(model_id)
        # The project resolved, ``models`` not: a models folder that is itself a link elsewhere is refused too.
        root = Path(project_folder).resolve() / MODELS
        if (path.is_symlink() or root.is_symlink()) and _real_parent(path) != root:
            raise ProjectError(f"The model folder {path} leads to {_target(path)} (through a link), outside the "
                               "project's models folder. AV Studio loads and trains only models kept inside the "
                               "project: copy the model's folder into models/ instead of linking it.", path=str(path))
        return cls(path)

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

    def check_own_files(self) -> None:
        """Refuse a run whose files that training writes (losses.jsonl, samples/) are links or not plain
        files and folders: a model from elsewhere could point them at any file, which a resumed run
        would append to (or a FIFO, which would block it)."""
        for p, folder in ((self.losses_file, False), (self.samples_dir, True)):
            if p.is_symlink() or (p.exists() and (p.is_dir() != folder or not (p.is_dir() or p.is_file()))):
                raise ProjectError(f"{p} is a link or not a plain {'folder' if folder else 'file'}: AV Studio writes "
                                   "there during training. Remove it and train again.", path=str(p))

    def losses(self, limit: int = 256 * MIB) -> list[dict]:
        """The rows of losses.jsonl (read bounded; a malformed row is skipped, as a half-written last one)."""
        try:
            self.check_own_files()
            text = read_limited(self.losses_file, "loss log", limit).decode("utf-8", "replace")
        except UserError:
            return []
        rows = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and type(row.get("step")) is int:
                rows.append(row)
        return rows

    def latest(self) -> Path | None:
        """The newest complete checkpoint named by latest.json, or None. A name that is not one of
        this run's checkpoint folders (a path, "..", a link elsewhere) counts as none."""
        try:
            return self.latest_checked()
        except UserError:
            return None

    def latest_checked(self) -> Path:
        """The newest complete checkpoint named by latest.json; a UserError saying why there is none."""
        if not self.latest_file.exists() and not self.latest_file.is_symlink():
            raise ProjectError(f"The model {self.model_id} has no complete checkpoint ({self.latest_file} is missing): "
                               "train it (again).", path=str(self.path))
        if self.latest_file.is_symlink() and not inside(self.latest_file, self.path):
            raise ProjectError(f"{self.latest_file} is a link to {_target(self.latest_file)}, outside its model's "
                               "folder: AV Studio reads only models kept inside the project.",
                               path=str(self.latest_file))
        doc = read_json(self.latest_file, "latest.json file", LATEST_LIMIT)
        name = doc.get("checkpoint") if isinstance(doc, dict) else None
        if not isinstance(name, str) or not _CHECKPOINT.fullmatch(name):
            raise ProjectError(f"{self.latest_file} names {excerpt(repr(name))}, not one of this model's checkpoints "
                               "(ckpt-NNNNNNNN): the file was altered.", path=str(self.latest_file))
        return self.checkpoint_named(name)

    def checkpoint_named(self, checkpoint: str | Path) -> Path:
        """The checkpoint folder ``checkpoint`` (its name, or its path) of this model: never a folder
        elsewhere, whatever links or ".." the name holds (ProjectError)."""
        given = Path(checkpoint)
        path = self.path / given.name
        if (not _CHECKPOINT.fullmatch(given.name) or (given.name != str(checkpoint) and not _resolves_to(given, path))
                or not inside(path, self.path)):
            raise ProjectError(f"{excerpt(str(checkpoint), 200)} is not a checkpoint of the model {self.model_id} "
                               f"(a folder ckpt-NNNNNNNN in {self.path}).", path=str(self.path))
        return check_checkpoint_files(path)

    def latest_config(self) -> dict | None:
        """The config of the newest checkpoint (None when there is none or it is unreadable)."""
        ckpt = self.latest()
        if ckpt is None:
            return None
        try:
            doc = read_json(ckpt / CONFIG, "model config", CONFIG_LIMIT)
        except UserError:
            return None
        return doc["config"] if isinstance(doc, dict) and isinstance(doc.get("config"), dict) else None


def check_checkpoint_files(path: Path) -> Path:
    """``path``, a checkpoint folder whose files are its own: a config.json or weights file that is a
    link out of it is refused (ProjectError), and so is a folder without a config."""
    for name in (CONFIG, WEIGHTS):
        if (path / name).is_symlink() and not inside(path / name, path):
            raise ProjectError(f"{path / name} is a link to {_target(path / name)}, outside its checkpoint: "
                               "AV Studio reads only checkpoints kept inside the project.", path=str(path / name))
    if not (path / CONFIG).is_file():
        raise ProjectError(f"The checkpoint {path} is incomplete (no {CONFIG}).", path=str(path))
    return path


def _resolves_to(path: Path, expected: Path) -> bool:
    try:
        return path.resolve() == expected.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return False


def _real_parent(path: Path) -> Path | None:
    try:
        return path.resolve().parent
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return None


def _target(link: Path) -> str:
    try:
        return str(link.resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return "a loop of links"


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


def noun(kind: str) -> str:
    """"a voice model", …: a kind in words."""
    return NOUNS.get(kind, f"a model of kind {kind!r}")


def listing(project_folder, kind: str) -> str:
    """Which models of ``kind`` the project has: what to give instead of a wrong one."""
    ids = model_ids(project_folder, kind)
    plural = noun(kind).split(" ", 1)[1] + "s"
    if not ids:
        return f"The project has no {plural[:-1]} yet: train one first."
    shown = ", ".join(ids[:12]) + (f" and {len(ids) - 12} more" if len(ids) > 12 else "")
    return f"The project's {plural}: {shown}."


def train_hint(project_folder, kind: str) -> str | None:
    """The action that trains a model of ``kind``, when the project has none (else no hint)."""
    return None if model_ids(project_folder, kind) else TRAIN_ACTIONS.get(kind)


def wrong_kind(project_folder, model_id: str, found: str, wanted: str, note: str = "") -> UserError:
    """The error for model ``model_id``, of kind ``found``, given where one of kind ``wanted`` is needed:
    both kinds named, and the project's models of the wanted kind."""
    return UserError(f"{model_id} is {noun(found)}, not {noun(wanted)}. {listing(project_folder, wanted)}"
                     + (f" {note}" if note else ""), hint=train_hint(project_folder, wanted))
