"""Voice conversion with a trained CycleGAN-VC2: MCEPs through the generator, F0 by the
log-Gaussian normalized transform onto the target speaker, aperiodicity copied, WORLD synthesis."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from avstudio.analysis.voice import world
from avstudio.retarget.pitch import convert_f0
from avstudio.core.errors import UserError
from avstudio.core.models import VOICE
from avstudio.core.progress import Progress
from avstudio.ml import checkpoint as ck
from avstudio.ml.device import autocast, resolve_device
from avstudio.ml.voice.nets import Generator212, checkpoint_nets

CHUNK = 2048     # frames per generator call (10 s); longer audio is converted in overlapping chunks
OVERLAP = 64


def load_voice_model(project_path: str | Path, model_id: str, device, reverse: bool = False,
                     checkpoint: str | None = None):
    """(checkpoint document, generator) of a voice model's newest checkpoint (or ``checkpoint``);
    ``reverse`` gives target → source."""
    doc, tensors = ck.load_model(project_path, model_id, VOICE, checkpoint_nets, checkpoint)
    cfg = doc["config"]
    g = Generator212(cfg["n_mcep"], cfg["width"])
    name = "G_BA" if reverse else "G_AB"
    ck.load_module(name, g, tensors, doc["path"])
    g.to(device).eval()
    return doc, g


@torch.no_grad()
def convert_mcep(g: Generator212, mcep: np.ndarray, src: dict, tgt: dict, device) -> np.ndarray:
    """(N, D) MCEPs of the source speaker → the target's, normalized with each speaker's statistics."""
    mean_s, std_s = np.asarray(src["mcep_mean"]), np.asarray(src["mcep_std"])
    mean_t, std_t = np.asarray(tgt["mcep_mean"]), np.asarray(tgt["mcep_std"])
    z = ((mcep - mean_s) / std_s).T.astype(np.float32)  # (D, N)
    n = z.shape[1]
    out = np.zeros_like(z)
    weight = np.zeros(n, np.float32)
    step = CHUNK - OVERLAP
    for a in range(0, max(1, n), step):
        b = min(n, a + CHUNK)
        seg = z[:, a:b]
        pad = (-seg.shape[1]) % 4 + (4 if seg.shape[1] < 4 else 0)
        x = torch.from_numpy(np.pad(seg, ((0, 0), (0, pad)), mode="edge"))[None, None].to(device)
        with autocast(device if isinstance(device, torch.device) else torch.device(device)):
            y = g(x).float()[0, 0, :, :seg.shape[1]].cpu().numpy()
        # Cross-fade overlapping chunks linearly.
        w = np.ones(b - a, np.float32)
        if a > 0:
            ramp = min(OVERLAP, b - a)
            w[:ramp] = np.linspace(0, 1, ramp + 2)[1:-1]
        out[:, a:b] += y * w
        weight[a:b] += w
        if b >= n:
            break
    out /= np.maximum(weight, 1e-6)
    return (out.T * std_t + mean_t).astype(np.float64)


def convert_features(g, f0, mcep, ap_coded, src: dict, tgt: dict, fs: int, device, ap_full=None) -> np.ndarray:
    """Converted waveform (float32) from the source's WORLD features."""
    mc = convert_mcep(g, np.asarray(mcep, np.float64), src, tgt, device)
    f0c = convert_f0(f0, (src["logf0_mean"], src["logf0_std"]), (tgt["logf0_mean"], tgt["logf0_std"]))
    ap = ap_full if ap_full is not None else world.decode_ap(ap_coded, fs)
    return world.synthesize(f0c, world.decode_sp(mc, fs), ap, fs)


@dataclass
class Conversion:
    model_id: str
    sample_rate: int
    f0: np.ndarray          # converted F0 (editable)
    mcep: np.ndarray        # converted MCEPs
    ap_coded: np.ndarray
    samples: np.ndarray     # converted audio
    stats: dict             # both speakers' statistics
    warnings: list[str] = field(default_factory=list)


def convert_arrays(project_path: str, model_id: str, f0: np.ndarray, mcep: np.ndarray, ap_coded: np.ndarray,
                   ap_full: np.ndarray | None = None, device: str = "auto", reverse: bool = False,
                   checkpoint: str | None = None) -> Iterator[Progress]:
    """Job: convert WORLD features (5 ms grid at the model's rate). Returns :class:`Conversion`."""
    dev = resolve_device(device)
    yield Progress(0, 3, "Loading the voice model")
    doc, g = load_voice_model(project_path, model_id, dev, reverse, checkpoint)
    cfg, stats = doc["config"], doc["stats"]
    src, tgt = (stats["target"], stats["source"]) if reverse else (stats["source"], stats["target"])
    if mcep.shape[1] != cfg["n_mcep"]:
        raise UserError(f"The audio was analysed with {mcep.shape[1]} MCEPs, the model uses {cfg['n_mcep']}: analyse "
                        "it again.")
    yield Progress(1, 3, "Converting the spectral envelope")
    mc = convert_mcep(g, mcep.astype(np.float64), src, tgt, dev)
    f0c = convert_f0(f0, (src["logf0_mean"], src["logf0_std"]), (tgt["logf0_mean"], tgt["logf0_std"]))
    fs = int(cfg["sample_rate"])
    yield Progress(2, 3, "WORLD synthesis")
    ap = ap_full if ap_full is not None and len(ap_full) == len(f0) else world.decode_ap(ap_coded, fs)
    y = world.synthesize(f0c, world.decode_sp(mc, fs), ap, fs)
    yield Progress(3, 3, f"Converted {len(y) / fs:.1f} s")
    return Conversion(model_id, fs, f0c.astype(np.float32), mc.astype(np.float32), ap_coded.astype(np.float32), y,
                      {"source": src, "target": tgt})


def convert_file(project_path: str, model_id: str, path: str, out: str, device: str = "auto",
                 reverse: bool = False) -> Iterator[Progress]:
    """Job: convert any recording of the source speaker to a WAV file. Returns {"out", "seconds"}."""
    from avstudio.analysis.voice.speech import load_speech
    from avstudio.media.audio import Audio, write_audio

    doc = ck.read_model(project_path, model_id, VOICE)
    fs = int(doc["config"]["sample_rate"])
    speech = load_speech(path, fs)
    w = yield from world.analyze(speech.samples, fs, doc["config"].get("f0_method", "harvest"))
    conv = yield from convert_arrays(project_path, model_id, w.f0, world.encode_sp(w.sp, fs, doc["config"]["n_mcep"]),
                                     world.encode_ap(w.ap, fs), w.ap, device, reverse)
    write_audio(out, Audio(conv.samples, fs))
    return {"out": str(out), "seconds": len(conv.samples) / fs, "warnings": speech.warnings}
