"""Model checkpoints: ``models/<id>/ckpt-<step>/`` holding config.json + weights.safetensors, and
``models/<id>/latest.json`` naming the newest complete one (written last, atomically). The layout
is core/models.py's RunFolder.

A save killed half-way or a full disk leaves ``latest.json`` pointing at the previous checkpoint.
Weights are only ever read with safetensors (no pickle): a .pt/.pth file is refused, a tampered
file fails its sha256, a checkpoint of another preset or format version is refused with a message.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from avstudio.core.atomic import TEMP_PREFIX, atomic_write_json, fsync_dir
from avstudio.core.errors import UserError
from avstudio.core.models import CONFIG, VOICE, WEIGHTS, RunFolder, check_model_id, model_kind

FORMAT = "avstudio-model"
VERSION = 1
KEEP = 2


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


def load_optimizer_state(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state = unflatten_state("state", tensors, meta)
    opt.load_state_dict({"state": {int(k): v for k, v in state.items()}, "param_groups": meta["param_groups"]})


def save_checkpoint(model_dir: Path, step: int, config: dict, tensors: dict[str, torch.Tensor],
                    extra: dict | None = None) -> Path:
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    run = RunFolder(model_dir)
    tmp = model_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
    final = run.checkpoint_dir(step)
    try:
        tmp.mkdir()
        weights = tmp / "weights.safetensors"
        save_file(tensors, str(weights))
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
        raise UserError(f"Could not save the checkpoint in {model_dir}: {exc.strerror or exc}. The previous "
                        "checkpoint is still good; free disk space and resume.", path=str(model_dir)) from exc
    for old in run.checkpoints()[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


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
    """(config document, tensors) of a checkpoint folder (or a model folder: its latest checkpoint)."""
    p = Path(path)
    if p.is_file():
        if p.suffix in (".pt", ".pth", ".ckpt", ".pkl", ".bin"):
            raise UserError(f"{p} is a PyTorch pickle file. AV Studio never unpickles files (they can run code); "
                            "it reads its own checkpoints (config.json + weights.safetensors).", path=str(p))
        p = p.parent
    if not (p / CONFIG).is_file():
        latest = latest_checkpoint(p)
        if latest is None:
            raise UserError(f"{p} holds no AV Studio checkpoint (config.json + weights.safetensors).", path=str(p))
        p = latest
    try:
        doc = json.loads((p / CONFIG).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{p / CONFIG} is damaged ({exc}).", path=str(p)) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UserError(f"{p} is not an AV Studio model checkpoint.", path=str(p))
    if doc.get("version") != VERSION:
        raise UserError(f"{p} was written by another AV Studio version (checkpoint format {doc.get('version')}, "
                        f"this version reads {VERSION}). Train again, or open it with the version that made it.",
                        path=str(p))
    if not isinstance(doc.get("config"), dict):
        raise UserError(f"{p} has no training config. The checkpoint was altered.", path=str(p))
    doc["config"] = migrate_config(doc["config"])
    if preset is not None and doc["config"].get("preset") != preset:
        raise UserError(f"{p} is a '{doc.get('config', {}).get('preset')}' checkpoint, not '{preset}': it cannot "
                        "resume this run. Start a new model or choose the matching preset.", path=str(p))
    weights = p / WEIGHTS
    if not weights.is_file():
        raise UserError(f"{weights} is missing.", path=str(weights))
    if _sha256(weights) != doc.get("weights_sha256"):
        raise UserError(f"{weights} does not match its config (modified or damaged). Use the previous checkpoint "
                        "or train again.", path=str(weights))
    try:
        tensors = load_file(str(weights))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types on bad headers
        raise UserError(f"{weights} is not a valid safetensors file ({exc}).", path=str(weights)) from exc
    doc["path"] = str(p)
    return doc, tensors


def resume_run(models_dir: Path, model_id: str | None, preset: str, steps: int | None) -> tuple[dict, dict, dict]:
    """(checkpoint document, tensors, config) to continue a run; ``steps`` (if given) is the new total."""
    if not model_id:
        raise UserError("Say which model to resume (--model ID).")
    doc, tensors = load_checkpoint(RunFolder(Path(models_dir) / check_model_id(model_id)).path, preset=preset)
    cfg = dict(doc["config"])
    if steps:
        cfg["steps"] = int(steps)
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
        raise UserError(f"The weights in {where} do not fit the network ({str(exc).splitlines()[0]}). The checkpoint "
                        "is from another configuration or was altered.", path=where) from exc
