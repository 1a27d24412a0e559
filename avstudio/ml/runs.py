"""One training loop for every kind of model (SLEAP's Trainer, here a loop with one adapter per kind).

What every run shares lives here, once: starting a model or resuming its newest checkpoint exactly
(dropout is seeded per step, the optimizer state is saved; each kind draws the batch of step k from
the seed and k alone), Stop (saves a checkpoint and returns), Cancel (the runner kills the process; the last
checkpoint stays), a checkpoint every N steps (a short run still gets four, each scored by the editor
while training goes on), losses.jsonl, samples, progress, the learning-rate schedule, and the
messages for a full GPU and a full disk. Where a run's files go is core/models.py's RunFolder.

A kind supplies an adapter (a :class:`Steps`): its networks and one optimisation step, its sample,
what its checkpoint holds. Motion, voice and lip sync use it.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import torch

from avstudio.core import models
from avstudio.core.atomic import atomic_write_bytes, remove_temp_files
from avstudio.core.errors import UserError
from avstudio.core.files import user_os_error
from avstudio.core.progress import Progress
from avstudio.ml import checkpoint as ck
from avstudio.ml import schema


def lr_at(cfg: dict, step: int, base: float) -> float:
    """Constant, then linear decay to 0 at the last step. Decay starts at step ``lr_decay_start``
    (voice models: a step count), or after the share ``lr_decay_share`` of the steps (motion models,
    as pix2pix: half)."""
    start = cfg["lr_decay_start"] if "lr_decay_start" in cfg else cfg["lr_decay_share"] * cfg["steps"]
    if step < start:
        return base
    return base * max(0.0, 1.0 - (step - start) / max(1.0, cfg["steps"] - start))


def set_lr(opt: torch.optim.Optimizer, cfg: dict, step: int, base: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr_at(cfg, step, base)


@contextlib.contextmanager
def gpu_memory(message: str):
    """Turn running out of GPU memory into a message the user can act on (the last checkpoint stays)."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        raise UserError(f"{message} The last checkpoint is kept.", details=str(exc)) from exc


@dataclass
class Run:
    """A run to start or continue: its folder, its config, where it starts, what it resumes from."""

    folder: models.RunFolder
    cfg: dict
    seed: int
    start: int = 0
    doc: dict | None = None       # the checkpoint resumed (None: a new model)
    tensors: dict | None = None

    @property
    def model_id(self) -> str:
        return self.folder.model_id

    @property
    def resumed(self) -> bool:
        return self.doc is not None


def open_run(project_path: str, model_id: str | None, resume: bool, preset: str, steps: int | None, seed: int,
             new_config: Callable[[], dict], kind: str, nets: Callable[[dict], dict]) -> Run:
    """A new model of ``kind`` (``new_config()``; a new time-stamped name unless given), or the newest
    checkpoint of ``model_id`` to resume (``steps``, when given, is the new total; ``nets``: the kind's
    ``checkpoint_nets``, what the checkpoint's weights must fit). Either config is checked against its
    kind's ranges (ml/schema.py) before anything is built from it."""
    root = models.models_dir(project_path)
    schema.check_seed(seed)
    if steps is not None:
        schema.check_steps(steps)
    if resume:
        doc, tensors, cfg = ck.resume_run(project_path, model_id, kind, nets, preset, steps)
        if doc["step"] > cfg["steps"]:
            raise UserError(f"The model {model_id} is at step {doc['step']} already: to go on, give a total number of "
                            f"steps above it (not {cfg['steps']}).")
        return Run(models.RunFolder.of(project_path, model_id), cfg, int(doc.get("seed", seed)), int(doc["step"]),
                   doc, tensors)
    cfg = new_config()
    schema.check_config(cfg, f"The settings of the new {preset} model")
    folder = models.RunFolder.of(project_path, model_id or models.new_model_id())
    ck.check_new_model(root, folder.model_id)
    return Run(folder, cfg, seed)


class Steps(Protocol):
    """What a kind of model gives the loop."""

    total: int            # the last step (motion: main steps + face steps)
    notes: list[str]      # said once at the start (weak data, …)
    oom_message: str

    def step(self, step: int) -> dict[str, float]:
        """One optimisation step on the batch of ``step``; its losses (with "g" and "d"). The batch must
        be a function of the run's seed and ``step`` alone (never of an RNG carried over from earlier
        steps): that is what makes a resumed run continue exactly."""

    def sample(self, done: int, folder: models.RunFolder) -> tuple[dict, object]:
        """Write a sample beside the checkpoints: ({"sample" | "audio_sample": path}, an in-memory preview)."""

    def describe(self, done: int, losses: dict, rate: float) -> str:
        """The progress line of a step."""

    def checkpoint(self) -> tuple[dict, dict]:
        """(tensors, JSON extras) a checkpoint holds beside the config."""


