"""Model checkpoints: ``models/<id>/ckpt-<step>/`` holding config.json + weights.safetensors, and
``models/<id>/latest.json`` naming the newest complete one (written last, atomically). The layout
is core/models.py's RunFolder.

A save killed half-way or a full disk leaves ``latest.json`` pointing at the previous checkpoint
(and a ``.tmp-*`` folder, removed by the next save). Weights are only ever read with safetensors (no
pickle): a .pt/.pth file is refused, a tampered file fails its sha256, a checkpoint of another kind,
preset or format version is refused with a message, and so is a config whose values are out of their
range (ml/schema.py) or weights whose names and shapes do not fit the networks it describes — each
checked before anything is built. :func:`load_model` is the one way a project's model is loaded.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from avstudio.core import models
from avstudio.core.atomic import TEMP_PREFIX, atomic_write_json, fsync_dir, remove_temp_files
from avstudio.core.errors import UserError
from avstudio.core.files import check_regular_file, excerpt, read_json, user_os_error
from avstudio.core.models import CONFIG, VOICE, WEIGHTS, RunFolder, check_model_id, model_kind
from avstudio.ml import schema

FORMAT = "avstudio-model"
VERSION = 1
KEEP = 2
WEIGHTS_LIMIT = 64 << 30   # far beyond any model here; what is larger is not a checkpoint


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def flatten_state(prefix: str, state: dict, tensors: dict, meta: dict) -> None:
    """Split a (nested) state dict into tensors (for safetensors) and JSON-able rest."""
    for k, v in state.items():
        key = f"{prefix}/{k}"
        if isinstance(v, torch.Tensor):
            tensors[key] = v.detach().cpu().contiguous()
        elif isinstance(v, dict):
            flatten_state(key, v, tensors, meta)
        else:
            meta[key] = v


def unflatten_state(prefix: str, tensors: dict, meta: dict) -> dict:
    out: dict = {}
    for source in (tensors, meta):
        for key, v in source.items():
            if not key.startswith(prefix + "/"):
                continue
            parts = key[len(prefix) + 1:].split("/")
            d = out
            for p in parts[:-1]:
                d = d.setdefault(p, {})
            d[parts[-1]] = v
    return out


def optimizer_state(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors, meta = {}, {}
    flatten_state("state", {str(k): v for k, v in sd["state"].items()}, tensors, meta)
    meta["param_groups"] = sd["param_groups"]
    return tensors, meta


def load_optimizer_state(opt: torch.optim.Optimizer, tensors: dict, meta: dict,
                         where: str = "the checkpoint") -> None:
    try:
        state = unflatten_state("state", tensors, meta)
        opt.load_state_dict({"state": {int(k): v for k, v in state.items()}, "param_groups": meta["param_groups"]})
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError, AttributeError) as exc:
        raise UserError(f"The optimizer state in {where} does not fit the networks ({_first_line(exc)}). The "
                        "checkpoint was altered; resume another checkpoint or train again.", path=where) from exc


def save_checkpoint(model_dir: Path, step: int, config: dict, tensors: dict[str, torch.Tensor],
                    extra: dict | None = None) -> Path:
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_temp_files(model_dir)  # what a save killed half-way left (the weights of a checkpoint)
    run = RunFolder(model_dir)
    tmp = model_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
    final = run.checkpoint_dir(step)
    try:
        tmp.mkdir()
        weights = tmp / "weights.safetensors"
        _save_weights(tensors, weights)
        with open(weights, "rb+") as f:
            os.fsync(f.fileno())
        doc = {"format": FORMAT, "version": VERSION, "step": step, "config": config,
               "weights_sha256": _sha256(weights), **(extra or {})}
        atomic_write_json(tmp / CONFIG, doc)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_dir(model_dir)
        atomic_write_json(run.latest_file, {"checkpoint": final.name, "step": step})
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise user_os_error(exc, "save the checkpoint in", model_dir, after=kept_checkpoint(run)) from exc
    for old in run.checkpoints()[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def kept_checkpoint(run: RunFolder) -> str:
    """What is left of a run whose write failed, and what to do (the end of a disk-full message)."""
    latest = run.latest()
    if latest is None:
        return "No checkpoint of this model was saved yet: make room and train it again."
    return f"The previous checkpoint is still good ({latest.name}): make room and resume the model from it."


def _save_weights(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """safetensors' writer, its errors as the OSError they are (it says "os error 28", not ENOSPC)."""
    try:
        save_file(tensors, str(path))
    except SafetensorError as exc:
        found = re.search(r"os error (\d+)", str(exc))
        code = int(found.group(1)) if found else errno.EIO
        raise OSError(code, os.strerror(code), str(path)) from exc


