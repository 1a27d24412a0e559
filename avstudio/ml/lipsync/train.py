"""Training a per-target face renderer as a job, on the shared loop (ml/runs.py: exact resume, Stop /
Cancel, checkpoints, losses.jsonl, samples).

The generator (pix2pix's U-Net) paints the target's face crop from the crop with its lower half
masked, a reference crop (another frame's mouth, retrieved and warped into place) and the sketch of
the landmarks (ml/lipsync/data.py); L1 (counting ``mouth_l1`` times more on the lips' box, the
part a lip-sync render is judged by) + a PatchGAN that
sees the sketch with the picture (two scales and pairs of consecutive frames in the GPU preset, so
the mouth does not flicker). Only the target's own frames are used, never the held-out block.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from avstudio.core.errors import UserError
from avstudio.core.models import LIPSYNC
from avstudio.core.progress import Progress
from avstudio.core.store import load_project
from avstudio.ml import checkpoint as ck
from avstudio.ml import runs
from avstudio.ml.device import autocast, prepare_module, resolve_device, to_device
from avstudio.ml.lipsync.presets import face_config
from avstudio.ml.losses import lsgan
from avstudio.ml.nets.blocks import init_weights
from avstudio.ml.nets.pix2pix import MultiscaleDiscriminator, PatchDiscriminator, UNetGenerator

IN_CHANNELS = 7   # masked crop, reference crop, sketch


def build(cfg: dict) -> tuple[torch.nn.Module, torch.nn.Module]:
    g = UNetGenerator(IN_CHANNELS, 3, cfg["ngf"], cfg["depth"])
    d_in = 2 * 4 if cfg["temporal"] else 4  # (sketch, picture), for one frame or two
    d = MultiscaleDiscriminator(d_in, cfg["ndf"], cfg["d_layers"], cfg["num_d"]) if cfg["num_d"] > 1 \
        else PatchDiscriminator(d_in, cfg["ndf"], cfg["d_layers"])
    init_weights(g)
    init_weights(d)
    return g, d


def checkpoint_nets(doc: dict) -> dict:
    """The networks a face renderer's checkpoint holds, by prefix (ml/checkpoint.check_fits)."""
    return {"G": lambda: build(doc["config"])[0], "D": lambda: build(doc["config"])[1]}


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) → float (N, C, H, W) in [-1, 1]."""
    return torch.from_numpy(np.array(images, np.float32)).div_(127.5).sub_(1.0).permute(0, 3, 1, 2)


def to_images(t: torch.Tensor) -> np.ndarray:
    return ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


class FaceTrainer:
    """Networks, optimisers and one step; shared by the training job, rendering and the benchmarks."""

    def __init__(self, cfg: dict, device: torch.device, speedups: bool = True):
        self.cfg, self.device, self.speedups = cfg, device, speedups
        g, d = build(cfg)
        self.G, self.D = prepare_module(g, device, speedups), prepare_module(d, device, speedups)
        betas = (cfg["beta1"], 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg["lr_g"], betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg["lr_d"], betas=betas)
        self.last = None

    def _pairs(self, x: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        """What D sees: (sketch, picture), and for temporal models the previous frame's beside it."""
        cond = torch.cat([x[:, 6:7], img], 1)
        if not self.cfg["temporal"]:
            return cond
        n = len(cond) // 2
        return torch.cat([cond[:n], cond[n:]], 1)

    def generate(self, x: torch.Tensor) -> torch.Tensor:
        """The painted crop. A ``residual`` model paints a correction of the reference (the retrieval
        tier's warped mouth, channels 3–5): it starts as good as retrieval, with its real teeth and
        exact lip shape, and learns light, seams and what the warp gets wrong."""
        out = self.G(x)
        return (x[:, 3:6] + out).clamp(-1, 1) if self.cfg.get("residual") else out

    def step(self, step: int, x: torch.Tensor, real: torch.Tensor, lips: torch.Tensor | None = None) -> dict:
        """One step; ``lips`` (N, 1, S, S) marks where the L1 loss counts ``mouth_l1`` times more."""
        cfg = self.cfg
        runs.set_lr(self.opt_g, cfg, step, cfg["lr_g"])
        runs.set_lr(self.opt_d, cfg, step, cfg["lr_d"])
        with autocast(self.device, self.speedups):
            fake = self.generate(x)
            both = self.D(torch.cat([self._pairs(x, real), self._pairs(x, fake.detach())]))
            d_real, d_fake = _halves(both)
            loss_d = 0.5 * (lsgan(d_real, True) + lsgan(d_fake, False))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        with autocast(self.device, self.speedups):
            gan = lsgan(self.D(self._pairs(x, fake)), True)
            err = (fake - real).abs()
            if lips is not None and cfg.get("mouth_l1"):
                weight = 1.0 + cfg["mouth_l1"] * lips
                err = err * weight / weight.mean()
            l1 = cfg["l1"] * err.mean()
            loss_g = gan + l1
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.last = fake.detach()
        return {"g_gan": float(gan.detach()), "l1": float(l1.detach()), "g": float(loss_g.detach()),
                "d": float(loss_d.detach())}

    @torch.no_grad()
    def paint(self, x: np.ndarray) -> np.ndarray:
        """Generator inputs (N, S, S, 7) uint8 → painted crops (N, S, S, 3) uint8."""
        with autocast(self.device, self.speedups):
            out = self.generate(to_device(to_tensor(x), self.device, self.speedups))
        return to_images(out)

    def tensors(self) -> tuple[dict, dict]:
        tensors = {**ck.module_tensors("G", self.G), **ck.module_tensors("D", self.D)}
        meta = {}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            t, m = ck.optimizer_state(opt)
            tensors.update({f"{name}/{k}": v for k, v in t.items()})
            meta[name] = m
        return tensors, meta

    def load(self, tensors: dict, meta: dict, where: str, optimizers: bool = True) -> None:
        ck.load_module("G", self.G, tensors, where)
        ck.load_module("D", self.D, tensors, where)
        if optimizers:
            for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                sub = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")}
                ck.load_optimizer_state(opt, sub, meta.get(name), where)


