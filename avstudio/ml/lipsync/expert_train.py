"""Training the person-specific lip-sync expert on the target's own speech and face (the shared loop:
exact resume, Stop / Cancel, checkpoints, samples), reading it back, and scoring it: its accuracy on
held-out pairs, and its offset and confidence on the held-out footage (the ceiling) and on the same
footage with the sound shifted (the floor)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from avstudio.core import models, roles
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.store import load_project
from avstudio.ml import checkpoint as ck
from avstudio.ml import runs
from avstudio.ml.device import resolve_device
from avstudio.ml.lipsync import expert as ex
from avstudio.ml.lipsync.mouth_data import clip_mouth, speech_inputs, split
from avstudio.ml.lipsync.presets import expert_config

FLOOR_SHIFT = 10    # frames the sound is moved for the floor reading


def _data(project, cfg: dict, clip: str = roles.TARGET):
    from scipy.ndimage import gaussian_filter1d

    mouth = clip_mouth(project, clip)
    inputs = speech_inputs(project, clip, mouth.fps, len(mouth.offsets))
    off = gaussian_filter1d(mouth.offsets, float(cfg["label_smooth"]), axis=0, mode="nearest").astype(np.float32)
    train, held = split(len(off), mouth.fps) if clip == roles.TARGET else (np.arange(len(off)), np.arange(len(off)))
    usable = mouth.usable & inputs.speaking          # only speech teaches sync
    who = roles.label(clip)
    if usable[train].sum() < 4 * ex.MAX_SHIFT:
        raise UserError(f"The {who} speaks on camera in too few frames ({int(usable[train].sum())}) to learn or read "
                        "lip sync from: the expert needs a few seconds of the person speaking with the face in view.")
    if not usable[held].any():
        raise UserError(f"No one speaks with the face in view in the {who}'s held-out frames {held[0] + 1}–"
                        f"{held[-1] + 1}: the expert cannot be scored there (try --against source).")
    return inputs.mel, off, usable, train, held


class ExpertSteps:
    def __init__(self, run: runs.Run, mel, off, usable, train, device):
        self.run, self.mel, self.usable, self.rows, self.device = run, mel, usable, train, device
        self.win = ex.windows(off)
        torch.manual_seed(run.seed)
        self.net = ex.SyncExpert(off.shape[1]).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=run.cfg["lr"])
        if run.resumed:
            runs.restore_one_net(run, self.net, self.opt)
        self.total, self.notes = int(run.cfg["steps"]), []
        self.oom_message = "Out of GPU memory training the lip-sync expert: use the CPU."
        self.accuracy = float("nan")

    def step(self, step: int) -> dict:
        cfg = self.run.cfg
        runs.set_lr(self.opt, cfg, step, cfg["lr"])
        mel, win, label = (torch.from_numpy(a).to(self.device) for a in ex.pairs(
            self.mel, self.win, self.usable, self.rows, self.run.seed, step, int(cfg["batch"])))
        self.net.train()
        cos = self.net(mel, win)
        loss = ex.loss(cos, label)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.accuracy = float(((cos.detach() > 0).float() == label).float().mean())
        return {"g": float(loss.detach()), "bce": float(loss.detach()), "accuracy": self.accuracy, "d": 0.0}

    def sample(self, done: int, folder) -> tuple[dict, np.ndarray]:
        img = np.full((40, 200, 3), 24, np.uint8)
        img[8:32, 10:10 + int(180 * max(0.0, self.accuracy))] = (76, 158, 235)
        return runs.write_picture_sample(folder, done, img), img

    def describe(self, done: int, losses: dict, rate: float) -> str:
        return f"Step {done}/{self.total}  BCE {losses['bce']:.3f}  pairs right {losses['accuracy']:.0%}  {rate:.1f} it/s"

    def checkpoint(self) -> tuple[dict, dict]:
        tensors, m = runs.one_net_state(self.net, self.opt)
        return tensors, {"optim": m, "points": int(self.win.shape[2])}


def train_expert(project_path: str, preset: str = "expert-cpu", steps: int | None = None, model_id: str | None = None,
                 resume: bool = False, device: str = "auto", seed: int = 0, handle=None) -> Iterator[Progress]:
    """Job: train (or resume) the target's lip-sync expert."""
    project = load_project(project_path)
    dev = resolve_device(device)
    yield Progress(0, None, "Reading the target's speech and mouth")
    run = runs.open_run(project_path, model_id, resume, preset, steps, seed, lambda: expert_config(preset, steps=steps),
                        models.EXPERT, ex.checkpoint_nets)
    mel, off, usable, train, _ = _data(project, run.cfg)
    return (yield from runs.train_loop(run, ExpertSteps(run, mel, off, usable, train, dev), handle))


def load_expert(project_path: str, model_id: str, checkpoint: str | None = None) -> tuple[ex.SyncExpert, dict]:
    doc, tensors = ck.load_model(project_path, model_id, models.EXPERT, ex.checkpoint_nets, checkpoint)
    net = ex.SyncExpert(int(doc.get("points", 29)))
    ck.load_module("net", net, tensors, doc["path"])
    net.eval()
    return net, doc


def read(net, mel, offsets, usable, rows, shift: int = 0) -> dict:
    """The expert's offset and confidence over ``rows``, with the sound moved ``shift`` frames later
    (frames whose sound would come from outside the clip are left out)."""
    rows = np.asarray(rows)
    src = rows - shift
    ok = usable[rows] & (src >= 0) & (src < len(mel))
    dist = ex.sync_curve(net, mel[np.clip(src, 0, len(mel) - 1)], offsets[rows], ok)
    off, conf = ex.offset_and_confidence(dist)
    return {"offset": off, "confidence": conf}


def evaluate_expert(project_path: str, model_id: str, device: str = "cpu", checkpoint: str | None = None,
                    against: str | None = None) -> Iterator[Progress]:
    """Job: the expert on the target's held-out block (or the whole of ``against``: another recording
    of the same person): pairs told apart, the offset and confidence it reads on the footage as filmed
    (the ceiling: offset 0) and with the sound FLOOR_SHIFT frames late (it should read that shift)."""
    from avstudio.core.atomic import atomic_write_json

    project = load_project(project_path)
    yield Progress(0, None, "Loading the expert")
    net, doc = load_expert(project_path, model_id, checkpoint)
    mel, off, usable, _, rows = _data(project, doc["config"], against or roles.TARGET)
    if against:
        rows = np.arange(len(off))
    win = ex.windows(off)
    right = []
    with torch.no_grad():
        for k in range(8):
            m, w, label = ex.pairs(mel, win, usable, rows, 0, k, 64)
            right.append(float(((net(torch.from_numpy(m), torch.from_numpy(w)) > 0).float().numpy() == label).mean()))
    metrics = {"step": int(doc["step"]), "frames": [int(rows[0]), int(rows[-1])], "clip": against or roles.TARGET,
               "pairs_right": float(np.mean(right)), "real": read(net, mel, off, usable, rows),
               "shifted": read(net, mel, off, usable, rows, FLOOR_SHIFT), "shift": FLOOR_SHIFT}
    if not against:
        atomic_write_json(Path(doc["path"]) / "metrics.json", metrics)
    return metrics
