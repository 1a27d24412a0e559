"""Training a per-target pose→image model (Everybody Dance Now) as a job, on the shared loop
(ml/runs.py: exact resume, Stop / Cancel, checkpoints, losses.jsonl, samples).

* The batch of step k is a function of (seed, k, rank), so a resumed run continues exactly as an
  uninterrupted one would (same batches, same optimizer state).
* A sample every ``sample_every`` steps: pose | generated | real.
* CUDA: bf16 autocast, channels_last, optional torch.compile; several GPUs via torchrun + DDP.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from avstudio.core.errors import UserError
from avstudio.core.models import MOTION
from avstudio.core.progress import Progress
from avstudio.core.store import load_project
from avstudio.ml import checkpoint as ck
from avstudio.ml import runs
from avstudio.ml.motion.build import build_discriminator, build_face, build_generator, checkpoint_nets
from avstudio.ml.motion.data import build_dataset, to_images, to_tensor
from avstudio.ml.device import autocast, prepare_module, resolve_device, to_device
from avstudio.ml.losses import VGGLoss, feature_matching, lsgan
from avstudio.ml.motion.presets import preset_config
from avstudio.ml.motion.stage import crop


def _split(out):
    """Split a discriminator output on a [real; fake] batch into the two halves (tensor or nested lists)."""
    if isinstance(out, list):
        pairs = [_split(o) for o in out]
        return [a for a, _ in pairs], [b for _, b in pairs]
    a, b = out.chunk(2)
    return a, b


def _dist():
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class Trainer:
    """Networks, optimisers and one training step; shared by the train job and the benchmarks."""

    def __init__(self, cfg: dict, device: torch.device, *, compile: bool = False, vgg_weights: str | None = None,
                 speedups: bool = True):
        # ``speedups``: bf16 autocast, channels_last and cuDNN autotuning on CUDA (off: the plain fp32
        # eager baseline of benchmarks/gpu.py, the same networks and losses).
        self.cfg, self.device, self.speedups = cfg, device, speedups
        self.G = prepare_module(build_generator(cfg), device, speedups)
        self.D = prepare_module(build_discriminator(cfg), device, speedups)
        betas = (cfg["beta1"], 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg["lr_g"], betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg["lr_d"], betas=betas)
        self.vgg = VGGLoss(vgg_weights).to(device) if vgg_weights and cfg.get("vgg") else None
        self.multiscale = cfg.get("num_d", 1) > 1
        rank, world = _dist()
        self.g_run, self.d_run = self.G, self.D
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP
            ids = [device.index] if device.type == "cuda" else None
            # A temporal G runs twice per step (previous frame, then this one): static_graph lets DDP
            # reduce each parameter's gradient once anyway.
            self.g_run = DDP(self.G, device_ids=ids, static_graph=bool(cfg["temporal"]))
            self.d_run = DDP(self.D, device_ids=ids)
        if compile:
            self.g_run = torch.compile(self.g_run)
        # The background plate at (up to) full resolution, uint8 (H, W, 3): exports composite the
        # generated person over it instead of upscaling the model's small picture.
        self.background: torch.Tensor | None = None
        self.face_g = self.face_d = None
        if cfg.get("face"):
            fg, fd = build_face(cfg)
            self.face_g, self.face_d = prepare_module(fg, device, speedups), prepare_module(fd, device, speedups)
            self.opt_fg = torch.optim.Adam(self.face_g.parameters(), lr=cfg["lr_g"], betas=betas)
            self.opt_fd = torch.optim.Adam(self.face_d.parameters(), lr=cfg["lr_d"], betas=betas)

    def _d_out(self, x, features=False):
        out = self.d_run(x, features=True) if self.multiscale else self.d_run(x, features=features)
        return out

    def _g_input(self, pose: torch.Tensor, prev: torch.Tensor | None) -> torch.Tensor:
        if self.cfg["temporal"]:
            prev = torch.zeros_like(pose) if prev is None else prev
            pose = torch.cat([pose, prev], 1)
        return pose

    def generate(self, pose: torch.Tensor, prev: torch.Tensor | None = None, plate=None) -> torch.Tensor:
        x = self._g_input(pose, prev)
        return self.g_run(x) if plate is None else self.g_run(x, plate)

    def generate_layers(self, pose: torch.Tensor, prev: torch.Tensor | None, plate: torch.Tensor):
        """(composite over ``plate``, colour, mask) of a model with a background plate (inference)."""
        colour, mask = self.G.layers(self._g_input(pose, prev))
        return mask * colour + (1 - mask) * plate.to(colour.dtype), colour, mask

    def step(self, step: int, pose: torch.Tensor, real: torch.Tensor, pose_prev=None, real_prev=None,
             plate=None) -> dict:
        cfg = self.cfg
        runs.set_lr(self.opt_g, cfg, step, cfg["lr_g"])
        runs.set_lr(self.opt_d, cfg, step, cfg["lr_d"])
        with autocast(self.device, self.speedups):
            if cfg["temporal"]:
                fake_prev = self.generate(pose_prev, plate=plate)
                fake = self.generate(pose, fake_prev.detach(), plate=plate)
                cond_real = torch.cat([pose_prev, pose, real_prev, real], 1)
                cond_fake = torch.cat([pose_prev, pose, fake_prev, fake], 1)
            else:
                fake = self.generate(pose, plate=plate)
                cond_real = torch.cat([pose, real], 1)
                cond_fake = torch.cat([pose, fake], 1)
            # Discriminator: real and fake in one call (one forward per backward, as DDP requires;
            # instance norm keeps the two samples independent).
            both = self._d_out(torch.cat([cond_real, cond_fake.detach()]))
            d_real, d_fake = _split(both)
            loss_d = 0.5 * (lsgan(d_real, True) + lsgan(d_fake, False))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        with autocast(self.device, self.speedups):
            need_feats = cfg.get("fm", 0) > 0
            d_fake_g = self.d_run(cond_fake, features=True) if (self.multiscale or need_feats) else self.d_run(cond_fake)
            loss_gan = lsgan(d_fake_g if self.multiscale else (d_fake_g[-1] if need_feats else d_fake_g), True)
            losses = {"g_gan": loss_gan}
            if cfg.get("l1"):
                l1 = F.l1_loss(fake, real)
                if cfg["temporal"]:
                    l1 = 0.5 * (l1 + F.l1_loss(fake_prev, real_prev))
                losses["l1"] = cfg["l1"] * l1
            if need_feats:
                with torch.no_grad():
                    real_feats = self.d_run(cond_real, features=True)
                ff = d_fake_g if self.multiscale else [d_fake_g]
                rf = real_feats if self.multiscale else [real_feats]
                losses["fm"] = cfg["fm"] * feature_matching(ff, rf, cfg["d_layers"])
            if self.vgg is not None:
                losses["vgg"] = cfg["vgg"] * self.vgg(fake.float(), real.float())
            loss_g = sum(losses.values())
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        out = {k: float(v.detach()) for k, v in losses.items()}
        out.update(d=float(loss_d.detach()), g=float(loss_g.detach()))
        self.last_fake = fake
        return out

    def face_step(self, pose: torch.Tensor, real: torch.Tensor, box) -> dict:
        """One step of the face stage: the main generator is frozen; the residual G and its D learn."""
        from avstudio.ml.motion.face_refiner import crop, face_size

        n = face_size(self.cfg)
        with torch.no_grad(), autocast(self.device, self.speedups):
            fake = self.generate(pose).float()
        p, g, r = crop(pose, box, n), crop(fake, box, n), crop(real, box, n)
        refined = self.face_g(p, g)
        d_loss = 0.5 * (lsgan(self.face_d(torch.cat([p, r], 1)), True)
                        + lsgan(self.face_d(torch.cat([p, refined.detach()], 1)), False))
        self.opt_fd.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_fd.step()
        g_loss = lsgan(self.face_d(torch.cat([p, refined], 1)), True) + self.cfg.get("l1", 10.0) * F.l1_loss(refined, r)
        self.opt_fg.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_fg.step()
        return {"face_g": float(g_loss.detach()), "face_d": float(d_loss.detach())}

    def refine_faces(self, fake: torch.Tensor, pose: torch.Tensor, boxes) -> torch.Tensor:
        """Paste the face stage's refined crops into generated frames (inference)."""
        from avstudio.ml.motion.face_refiner import crop, face_size, paste

        if self.face_g is None:
            return fake
        n = face_size(self.cfg)
        out = []
        for i in range(len(fake)):
            f = fake[i:i + 1]
            if boxes[i][3]:
                f = paste(f, self.face_g(crop(pose[i:i + 1], boxes[i], n), crop(f, boxes[i], n)), boxes[i])
            out.append(f)
        return torch.cat(out)

    def tensors(self) -> tuple[dict, dict]:
        tensors = {**ck.module_tensors("G", self.G), **ck.module_tensors("D", self.D)}
        if self.background is not None:
            tensors["background"] = self.background
        if self.face_g is not None:
            tensors.update({**ck.module_tensors("FG", self.face_g), **ck.module_tensors("FD", self.face_d)})
        meta = {}
        opts = [("opt_g", self.opt_g), ("opt_d", self.opt_d)]
        if self.face_g is not None:
            opts += [("opt_fg", self.opt_fg), ("opt_fd", self.opt_fd)]
        for name, opt in opts:
            t, m = ck.optimizer_state(opt)
            tensors.update({f"{name}/{k}": v for k, v in t.items()})
            meta[name] = m
        return tensors, meta

    def load(self, tensors: dict, meta: dict, where: str, optimizers: bool = True) -> None:
        ck.load_module("G", self.G, tensors, where)
        bg = tensors.get("background")  # absent in models from before full-resolution backgrounds
        if bg is not None:
            if bg.dtype != torch.uint8 or bg.dim() != 3 or bg.shape[2] != 3:
                raise UserError(f"The background in {where} is not an image. The checkpoint was altered.", path=where)
            self.background = bg
        ck.load_module("D", self.D, tensors, where)
        opts = [("opt_g", self.opt_g), ("opt_d", self.opt_d)]
        if self.face_g is not None:
            ck.load_module("FG", self.face_g, tensors, where)
            ck.load_module("FD", self.face_d, tensors, where)
            opts += [("opt_fg", self.opt_fg), ("opt_fd", self.opt_fd)]
        if optimizers:
            for name, opt in opts:
                sub = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")}
                ck.load_optimizer_state(opt, sub, meta.get(name), where)


