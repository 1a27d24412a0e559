"""Training the speech → mouth model on the target's own speech and face, on the shared loop
(ml/runs.py: exact resume, Stop / Cancel, checkpoints, losses.jsonl, samples), and using it: the
mouth a clip's speech makes on the target, as driven-face offsets."""

from __future__ import annotations

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
from avstudio.ml.lipsync.mouth import MouthBasis, MouthData, MouthNet, batch, losses
from avstudio.ml.lipsync.mouth_data import clip_mouth, speech_inputs, split
from avstudio.ml.lipsync.presets import mouth_config


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0 or len(x) < 3:
        return x
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x, sigma, axis=0, mode="nearest")


def build(cfg: dict, n_visemes: int) -> MouthNet:
    return MouthNet(visemes=n_visemes, hidden=int(cfg["hidden"]), k=int(cfg["k"]), kernel=int(cfg["kernel"]))


def checkpoint_nets(doc: dict) -> dict:
    """The network a speech → mouth checkpoint holds (ml/checkpoint.check_fits)."""
    return {"net": lambda: build(doc["config"], int(doc.get("visemes", 15)))}


def training_data(project, cfg: dict) -> tuple[MouthData, MouthBasis, np.ndarray]:
    """The target's frames before its held-out block, as sequences; the PCA basis of its mouth."""
    mouth = clip_mouth(project, roles.TARGET)
    n = len(mouth.offsets)
    train, held = split(n, mouth.fps)
    inputs = speech_inputs(project, roles.TARGET, mouth.fps, n)
    off = _smooth(mouth.offsets, float(cfg["label_smooth"])).astype(np.float32)   # the tracker's jitter is not speech
    ok = mouth.usable[train]
    if ok.sum() < 2 * int(cfg["length"]):
        raise UserError("Too few target frames with a face to learn the mouth from.")
    basis = MouthBasis.fit(off[train][ok], int(cfg["k"]))
    rows = np.arange(max(1, len(train) - int(cfg["length"])))
    return (MouthData(inputs.mel, inputs.vis, basis.encode(off), off, mouth.usable, inputs.speaking, rows), basis,
            held)


class MouthSteps:
    """The shared loop's view of a speech → mouth run."""

    def __init__(self, run: runs.Run, data: MouthData, basis: MouthBasis, device):
        self.run, self.data, self.basis, self.device = run, data, basis, device
        cfg = run.cfg
        torch.manual_seed(run.seed)
        self.net = build(cfg, data.vis.shape[1]).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg["lr"])
        if run.resumed:
            runs.restore_one_net(run, self.net, self.opt)
        self.mean = torch.from_numpy(basis.mean).to(device)
        self.comp = torch.from_numpy(basis.components).to(device)
        self.total, self.notes = int(cfg["steps"]), []
        self.oom_message = "Out of GPU memory training the speech → mouth model: use the CPU."
        self.last = None

    def step(self, step: int) -> dict:
        cfg = self.run.cfg
        runs.set_lr(self.opt, cfg, step, cfg["lr"])
        mel, vis, coef, usable, speaking = (torch.from_numpy(a).to(self.device) for a in batch(
            self.data, self.run.seed, step, int(cfg["batch"]), int(cfg["length"]), float(cfg["phone_drop"])))
        self.net.train()
        out = self.net(mel, vis)
        loss = losses(out, coef, usable, speaking, self.mean, self.comp, cfg)
        self.opt.zero_grad(set_to_none=True)
        loss["total"].backward()
        self.opt.step()
        self.last = (out.detach()[0].cpu().numpy(), coef[0].cpu().numpy())
        return {"g": float(loss["total"].detach()), "pos": float(loss["pos"].detach()),
                "vel": float(loss["vel"].detach()), "silence": float(loss["silence"].detach()), "d": 0.0}

    def sample(self, done: int, folder) -> tuple[dict, np.ndarray]:
        """The first coefficient (mostly the opening) of a training sequence: learned (orange) over real (grey)."""
        import cv2

        pred, true = self.last
        img = np.full((120, 360, 3), 24, np.uint8)
        lo, hi = min(pred[:, 0].min(), true[:, 0].min()), max(pred[:, 0].max(), true[:, 0].max())
        xs = np.linspace(10, 350, len(pred)).astype(np.int32)
        for curve, colour in ((true[:, 0], (160, 160, 160)), (pred[:, 0], (255, 170, 60))):
            ys = (110 - 100 * (curve - lo) / max(hi - lo, 1e-6)).astype(np.int32)
            cv2.polylines(img, [np.stack([xs, ys], 1)], False, colour, 2)
        return runs.write_picture_sample(folder, done, img), img

    def describe(self, done: int, losses_: dict, rate: float) -> str:
        return (f"Step {done}/{self.total}  position {losses_['pos']:.4f}  velocity {losses_['vel']:.4f}  "
                f"{rate:.1f} it/s")

    def checkpoint(self) -> tuple[dict, dict]:
        tensors, m = runs.one_net_state(self.net, self.opt)
        tensors.update({"basis/mean": torch.from_numpy(self.basis.mean),
                        "basis/components": torch.from_numpy(self.basis.components)})
        return tensors, {"optim": m, "visemes": int(self.data.vis.shape[1])}


