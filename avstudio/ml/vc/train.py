"""Training CycleGAN-VC2 on two speakers' non-parallel speech, as a job.

Losses (Kaneko et al. 2019): LSGAN adversarial both ways, cycle consistency (λ 10), identity
mapping (λ 5, dropped after ``id_until`` iterations), and the two-step adversarial loss (extra
discriminators on the cycle-converted features). Adam G 2e-4 / D 1e-4, β (0.5, 0.999), batch 1,
random 128-frame segments, linear decay after ``decay_from``.

Like the motion models: the batch of step k is a function of (seed, k), so a resumed run continues
exactly; Stop saves a checkpoint; per-speaker statistics are saved with every checkpoint; losses go
to losses.jsonl and an audio sample (the source's first seconds converted) to samples/ as WAV.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.ml import checkpoint as ck
from avstudio.ml.device import autocast, resolve_device
from avstudio.ml.nets.blocks import init_weights
from avstudio.ml.vc.data import Speaker, load_speaker, random_segment
from avstudio.ml.vc.presets import vc_config
from avstudio.ml.vc.nets import Generator212, PatchDiscriminator2d

NETS = ("G_AB", "G_BA", "D_A", "D_B", "D2_A", "D2_B")  # A: source speaker, B: target speaker


def lr_at(cfg: dict, step: int, base: float) -> float:
    start = cfg["decay_from"]
    if step < start:
        return base
    return base * max(0.0, 1.0 - (step - start) / max(1.0, cfg["steps"] - start))


def lsgan(pred: torch.Tensor, real: bool) -> torch.Tensor:
    return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))


class VCTrainer:
    def __init__(self, cfg: dict, device: torch.device):
        self.cfg, self.device = cfg, device
        g = lambda: Generator212(cfg["n_mcep"], cfg["width"])  # noqa: E731
        d = lambda: PatchDiscriminator2d(cfg["n_mcep"], cfg["width"])  # noqa: E731
        self.nets = {"G_AB": g(), "G_BA": g(), "D_A": d(), "D_B": d(), "D2_A": d(), "D2_B": d()}
        for m in self.nets.values():
            init_weights(m)
            m.to(device)
        betas = (cfg["beta1"], 0.999)
        self.opt_g = torch.optim.Adam([p for k in ("G_AB", "G_BA") for p in self.nets[k].parameters()],
                                      lr=cfg["lr_g"], betas=betas)
        self.opt_d = torch.optim.Adam([p for k in ("D_A", "D_B", "D2_A", "D2_B") for p in self.nets[k].parameters()],
                                      lr=cfg["lr_d"], betas=betas)

    def step(self, step: int, x: torch.Tensor, y: torch.Tensor) -> dict:
        cfg, n = self.cfg, self.nets
        for opt, base in ((self.opt_g, cfg["lr_g"]), (self.opt_d, cfg["lr_d"])):
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, step, base)
        use_id = step < cfg["id_until"]
        with autocast(self.device):
            fake_b, fake_a = n["G_AB"](x), n["G_BA"](y)
            cyc_a, cyc_b = n["G_BA"](fake_b), n["G_AB"](fake_a)
            adv = lsgan(n["D_B"](fake_b), True) + lsgan(n["D_A"](fake_a), True)
            adv2 = lsgan(n["D2_A"](cyc_a), True) + lsgan(n["D2_B"](cyc_b), True)
            cyc = F.l1_loss(cyc_a, x) + F.l1_loss(cyc_b, y)
            ident = (F.l1_loss(n["G_BA"](x), x) + F.l1_loss(n["G_AB"](y), y)) if use_id else torch.zeros((), device=x.device)
            loss_g = adv + adv2 + cfg["lambda_cyc"] * cyc + (cfg["lambda_id"] * ident if use_id else 0.0)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        with autocast(self.device):
            fb, fa, ca, cb = fake_b.detach(), fake_a.detach(), cyc_a.detach(), cyc_b.detach()
            loss_d = 0.5 * (lsgan(n["D_A"](x), True) + lsgan(n["D_A"](fa), False)
                            + lsgan(n["D_B"](y), True) + lsgan(n["D_B"](fb), False)
                            + lsgan(n["D2_A"](x), True) + lsgan(n["D2_A"](ca), False)
                            + lsgan(n["D2_B"](y), True) + lsgan(n["D2_B"](cb), False))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        return {"g": float(loss_g.detach()), "d": float(loss_d.detach()), "adv": float(adv.detach()),
                "adv2": float(adv2.detach()), "cycle": float(cyc.detach()), "identity": float(ident.detach())}

    def tensors(self) -> tuple[dict, dict]:
        tensors = {}
        for name, m in self.nets.items():
            tensors.update(ck.module_tensors(name, m))
        meta = {}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            t, m = ck.optimizer_state(opt)
            tensors.update({f"{name}/{k}": v for k, v in t.items()})
            meta[name] = m
        return tensors, meta

    def load(self, tensors: dict, meta: dict, where: str, optimizers: bool = True, nets=NETS) -> None:
        for name in nets:
            ck.load_module(name, self.nets[name], tensors, where)
        if optimizers:
            for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                sub = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")}
                ck.load_optimizer_state(opt, sub, meta[name])


def _sample_audio(trainer: VCTrainer, src: Speaker, tgt: Speaker, fs: int, seconds: float = 4.0) -> np.ndarray:
    """The source's first recording (first seconds) converted with the current generator."""
    from avstudio.ml.vc.convert import convert_features

    u = src.utterances[0]
    n = min(len(u.f0), int(seconds * 200))
    g = trainer.nets["G_AB"]
    was = g.training
    g.eval()
    try:
        return convert_features(g, u.f0[:n], u.mcep[:n], u.ap[:n], src.stats(), tgt.stats(), fs, trainer.device)
    finally:
        g.train(was)