def _augment(images: list[np.ndarray], rng: np.random.Generator, scale: float, shift: float) -> list[np.ndarray]:
    """One random scale + shift applied alike to the pose image and the frame(s): with a few hundred
    frames the generator must learn to draw limbs where the pose puts them, not memorise frames."""
    import cv2

    if not scale and not shift:
        return images
    size = images[0].shape[1]
    s = 1.0 + rng.uniform(-scale, scale)
    tx, ty = rng.uniform(-shift, shift, 2) * size
    c = size / 2
    m = np.array([[s, 0, c - s * c + tx], [0, s, c - s * c + ty]], np.float32)
    return [cv2.warpAffine(np.ascontiguousarray(im[0]), m, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)[None] for im in images]


def _batch(data, rows: np.ndarray, seed: int, step: int, rank: int, temporal: bool, aug: dict | None = None,
           plate: np.ndarray | None = None):
    """(pose, frame, previous pose, previous frame, row, plate): the plate is the background behind
    this sample's window (None without a stage ``plate``); a temporal pair is seen through one window,
    and augmentation warps every image of the sample alike."""
    rng = np.random.default_rng([seed, step, rank])
    r = int(rows[rng.integers(len(rows))])
    window = data.windows[r]
    ims = [data.poses[r:r + 1], data.frames[r:r + 1]]
    if temporal:
        ims += [im[None] for im in data.through(r - 1, window)]
    if plate is not None:
        ims.append(crop(plate, window, data.size)[None])
    if aug and rng.random() < aug.get("p", 1.0):
        ims = _augment(ims, rng, aug.get("scale", 0.0), aug.get("shift", 0.0))
    back = to_tensor(np.asarray(ims.pop())) if plate is not None else None
    t = [to_tensor(np.asarray(im)) for im in ims]
    if temporal:
        return t[0], t[1], t[2], t[3], r, back
    return t[0], t[1], None, None, r, back