def train_mouth(project_path: str, preset: str = "mouth-cpu", steps: int | None = None, model_id: str | None = None,
                resume: bool = False, device: str = "auto", seed: int = 0, handle=None) -> Iterator[Progress]:
    """Job: train (or resume) the speech → mouth model on the target's own speech and face."""
    project = load_project(project_path)
    dev = resolve_device(device)
    yield Progress(0, None, "Reading the target's speech and mouth")
    run = runs.open_run(project_path, model_id, resume, preset, steps, seed, lambda: mouth_config(preset, steps=steps),
                        models.MOUTH, checkpoint_nets)
    data, basis, _ = training_data(project, run.cfg)
    return (yield from runs.train_loop(run, MouthSteps(run, data, basis, dev), handle))


class MouthModel:
    """A trained speech → mouth model, ready to predict."""

    def __init__(self, cfg: dict, tensors: dict, where: str, visemes: int, doc: dict | None = None):
        self.cfg, self.doc = cfg, doc or {}
        mean, comp = tensors.get("basis/mean"), tensors.get("basis/components")
        if mean is None or comp is None or mean.dim() != 1 or tuple(comp.shape) != (int(cfg["k"]), mean.shape[0]) \
                or mean.shape[0] % 2 or not (mean.is_floating_point() and comp.is_floating_point()):
            raise UserError(f"The speech → mouth model in {where} is damaged (its mouth basis is missing or has the "
                            "wrong shape).", path=where)
        self.net = build(cfg, visemes)
        ck.load_module("net", self.net, tensors, where)
        self.net.eval()
        self.mean, self.comp = mean.float(), comp.float()

    @classmethod
    def load(cls, project_path: str, model_id: str, checkpoint: str | None = None) -> MouthModel:
        doc, tensors = ck.load_model(project_path, model_id, models.MOUTH, checkpoint_nets, checkpoint)
        return cls(doc["config"], tensors, doc["path"], int(doc.get("visemes", 15)), doc)

    @torch.no_grad()
    def offsets(self, inputs) -> np.ndarray:
        """(n, P, 2) mouth offsets from the target's neutral face for a clip's speech inputs: smoothed
        like a mouth moves, exactly neutral where no one speaks."""
        coef = self.net(torch.from_numpy(inputs.mel)[None], torch.from_numpy(inputs.vis)[None])[0]
        off = (self.mean + coef @ self.comp).numpy().reshape(len(inputs.mel), -1, 2)
        off = _smooth(off, float(self.cfg["output_smooth"]))
        off[inputs.still] = 0.0
        return off