def load_face_trainer(project_path: str, model_id: str, device: str = "auto", checkpoint: str | None = None):
    """(checkpoint document, FaceTrainer ready to paint) of a face renderer's newest checkpoint (or
    ``checkpoint``, one of its own)."""
    doc, tensors = ck.load_model(project_path, model_id, LIPSYNC, checkpoint_nets, checkpoint)
    trainer = FaceTrainer(doc["config"], resolve_device(device))
    trainer.load(tensors, doc.get("optim", {}), doc["path"], optimizers=False)
    trainer.G.eval()
    return doc, trainer


def _halves(out):
    if isinstance(out, list):
        pairs = [_halves(o) for o in out]
        return [a for a, _ in pairs], [b for _, b in pairs]
    return out.chunk(2)


class FaceSteps:
    """The shared loop's view of a face-renderer run: the target's faces, the networks, the batch of
    each step, the masked | sketch | painted | real sample."""

    def __init__(self, run: runs.Run, faces, device):
        from avstudio.ml.lipsync.data import batch
        from avstudio.ml.lipsync.retrieval import Retrieval

        self.run, self.faces, self.device, self._batch = run, faces, device, batch
        self.retrieval = Retrieval(faces, faces.train_rows)
        cfg = run.cfg
        self.notes = []
        self.oom_message = (f"Out of GPU memory at {cfg['size']} px with the '{cfg['preset']}' preset. Use face-128, "
                            "a smaller batch, or the CPU.")
        torch.manual_seed(run.seed)
        self.trainer = FaceTrainer(cfg, device)
        if run.resumed:
            self.trainer.load(run.tensors, run.doc["optim"], run.doc["path"])
        self.total = int(cfg["steps"])
        self.x = self.y = None

    def step(self, step: int) -> dict:
        cfg = self.run.cfg
        x, y, lips = self._batch(self.faces, self.retrieval, self.faces.train_rows, self.run.seed, step,
                                 int(cfg["batch"]), int(cfg["size"]), bool(cfg["temporal"]))
        self.x, self.y = x, y
        lips = torch.from_numpy(lips)[:, None]
        return self.trainer.step(step, to_device(to_tensor(x), self.device), to_device(to_tensor(y), self.device),
                                 to_device(lips, self.device))

    def sample(self, done: int, folder) -> tuple[dict, np.ndarray]:
        """masked crop | sketch | painted | real."""
        x, y = self.x[-1], self.y[-1]
        painted = to_images(self.trainer.last[-1:])[0]
        preview = np.concatenate([x[..., :3], np.repeat(x[..., 6:7], 3, -1), painted, y], 1)
        return runs.write_picture_sample(folder, done, preview), preview

    def describe(self, done: int, losses: dict, rate: float) -> str:
        return f"Step {done}/{self.total}  L1 {losses['l1']:.3f}  G {losses['g']:.3f}  D {losses['d']:.3f}  {rate:.1f} it/s"

    def checkpoint(self) -> tuple[dict, dict]:
        tensors, meta = self.trainer.tensors()
        return tensors, {"optim": meta, "faces": self.faces.key}


def _new_config(preset: str, steps: int | None, faces) -> dict:
    cfg = face_config(preset, steps=steps)
    cfg["crop_size"] = int(faces.size)
    return cfg


def train_face(project_path: str, preset: str = "face-128", steps: int | None = None, model_id: str | None = None,
               resume: bool = False, device: str = "auto", seed: int = 0, handle=None) -> Iterator[Progress]:
    """Job: train (or resume) a face renderer on the project's target clip. Returns {"model_id",
    "checkpoint", "step", "stopped", "warnings"}."""
    from avstudio.ml.lipsync.target import TRAIN_MIN_SECONDS, load_target

    project = load_project(project_path)
    dev = resolve_device(device)
    faces = yield from load_target(project, TRAIN_MIN_SECONDS)
    if len(faces.train_rows) < 2:
        raise UserError("Too few target frames to train on.")
    run = runs.open_run(project_path, model_id, resume, preset, steps, seed, lambda: _new_config(preset, steps, faces),
                        LIPSYNC, checkpoint_nets)
    if int(run.cfg.get("crop_size", faces.size)) != faces.size:
        faces = yield from load_target(project, TRAIN_MIN_SECONDS, int(run.cfg["crop_size"]))
    with runs.gpu_memory(f"Out of GPU memory with the '{run.cfg['preset']}' preset."):
        steps_ = FaceSteps(run, faces, dev)
    return (yield from runs.train_loop(run, steps_, handle))