def train_voice(project_path: str, source: list[str], target: list[str], preset: str = "vc-preview",
                steps: int | None = None, model_id: str | None = None, resume: bool = False, device: str = "auto",
                seed: int = 0, f0_method: str | None = None, handle=None) -> Iterator[Progress]:
    """Job: train (or resume) CycleGAN-VC2 from the source speaker's recordings (files/folders) to
    the target's. Returns {"model_id", "checkpoint", "step", "stopped", "warnings"}."""
    from avstudio.media.audio import Audio, write_audio
    from avstudio.ml.train import new_model_id

    dev = resolve_device(device)
    models_dir = Path(project_path) / "models"
    start = 0
    doc = None
    if resume:
        doc, tensors, cfg = ck.resume_run(models_dir, model_id, preset, steps)
        start, seed = int(doc["step"]), int(doc.get("seed", seed))
        source, target = doc["sources"]["source"], doc["sources"]["target"]
    else:
        cfg = vc_config(preset, steps=steps, f0_method=f0_method)
        model_id = model_id or new_model_id()
        ck.check_new_model(models_dir, model_id)
    model_dir = models_dir / model_id
    cache = Path(project_path) / "cache" / "vc-features"
    fs = int(cfg["sample_rate"])
    src = yield from load_speaker("source", source, cache, fs, cfg["n_mcep"], cfg["f0_method"])
    tgt = yield from load_speaker("target", target, cache, fs, cfg["n_mcep"], cfg["f0_method"])
    warnings = src.warnings + tgt.warnings
    A, B = src.normalized(), tgt.normalized()
    torch.manual_seed(seed)
    trainer = VCTrainer(cfg, dev)
    if doc is not None:
        trainer.load(tensors, doc["optim"], doc["path"])
    model_dir.mkdir(parents=True, exist_ok=True)
    log_path = model_dir / "losses.jsonl"
    if not resume and log_path.exists():
        log_path.unlink()
    extra = {"seed": seed, "model_id": model_id, "stats": {"source": src.stats(), "target": tgt.stats()},
             "sources": {"source": [str(s) for s in source], "target": [str(s) for s in target]}}

    def save(step_done: int) -> Path:
        t, meta = trainer.tensors()
        return ck.save_checkpoint(model_dir, step_done, cfg, t, {**extra, "optim": meta})

    total, seg = cfg["steps"], cfg["segment"]
    t0 = time.monotonic()
    for w in warnings:
        yield Progress(start, total, w)
    try:
        for step in range(start, total):
            if handle is not None and handle.stop_requested:
                path = save(step)
                yield Progress(step, total, f"Stopped at step {step}: checkpoint saved", data={"step": step})
                return {"model_id": model_id, "checkpoint": str(path), "step": step, "stopped": True,
                        "warnings": warnings}
            rng = np.random.default_rng([seed, step])
            torch.manual_seed(seed * 1_000_003 + step)
            x = torch.from_numpy(np.ascontiguousarray(random_segment(A, rng, seg)))[None, None].to(dev)
            y = torch.from_numpy(np.ascontiguousarray(random_segment(B, rng, seg)))[None, None].to(dev)
            losses = trainer.step(step, x, y)
            done = step + 1
            rate = (done - start) / max(1e-9, time.monotonic() - t0)
            with open(log_path, "a") as f:
                f.write(json.dumps({"step": done, **losses}) + "\n")
            info = {"step": done, "losses": losses, "it_s": rate}
            if done % cfg["sample_every"] == 0 or done == total:
                wav = model_dir / "samples" / f"step-{done:08d}.wav"
                write_audio(wav, Audio(_sample_audio(trainer, src, tgt, fs), fs))
                info["audio_sample"] = str(wav)
            yield Progress(done, total, f"Step {done}/{total}  cycle {losses['cycle']:.3f}  identity "
                                        f"{losses['identity']:.3f}  G {losses['g']:.2f}  D {losses['d']:.3f}  "
                                        f"{rate:.2f} it/s", data=info)
            if done % cfg["checkpoint_every"] == 0 and done < total:
                save(done)
    except torch.cuda.OutOfMemoryError as exc:
        raise UserError("Out of GPU memory while training the voice model: use the vc-preview preset, close other "
                        "GPU programs, or train on the CPU. The last checkpoint is kept.", details=str(exc)) from exc
    path = save(total)
    return {"model_id": model_id, "checkpoint": str(path), "step": total, "stopped": False, "warnings": warnings}
