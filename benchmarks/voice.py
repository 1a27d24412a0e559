"""Voice benchmarks (issue 6): WORLD analysis RTF (Harvest and DIO), conversion RTF and CycleGAN-VC2
training steps/s, each beside a bare pyworld / plain fp32 loop measured in the same run."""

from __future__ import annotations

import time
import warnings

import numpy as np

from avstudio.analysis.voice import world
from avstudio.analysis.voice.speech import load_speech, speech_files
from avstudio.core.progress import run_to_end

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pyworld as pw

V_BEGIN, V_END = "<!-- voice-benchmarks:begin -->", "<!-- voice-benchmarks:end -->"


def speech(media, seconds: float, fs: int = 16000) -> np.ndarray:
    files = speech_files(media / "speech" / "asterisk_g722_allison_en_female")
    x = np.concatenate([load_speech(f, fs).samples for f in files])
    return x[:int(seconds * fs)]


def bare_world(x, fs, method):
    if method == "harvest":
        f0, t = pw.harvest(x, fs, world.F0_FLOOR, world.F0_CEIL, world.FRAME_PERIOD_MS)
    else:
        f0, t = pw.dio(x, fs, world.F0_FLOOR, world.F0_CEIL, frame_period=world.FRAME_PERIOD_MS)
        f0 = pw.stonemask(x, f0, t, fs)
    pw.cheaptrick(x, f0, t, fs)
    pw.d4c(x, f0, t, fs)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def plain_vc_steps(cfg, steps, device) -> float:
    """A hand-written fp32 CycleGAN-VC2 step (no AV Studio trainer), as the reference scripts run."""
    import torch
    import torch.nn.functional as F

    from avstudio.ml.voice.nets import Generator212, PatchDiscriminator2d

    gab, gba = Generator212(36, cfg["width"]).to(device), Generator212(36, cfg["width"]).to(device)
    ds = [PatchDiscriminator2d(36, cfg["width"]).to(device) for _ in range(4)]
    og = torch.optim.Adam(list(gab.parameters()) + list(gba.parameters()), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam([p for d in ds for p in d.parameters()], 1e-4, betas=(0.5, 0.999))
    mse = lambda p, v: F.mse_loss(p, torch.full_like(p, v))  # noqa: E731

    def step():
        x, y = torch.randn(1, 1, 36, 128, device=device), torch.randn(1, 1, 36, 128, device=device)
        fb, fa = gab(x), gba(y)
        ca, cb = gba(fb), gab(fa)
        lg = (mse(ds[1](fb), 1) + mse(ds[0](fa), 1) + mse(ds[2](ca), 1) + mse(ds[3](cb), 1)
              + 10 * (F.l1_loss(ca, x) + F.l1_loss(cb, y)) + 5 * (F.l1_loss(gba(x), x) + F.l1_loss(gab(y), y)))
        og.zero_grad()
        lg.backward()
        og.step()
        ld = 0.5 * (mse(ds[0](x), 1) + mse(ds[0](fa.detach()), 0) + mse(ds[1](y), 1) + mse(ds[1](fb.detach()), 0)
                    + mse(ds[2](x), 1) + mse(ds[2](ca.detach()), 0) + mse(ds[3](y), 1) + mse(ds[3](cb.detach()), 0))
        od.zero_grad()
        ld.backward()
        od.step()

    step()
    t = timed(lambda: [step() for _ in range(steps)])
    return steps / t


def ours_vc_steps(cfg, steps, device) -> float:
    import torch

    from avstudio.ml.voice.train import VCTrainer

    tr = VCTrainer(cfg, device)
    batch = lambda: (torch.randn(1, 1, 36, 128, device=device), torch.randn(1, 1, 36, 128, device=device))  # noqa: E731
    tr.step(0, *batch())
    t = timed(lambda: [tr.step(k, *batch()) for k in range(1, steps + 1)])
    return steps / t


def voice_main(media, quick: bool) -> list[tuple]:
    import torch

    from avstudio.ml.device import resolve_device
    from avstudio.ml.voice.convert import convert_mcep
    from avstudio.ml.voice.nets import Generator212
    from avstudio.ml.voice.presets import vc_config

    fs = 16000
    seconds = 20.0 if quick else 90.0
    x = speech(media, seconds, fs)
    dur = len(x) / fs
    rows = []
    for method in ("harvest", "dio"):
        b = timed(lambda: bare_world(x, fs, method))
        o1 = timed(lambda: run_to_end(world.analyze(x, fs, method, workers=1)))
        o2 = timed(lambda: run_to_end(world.analyze(x, fs, method, workers=2)))
        rows.append((f"WORLD analysis, {method} + CheapTrick + D4C, {dur:.0f} s at 16 kHz (RTF)", f"{b / dur:.3f}",
                     f"{o1 / dur:.3f} (1 process) · {o2 / dur:.3f} (2 processes)", f"{b / o2:.2f}× (2 processes)"))
    # Conversion: generator over the whole utterance + WORLD synthesis.
    w = run_to_end(world.analyze(x, fs, "dio"))
    mc = world.encode_sp(w.sp, fs)
    device = resolve_device("auto")
    stats = {"mcep_mean": mc.mean(0), "mcep_std": mc.std(0) + 1e-6}
    for preset in ("vc-preview", "vc"):
        cfg = vc_config(preset)
        g = Generator212(36, cfg["width"]).to(device).eval()

        def plain():
            with torch.no_grad():
                z = torch.from_numpy(((mc - stats["mcep_mean"]) / stats["mcep_std"]).T.astype(np.float32))
                n = z.shape[1] // 4 * 4
                y = g(z[None, None, :, :n].to(device))[0, 0].cpu().numpy().T * stats["mcep_std"] + stats["mcep_mean"]
            world.synthesize(w.f0[:n], world.decode_sp(y, fs), w.ap[:n], fs)

        def ours():
            y = convert_mcep(g, mc, stats, stats, device)
            world.synthesize(w.f0, world.decode_sp(y, fs), w.ap, fs)

        b, o = timed(plain), timed(ours)
        rows.append((f"Conversion ({preset}: G + WORLD synthesis), {dur:.0f} s, {device.type} (RTF)", f"{b / dur:.3f}",
                     f"{o / dur:.3f}", f"{b / o:.2f}×"))
        steps = 3 if quick else (20 if preset == "vc-preview" else 4)
        pb, po = plain_vc_steps(cfg, steps, device), ours_vc_steps(cfg, steps, device)
        rows.append((f"CycleGAN-VC2 training ({preset}), {device.type}, steps/s", f"{pb:.2f}", f"{po:.2f}",
                     f"{po / pb:.2f}×"))
    return rows
