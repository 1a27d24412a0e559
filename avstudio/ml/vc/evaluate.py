"""Scoring a voice model: convert a recording of the source speaker, analyse the result again with
WORLD and compare — log-F0 mean/std against the target speaker's statistics always; MCD (DTW) and
F0 RMSE/correlation when a parallel recording of the target speaker saying the same is given. The
unconverted source is scored the same way as the baseline. Written to the checkpoint's metrics.json.

Speaker similarity (a speaker-encoder embedding cosine) is not computed yet. Checked: Resemblyzer
0.1.4's wheel does carry its GE2E encoder (resemblyzer/pretrained.pt, 17 MB) and works offline, but
as a torch pickle (readable with torch.load(weights_only=True)) and with webrtcvad as a compiled
dependency; wiring it in is open work. SpeechBrain and pyannote download their weights at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis import world
from avstudio.analysis.voice import load_speech, speech_files
from avstudio.analysis.voice_metrics import f0_errors, log_f0_report, mcd
from avstudio.core.atomic import atomic_write_json
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.ml import checkpoint as ck
from avstudio.ml.vc.convert import convert_arrays


def _features(x: np.ndarray, fs: int, n_mcep: int, method: str) -> Iterator[Progress]:
    w = yield from world.analyze(np.asarray(x, np.float64), fs, method)
    return w.f0, world.encode_sp(w.sp, fs, n_mcep), w


def evaluate_voice(project_path: str, model_id: str, source: str | None = None, reference: str | None = None,
                   device: str = "auto") -> Iterator[Progress]:
    """Job: metrics of the model's latest checkpoint. ``source``: a recording of the source speaker
    (default: the first training recording); ``reference``: the target speaker saying the same."""
    doc, _ = ck.load_checkpoint(Path(project_path) / "models" / model_id)
    cfg = doc["config"]
    if cfg.get("kind") != "cyclegan-vc2":
        raise UserError(f"Model {model_id} is not a voice model.")
    fs, n_mcep, method = int(cfg["sample_rate"]), int(cfg["n_mcep"]), cfg.get("f0_method", "harvest")
    if source is None:
        first = doc.get("sources", {}).get("source", [])
        if not first:
            raise UserError("Say which recording of the source speaker to convert (--source).")
        source = str(speech_files(first[0])[0])
    yield Progress(0, 4, f"Analysing {Path(source).name}")
    speech = load_speech(source, fs)
    f0, mc, w = yield from _features(speech.samples, fs, n_mcep, method)
    conv = yield from convert_arrays(project_path, model_id, f0, mc, world.encode_ap(w.ap, fs), w.ap, device)
    yield Progress(2, 4, "Analysing the converted speech")
    cf0, cmc, _ = yield from _features(conv.samples, fs, n_mcep, method)
    tgt = (conv.stats["target"]["logf0_mean"], conv.stats["target"]["logf0_std"])
    metrics = {"step": doc["step"], "source": str(source), "reference": reference,
               "converted": log_f0_report(cf0, tgt), "baseline_unconverted": log_f0_report(f0, tgt),
               "speaker_similarity": None,
               "speaker_similarity_note": "not computed (see avstudio/ml/vc/evaluate.py)"}
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