class MotionSteps:
    """The shared loop's view of a motion run (ml/runs.py): the target's data, the networks, the batch
    of each step, the face stage after the main steps, the pose | generated | real sample."""

    def __init__(self, run: runs.Run, data, device, *, compile: bool, vgg_weights: str | None, rank: int):
        cfg = run.cfg
        self.run, self.data, self.device, self.rank = run, data, device, rank
        self.rows = data.pair_rows(data.train_rows) if cfg["temporal"] else data.train_rows
        if len(self.rows) < 2:
            raise UserError("Too few consecutive training frames for temporal training.")
        self.notes = []
        self.oom_message = oom_message(cfg)
        torch.manual_seed(run.seed)
        self.trainer = trainer = Trainer(cfg, device, compile=compile, vgg_weights=vgg_weights)
        if cfg.get("plate"):
            trainer.G.set_plate(to_tensor(data.plate()).to(device))  # a resumed run loads the saved one
            trainer.background = torch.from_numpy(data.background())
        if run.resumed:
            trainer.load(run.tensors, run.doc["optim"], run.doc["path"])
        self.plate_img = to_images(trainer.G.plate)[0] if cfg.get("plate") else None  # the stage's background
        self.main_steps = cfg["steps"]
        face_steps = int(cfg.get("face_steps", 0)) if cfg.get("face") else 0
        self.total = self.main_steps + face_steps
        self.boxes = None
        if face_steps:
            from avstudio.ml.motion.face_refiner import face_boxes
            self.boxes = face_boxes(data.body, data.body_flags, data.size)
            self.face_rows = data.train_rows[self.boxes[data.train_rows, 3] == 1]
            if not len(self.face_rows):
                raise UserError("The face stage needs frames where the head (nose, eyes or ears) and neck are found.")
        self.row = 0

    def step(self, step: int) -> dict:
        data, dev, trainer, seed = self.data, self.device, self.trainer, self.run.seed
        if step >= self.main_steps:  # the face stage: main generator frozen
            # (a temporal generator sees no previous frame here: the face stage refines single frames)
            pose, real, _, _, self.row, _ = _batch(data, self.face_rows, seed, step, self.rank, False)
            pose_in = to_device(pose, dev)
            losses = trainer.face_step(pose_in, to_device(real, dev), self.boxes[self.row])
            losses.update(g=losses["face_g"], d=losses["face_d"])
            trainer.last_fake = trainer.refine_faces(trainer.generate(pose_in).detach().float(), pose_in,
                                                     [self.boxes[self.row]]).detach()
            return losses
        pose, real, pose_p, real_p, self.row, plate = _batch(data, self.rows, seed, step, self.rank,
                                                             self.run.cfg["temporal"], self.run.cfg.get("augment"),
                                                             self.plate_img)
        if plate is not None:
            plate = to_device(plate, dev)
        pose, real = to_device(pose, dev), to_device(real, dev)
        if pose_p is not None:
            pose_p, real_p = to_device(pose_p, dev), to_device(real_p, dev)
        return trainer.step(step, pose, real, pose_p, real_p, plate)

    def sample(self, done: int, folder) -> tuple[dict, np.ndarray]:
        """pose | generated | real; also on disk, for a monitor in another process."""
        d, r = self.data, self.row
        preview = np.concatenate([d.poses[r], to_images(self.trainer.last_fake[:1])[0], d.frames[r]], 1)
        return runs.write_picture_sample(folder, done, preview), preview

    def describe(self, done: int, losses: dict, rate: float) -> str:
        return f"Step {done}/{self.total}  G {losses['g']:.3f}  D {losses['d']:.3f}  {rate:.1f} it/s"

    def checkpoint(self) -> tuple[dict, dict]:
        tensors, meta = self.trainer.tensors()
        return tensors, {"optim": meta, "dataset": self.data.key}