def latest_checkpoint(model_dir: Path) -> Path | None:
    return RunFolder(Path(model_dir)).latest()


# Config keys renamed since checkpoints were first written: each key means one thing in every kind.
def migrate_config(cfg: dict) -> dict:
    """A config as today's code reads it: ``kind`` named (old motion configs had none, old voice ones
    said "cyclegan-vc2"), and the old ``decay_from`` — a share of the steps for motion models, a step
    for voice models — split into ``lr_decay_share`` and ``lr_decay_start``."""
    cfg = dict(cfg)
    cfg["kind"] = model_kind(cfg)
    if "decay_from" in cfg:
        cfg["lr_decay_start" if cfg["kind"] == VOICE else "lr_decay_share"] = cfg.pop("decay_from")
    return cfg


def load_checkpoint(path: str | os.PathLike, *, preset: str | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config document, tensors) of a checkpoint folder (or a model folder: its latest checkpoint),
    every value of its config checked against its kind's ranges; ``preset``: refuse another. A
    project's models are loaded with :func:`load_model`, which also checks their kind and that the
    weights fit the networks."""
    doc = read_document(_checkpoint_folder(Path(path)))
    _check_preset(doc, preset, doc["path"])
    return doc, load_weights(doc)


def _check_preset(doc: dict, preset: str | None, name: str) -> None:
    if preset is not None and doc["config"].get("preset") != preset:
        raise UserError(f"{name} is a '{doc['config'].get('preset')}' checkpoint, not '{preset}': it cannot resume "
                        "this run. Start a new model or choose the matching preset.", path=doc["path"])


def _checkpoint_folder(p: Path) -> Path:
    if p.is_file():
        if p.suffix in (".pt", ".pth", ".ckpt", ".pkl", ".bin"):
            raise UserError(f"{p} is a PyTorch pickle file. AV Studio never unpickles files (they can run code); "
                            "it reads its own checkpoints (config.json + weights.safetensors).", path=str(p))
        p = p.parent
    if (p / CONFIG).exists() or (p / CONFIG).is_symlink():
        return models.check_checkpoint_files(p)
    run = RunFolder(p)
    if not run.latest_file.exists() and not run.latest_file.is_symlink():
        raise UserError(f"{p} holds no AV Studio checkpoint (config.json + weights.safetensors).", path=str(p))
    return run.latest_checked()


def read_document(p: Path) -> dict:
    """The checked config document of checkpoint folder ``p`` (its weights not read yet)."""
    where = p / CONFIG
    doc = read_json(where, "model config", models.CONFIG_LIMIT)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UserError(f"{p} is not an AV Studio model checkpoint.", path=str(p))
    if doc.get("version") != VERSION:
        raise UserError(f"{p} was written by another AV Studio version (checkpoint format "
                        f"{excerpt(repr(doc.get('version')))}, this version reads {VERSION}). Train again, or "
                        "open it with the version that made it.", path=str(p))
    if not isinstance(doc.get("config"), dict):
        raise UserError(f"{p} has no training config. The checkpoint was altered.", path=str(p))
    doc["config"] = migrate_config(doc["config"])
    schema.check_document(doc, str(where))
    doc["path"] = str(p)
    return doc


def load_weights(doc: dict) -> dict[str, torch.Tensor]:
    """The tensors of a checked checkpoint document, once they match its recorded sha256."""
    weights = Path(doc["path"]) / WEIGHTS
    if not weights.exists():
        raise UserError(f"{weights} is missing.", path=str(weights))
    check_regular_file(weights, "weights file", WEIGHTS_LIMIT)
    try:
        digest = _sha256(weights)
    except OSError as exc:
        raise user_os_error(exc, "read", weights) from exc
    if digest != doc.get("weights_sha256"):
        raise UserError(f"{weights} does not match its config (modified or damaged). Use the previous checkpoint "
                        "or train again.", path=str(weights))
    try:
        return load_file(str(weights))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types on bad headers
        raise UserError(f"{weights} is not a valid safetensors file ({_first_line(exc)}).", path=str(weights)) from exc


def load_model(project_path, model_id: str, kind: str, nets: Callable[[dict], dict], checkpoint: str | None = None,
               preset: str | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """The one way a project's model is loaded: (checked document, tensors) of model ``model_id`` —
    its newest checkpoint, or ``checkpoint`` (a name or path of one of its own) — which must be a
    model of ``kind``, its weights fitting the networks its config describes (``nets(document)``:
    {prefix: how to build the network}, the kind's ``checkpoint_nets``). Ids that are paths,
    links leading out of the project's models folder and a latest.json naming anything but one of
    the model's checkpoints are refused (core/models.py)."""
    doc = read_model(project_path, model_id, kind, checkpoint, preset)
    tensors = load_weights(doc)
    check_fits(doc["path"], tensors, nets(doc))
    return doc, tensors


def read_model(project_path, model_id: str, kind: str, checkpoint: str | None = None,
               preset: str | None = None) -> dict:
    """The checked document of a project's model, as :func:`load_model` finds it, without its weights."""
    run = RunFolder.of(project_path, model_id)
    if not run.path.is_dir():
        raise UserError(f"The project has no trained model named {model_id}. {models.listing(project_path, kind)}",
                        path=str(run.path), hint=models.train_hint(project_path, kind))
    folder = run.checkpoint_named(checkpoint) if checkpoint else run.latest_checked()
    doc = read_document(folder)
    found = models.model_kind(doc["config"])
    if found != kind:
        raise models.wrong_kind(project_path, model_id, found, kind)
    _check_preset(doc, preset, model_id)
    return doc


def resume_run(project_path, model_id: str | None, kind: str, nets: Callable[[dict], dict], preset: str,
               steps: int | None) -> tuple[dict, dict, dict]:
    """(checkpoint document, tensors, config) to continue a run; ``steps`` (if given) is the new total."""
    if not model_id:
        raise UserError("Say which model to resume (--model ID).")
    doc, tensors = load_model(project_path, model_id, kind, nets, preset=preset)
    if not isinstance(doc.get("optim"), dict):
        raise UserError(f"{doc['path']} holds no optimizer state, so it cannot be resumed exactly. Start a new model.",
                        path=doc["path"])
    cfg = dict(doc["config"])
    if steps is not None:
        cfg["steps"] = schema.check_steps(steps)
    return doc, tensors, cfg


def check_new_model(models_dir: Path, model_id: str) -> None:
    if latest_checkpoint(Path(models_dir) / check_model_id(model_id)):
        raise UserError(f"A model named {model_id} exists already: resume it or choose another name.")


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    state = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserError(f"The weights in {where} do not fit the network ({_first_line(exc)}). The checkpoint "
                        "is from another configuration or was altered.", path=where) from exc


def check_fits(where: str, tensors: dict[str, torch.Tensor], nets: dict[str, Callable[[], torch.nn.Module]]) -> None:
    """Refuse weights whose names or shapes do not fit the networks a config describes, before any
    of them is allocated: each is built on the meta device (no memory) and compared, by name and shape,
    with the tensors under its prefix."""
    for prefix, build in nets.items():
        try:
            with torch.device("meta"):
                expected = {k: tuple(v.shape) for k, v in build().state_dict().items()}
        except (ValueError, RuntimeError, TypeError) as exc:
            raise UserError(f"The config in {where} describes no network AV Studio can build ({_first_line(exc)}).",
                            path=where) from exc
        given = {k[len(prefix) + 1:]: tuple(v.shape) for k, v in tensors.items() if k.startswith(prefix + ".")}
        if given != expected:
            missing = sorted(set(expected) - set(given))
            extra = sorted(set(given) - set(expected))
            wrong = sorted(k for k in set(given) & set(expected) if given[k] != expected[k])
            what = (f"missing {prefix}.{missing[0]}" if missing else f"unexpected {prefix}.{extra[0]}" if extra
                    else f"{prefix}.{wrong[0]} is {list(given[wrong[0]])}, the network's is {list(expected[wrong[0]])}")
            raise UserError(f"The weights in {where} do not fit the network its config describes ({what}). The "
                            "checkpoint is from another configuration or was altered.", path=where)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return excerpt(text[0] if text else type(exc).__name__, 200)
