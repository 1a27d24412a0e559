"""Training CycleGAN-VC2 on two speakers' non-parallel speech, as a job.

Losses (Kaneko et al. 2019): LSGAN adversarial both ways, cycle consistency (λ 10), identity
mapping (λ 5, dropped after ``id_until`` iterations), and the two-step adversarial loss (extra
discriminators on the cycle-converted features). Adam G 2e-4 / D 1e-4, β (0.5, 0.999), batch 1,
random 128-frame segments, linear decay after ``lr_decay_start``.

On the shared loop (ml/runs.py), like the motion models: the batch of step k is a function of
(seed, k), so a resumed run continues exactly; Stop saves a checkpoint; per-speaker statistics are
saved with every checkpoint; the sample is the source's first seconds converted, as WAV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from avstudio.core.models import VOICE
from avstudio.core.progress import Progress
from avstudio.ml import checkpoint as ck
from avstudio.ml import runs
from avstudio.ml.losses import lsgan
from avstudio.ml.device import autocast, resolve_device
from avstudio.ml.nets.blocks import init_weights
from avstudio.ml.voice.data import FRAMES_PER_SECOND, Speaker, load_speaker, random_segment
from avstudio.ml.voice.presets import vc_config
from avstudio.ml.voice.nets import Generator212, PatchDiscriminator2d, checkpoint_nets

NETS = ("G_AB", "G_BA", "D_A", "D_B", "D2_A", "D2_B")  # A: source speaker, B: target speaker


class VCTrainer:
    def __init__(self, cfg: dict, device: torch.device, speedups: bool = True):
        self.cfg, self.device, self.speedups = cfg, device, speedups  # speedups: bf16 autocast on CUDA
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
        runs.set_lr(self.opt_g, cfg, step, cfg["lr_g"])
        runs.set_lr(self.opt_d, cfg, step, cfg["lr_d"])
        use_id = step < cfg["id_until"]
        with autocast(self.device, self.speedups):
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
        with autocast(self.device, self.speedups):
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
                ck.load_optimizer_state(opt, sub, meta.get(name), where)


def _sample_audio(trainer: VCTrainer, src: Speaker, tgt: Speaker, fs: int, seconds: float = 4.0) -> np.ndarray:
    """The source's first recording (first seconds) converted with the current generator."""
    from avstudio.ml.voice.convert import convert_features

    u = src.utterances[0]
    n = min(len(u.f0), int(seconds * FRAMES_PER_SECOND))
    g = trainer.nets["G_AB"]
    was = g.training
    g.eval()
    try:
        return convert_features(g, u.f0[:n], u.mcep[:n], u.ap[:n], src.stats(), tgt.stats(), fs, trainer.device)
    finally:
        g.train(was)


class VoiceSteps:
    """The shared loop's view of a voice run (ml/runs.py): both speakers' normalized features, the
    networks, random 128-frame segments per step, a converted audio sample."""

    def __init__(self, run: runs.Run, src: Speaker, tgt: Speaker, sources: dict, device):
        cfg = run.cfg
        self.run, self.src, self.tgt, self.device = run, src, tgt, device
        self.sources = {k: [str(s) for s in v] for k, v in sources.items()}  # saved: a resume reads them again
        self.A, self.B = src.normalized(), tgt.normalized()
        self.total, self.fs = cfg["steps"], int(cfg["sample_rate"])
        self.notes = src.warnings + tgt.warnings
        self.oom_message = ("Out of GPU memory while training the voice model: use the vc-preview preset, close other "
                            "GPU programs, or train on the CPU.")
        torch.manual_seed(run.seed)
        self.trainer = VCTrainer(cfg, device)
        if run.resumed:
            self.trainer.load(run.tensors, run.doc["optim"], run.doc["path"])

    def step(self, step: int) -> dict:
        rng = np.random.default_rng([self.run.seed, step])
        seg, dev = self.run.cfg["segment"], self.device
        x = torch.from_numpy(np.ascontiguousarray(random_segment(self.A, rng, seg)))[None, None].to(dev)
        y = torch.from_numpy(np.ascontiguousarray(random_segment(self.B, rng, seg)))[None, None].to(dev)
        return self.trainer.step(step, x, y)

    def sample(self, done: int, folder) -> tuple[dict, None]:
        from avstudio.media.audio import Audio, write_audio

        wav = folder.sample_file(done, ".wav")
        write_audio(wav, Audio(_sample_audio(self.trainer, self.src, self.tgt, self.fs), self.fs))
        return {"audio_sample": str(wav)}, None

    def describe(self, done: int, losses: dict, rate: float) -> str:
        return (f"Step {done}/{self.total}  cycle {losses['cycle']:.3f}  identity {losses['identity']:.3f}  G "
                f"{losses['g']:.2f}  D {losses['d']:.3f}  {rate:.2f} it/s")

    def checkpoint(self) -> tuple[dict, dict]:
        tensors, meta = self.trainer.tensors()
        return tensors, {"optim": meta, "stats": {"source": self.src.stats(), "target": self.tgt.stats()},
                         "sources": self.sources}


def train_voice(project_path: str, source: list[str], target: list[str], preset: str = "vc-preview",
                steps: int | None = None, model_id: str | None = None, resume: bool = False, device: str = "auto",
                seed: int = 0, f0_method: str | None = None, handle=None) -> Iterator[Progress]:
    """Job: train (or resume) CycleGAN-VC2 from the source speaker's recordings (files/folders) to
    the target's, on the shared loop. Returns {"model_id", "checkpoint", "step", "stopped", "warnings"}."""
    dev = resolve_device(device)
    run = runs.open_run(project_path, model_id, resume, preset, steps, seed,
                        lambda: vc_config(preset, steps=steps, f0_method=f0_method), VOICE, checkpoint_nets)
    if run.resumed:
        source, target = run.doc["sources"]["source"], run.doc["sources"]["target"]
    cfg = run.cfg
    cache = Path(project_path) / "cache" / "vc-features"
    fs = int(cfg["sample_rate"])
    src = yield from load_speaker("source", source, cache, fs, cfg["n_mcep"], cfg["f0_method"])
    tgt = yield from load_speaker("target", target, cache, fs, cfg["n_mcep"], cfg["f0_method"])
    steps_ = VoiceSteps(run, src, tgt, {"source": source, "target": target}, dev)
    return (yield from runs.train_loop(run, steps_, handle))