def one_net_state(net: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """(tensors, optimizer meta) of a run with one network ("net") and one optimizer ("opt")."""
    tensors = ck.module_tensors("net", net)
    t, meta = ck.optimizer_state(opt)
    tensors.update({f"opt/{k}": v for k, v in t.items()})
    return tensors, meta


def restore_one_net(run: Run, net: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    """Put a resumed run's network and optimizer back (written by :func:`one_net_state`)."""
    ck.load_module("net", net, run.tensors, run.doc["path"])
    sub = {k[4:]: v for k, v in run.tensors.items() if k.startswith("opt/")}
    ck.load_optimizer_state(opt, sub, run.doc["optim"], run.doc["path"])


def write_picture_sample(folder: models.RunFolder, done: int, rgb) -> dict:
    """A step's picture sample on disk (for a monitor in another process); returns its log entry."""
    import cv2

    path = folder.sample_file(done, ".png")
    ok, png = cv2.imencode(".png", rgb[..., ::-1])
    if not ok:
        raise UserError(f"Could not encode the sample of step {done} as a PNG.")
    with disk_writes(path, folder):
        path.parent.mkdir(exist_ok=True)
        # Whole or not at all (a monitor in another process reads it); an OSError says why (cv2.imwrite only
        # returns False).
        atomic_write_bytes(path, png.tobytes())
    return {"sample": str(path)}


@contextlib.contextmanager
def disk_writes(path, folder: models.RunFolder):
    """A training file's write failing (a full disk, a read-only folder) as a message: the previous
    checkpoint stays, and the run can resume from it."""
    try:
        yield
    except OSError as exc:
        raise user_os_error(exc, "write", path, after="Training stopped. " + ck.kept_checkpoint(folder)) from exc


def _save(run: Run, steps: Steps, done: int):
    tensors, extra = steps.checkpoint()
    return ck.save_checkpoint(run.folder.path, done, run.cfg, tensors, {**extra, "seed": run.seed,
                                                                         "model_id": run.model_id})


def train_loop(run: Run, steps: Steps, handle=None, rank: int = 0) -> Iterator[Progress]:
    """Job: the steps of a run from ``run.start`` to ``steps.total``. Only rank 0 (of several GPUs)
    writes files and reports. Returns {"model_id", "checkpoint", "step", "stopped", "warnings"}."""
    cfg, total, folder = run.cfg, steps.total, run.folder
    if rank == 0:
        with disk_writes(folder.path, folder):
            folder.path.mkdir(parents=True, exist_ok=True)
            folder.check_own_files()
            remove_temp_files(folder.path)  # a checkpoint half-written when a run was killed
            if not run.resumed and folder.losses_file.exists():
                folder.losses_file.unlink()
    result = {"model_id": run.model_id, "checkpoint": None, "step": total, "stopped": False, "warnings": steps.notes}
    for note in steps.notes:
        yield Progress(run.start, total, note)
    # A short run still gets a few checkpoints (and held-out scores along the way).
    every = max(1, min(int(cfg["checkpoint_every"]), total // 4 or 1))
    t0 = time.monotonic()
    with gpu_memory(steps.oom_message):
        for step in range(run.start, total):
            if handle is not None and handle.stop_requested:
                path = _save(run, steps, step) if rank == 0 else None
                yield Progress(step, total, f"Stopped at step {step}: checkpoint saved", data={"step": step})
                return {**result, "checkpoint": str(path), "step": step, "stopped": True}
            torch.manual_seed(run.seed * 1_000_003 + step)  # dropout: the same at step k on resume
            losses = steps.step(step)
            done = step + 1
            if rank != 0:
                continue
            rate = (done - run.start) / max(1e-9, time.monotonic() - t0)
            with disk_writes(folder.losses_file, folder), open(folder.losses_file, "a") as f:
                f.write(json.dumps({"step": done, **losses}) + "\n")
            info, preview = {"step": done, "losses": losses, "it_s": rate}, None
            if done % cfg["sample_every"] == 0 or done == total:
                with disk_writes(folder.samples_dir, folder):
                    sample, preview = steps.sample(done, folder)
                info.update(sample)
            yield Progress(done, total, steps.describe(done, losses, rate), preview=preview, data=info)
            if done % every == 0 and done < total:
                path = _save(run, steps, done)
                # The editor scores each checkpoint on the held-out data while training goes on.
                yield Progress(done, total, f"Checkpoint saved at step {done}", data={"step": done,
                                                                                        "checkpoint": str(path)})
        path = _save(run, steps, total) if rank == 0 else None
    return {**result, "checkpoint": str(path) if path else None}
