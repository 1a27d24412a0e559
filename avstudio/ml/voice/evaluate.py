"""Scoring a voice model: convert a recording of the source speaker, analyse the result again with
WORLD and compare — log-F0 mean/std against the target speaker's statistics always; MCD (DTW) and
F0 RMSE/correlation when a parallel recording of the target speaker saying the same is given. The
unconverted source is scored the same way as the baseline. Written to the checkpoint's metrics.json.

Speaker similarity: cosine of GE2E speaker embeddings (avstudio/ml/vc/speaker.py, the encoder whose
weights ship in Resemblyzer's wheel), converted speech against the target speaker's recordings, and
the unconverted source the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis.voice import world
from avstudio.analysis.voice.speech import load_speech, speech_files
from avstudio.analysis.metrics.voice import f0_errors, log_f0_report, mcd
from avstudio.core.atomic import atomic_write_json
from avstudio.core.errors import UserError
from avstudio.core.models import VOICE
from avstudio.core.progress import Progress
from avstudio.ml import checkpoint as ck
from avstudio.ml.voice.convert import convert_arrays


def _features(x: np.ndarray, fs: int, n_mcep: int, method: str) -> Iterator[Progress]:
    w = yield from world.analyze(np.asarray(x, np.float64), fs, method)
    return w.f0, world.encode_sp(w.sp, fs, n_mcep), w


def _speaker_similarity(doc: dict, converted: np.ndarray, source: np.ndarray, fs: int, most: int = 5) -> dict | None:
    """GE2E cosine similarity to the target speaker (mean embedding of up to ``most`` of its training
    recordings), for the converted speech and for the unconverted source."""
    from avstudio.ml.voice import speaker

    if speaker.weights_path() is None:
        return None
    files = [f for s in doc.get("sources", {}).get("target", []) for f in speech_files(s)][:most]
    if not files:
        return None
    def at16k(x):
        import librosa
        return x if fs == speaker.RATE else librosa.resample(np.asarray(x, np.float32), orig_sr=fs, target_sr=speaker.RATE)
    target = np.mean([speaker.embed(load_speech(f, speaker.RATE).samples) for f in files], axis=0)
    target /= max(np.linalg.norm(target), 1e-9)
    return {"converted_vs_target": float(np.dot(speaker.embed(at16k(converted)), target)),
            "unconverted_vs_target": float(np.dot(speaker.embed(at16k(source)), target)),
            "target_files": len(files)}


def evaluate_voice(project_path: str, model_id: str, source: str | None = None, reference: str | None = None,
                   device: str = "auto", checkpoint: str | None = None) -> Iterator[Progress]:
    """Job: metrics of the model's latest checkpoint (or ``checkpoint``, a folder of that model).
    ``source``: a recording of the source speaker (default: the first training recording);
    ``reference``: the target speaker saying the same."""
    doc = ck.read_model(project_path, model_id, VOICE, checkpoint)
    cfg = doc["config"]
    fs, n_mcep, method = int(cfg["sample_rate"]), int(cfg["n_mcep"]), cfg.get("f0_method", "harvest")
    if source is None:
        first = doc.get("sources", {}).get("source", [])
        if not first:
            raise UserError("Say which recording of the source speaker to convert (--source).")
        source = str(speech_files(first[0])[0])
    yield Progress(0, 4, f"Analysing {Path(source).name}")
    speech = load_speech(source, fs)
    f0, mc, w = yield from _features(speech.samples, fs, n_mcep, method)
    conv = yield from convert_arrays(project_path, model_id, f0, mc, world.encode_ap(w.ap, fs), w.ap, device,
                                     checkpoint=doc["path"])
    yield Progress(2, 4, "Analysing the converted speech")
    cf0, cmc, _ = yield from _features(conv.samples, fs, n_mcep, method)
    tgt = (conv.stats["target"]["logf0_mean"], conv.stats["target"]["logf0_std"])
    metrics = {"step": doc["step"], "source": str(source), "reference": reference,
               "converted": log_f0_report(cf0, tgt), "baseline_unconverted": log_f0_report(f0, tgt),
               "speaker_similarity": None}
    yield Progress(2, 4, "Speaker similarity")
    metrics["speaker_similarity"] = _speaker_similarity(doc, conv.samples, speech.samples, fs)
    if reference:
        yield Progress(3, 4, f"Comparing with {Path(reference).name}")
        ref = load_speech(reference, fs)
        rf0, rmc, _ = yield from _features(ref.samples, fs, n_mcep, method)
        metrics["converted"].update(mcd_db=mcd(rmc, cmc), **f0_errors(rf0, cf0, rmc, cmc))
        metrics["baseline_unconverted"].update(mcd_db=mcd(rmc, mc), **f0_errors(rf0, f0, rmc, mc))
    atomic_write_json(Path(doc["path"]) / "metrics.json", metrics)
    c = metrics["converted"]
    off = c["mean_offset_semitones"]
    yield Progress(4, 4, "Converted log-F0 mean " + (f"{off:+.2f} semitones from the target's" if off is not None
                                                     else "undefined (no voiced frames)"), data=metrics)
    return metrics