def oom_message(cfg: dict) -> str:
    return (f"Out of GPU memory at {cfg['size']} px with the '{cfg['preset']}' preset. Use a smaller preset (standard "
            "or preview), close other GPU programs, or train on the CPU.")


def _new_config(preset: str, steps: int | None, augment: bool) -> dict:
    cfg = preset_config(preset, steps=steps)
    if augment:
        from avstudio.ml.motion.presets import AUGMENT
        cfg["augment"] = dict(AUGMENT)
    return cfg


def train(project_path: str, preset: str = "preview", steps: int | None = None, model_id: str | None = None,
          resume: bool = False, device: str = "auto", seed: int = 0, compile: bool = False,
          vgg_weights: str | None = None, augment: bool = False, handle=None) -> Iterator[Progress]:
    """Job: train (or resume) a motion-transfer model on the project's target clip, on the shared loop.
    Returns {"model_id", "checkpoint", "step", "stopped"}; JSON-able arguments so it runs in a child."""
    rank, world = _dist()
    project = load_project(project_path)
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(dev)
    run = runs.open_run(project_path, model_id, resume, preset, steps, seed,
                        lambda: _new_config(preset, steps, augment), MOTION, checkpoint_nets)
    if world > 1 and rank != 0:
        torch.distributed.barrier()  # rank 0 builds the cached dataset first
    # A resumed run keeps the stage it was trained on (older models: the whole frame).
    cfg = run.cfg
    data = yield from build_dataset(project, cfg["size"], (cfg.get("stage") or {"moving": False}) if resume else None,
                                    follow=bool(cfg.get("plate")))
    cfg["stage"] = data.stage.to_dict()
    if world > 1 and rank == 0:
        torch.distributed.barrier()
    with runs.gpu_memory(oom_message(cfg)):
        steps_ = MotionSteps(run, data, dev, compile=compile, vgg_weights=vgg_weights, rank=rank)
    return (yield from runs.train_loop(run, steps_, handle, rank))
