"""Voice conversion inside a project: the source voice's (edited) features → the "converted" voice
clip — its F0 (editable like any other), MCEPs, aperiodicity and audio — usable as the soundtrack
of the rendered video."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis.voice_ops import (VoiceAnalysis, audio_track_edit, effective_f0, require_f0, resynthesize,
                                         spectra, voice_edit, voice_tracks)
from avstudio.core.edits import CompoundEdit
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.store import load_project
from avstudio.media.audio import Audio, write_audio
from avstudio.ml.vc.convert import convert_arrays

CONVERTED = "converted"


def convert_project(project_path: str, model_id: str, clip: str = "source_voice", device: str = "auto",
                    reverse: bool = False) -> Iterator[Progress]:
    """Job: convert the clip's voice with the model. Returns (VoiceAnalysis of the converted voice,
    path of its audio); apply with :func:`conversion_edit`."""
    project = load_project(project_path)
    f0_track = require_f0(project, clip)
    tr = voice_tracks(project, clip)
    if tr["mcep"] is None or tr["ap"] is None:
        raise ProjectError(f"The {clip.replace('_', ' ')}'s spectral tracks are missing: analyse the voice again.")
    sp, ap_full, fs, full = spectra(project, clip)
    conv = yield from convert_arrays(project_path, model_id, effective_f0(f0_track), tr["mcep"].arrays["values"],
                                     tr["ap"].arrays["values"], ap_full if full else None, device, reverse)
    if conv.sample_rate != fs:
        raise UserError(f"The voice was analysed at {fs} Hz but the model works at {conv.sample_rate} Hz: analyse the "
                        f"voice again at {conv.sample_rate} Hz.")
    from avstudio.analysis import world

    key = hashlib.sha1(f"{model_id}|{f0_track.id}".encode() + effective_f0(f0_track).tobytes()).hexdigest()[:12]
    folder = Path(project_path)
    rel_cache = f"cache/world/converted-{key}.npz"
    (folder / "cache" / "world").mkdir(parents=True, exist_ok=True)
    tmp = folder / "cache" / "world" / f".tmp-{key}.npz"
    np.savez(tmp, sp=world.decode_sp(conv.mcep, fs).astype(np.float32), ap=ap_full.astype(np.float32))
    tmp.replace(folder / rel_cache)
    wav = write_audio(folder / "cache" / "audio" / f"converted-{key}.wav", Audio(conv.samples, fs))
    result = VoiceAnalysis(CONVERTED, f0_track.meta.get("media_id", ""), f"converted:{model_id}", fs, conv.f0,
                           conv.mcep, conv.ap_coded, rel_cache, conv.warnings)
    return result, str(wav)


def conversion_edit(project: Project, result: VoiceAnalysis, wav: str) -> CompoundEdit:
    edit = voice_edit(project, result)
    edit.edits.append(audio_track_edit(project, CONVERTED, "audio", wav, "converted voice"))
    edit.text = "Convert voice"
    return edit


def converted_audio(project_path: str) -> Iterator[Progress]:
    """Job: the converted voice's audio as it stands (resynthesized when its F0 was edited since the
    conversion). Returns the WAV path."""
    project = load_project(project_path)
    if voice_tracks(project, CONVERTED)["f0"] is None:
        raise ProjectError("The project has no converted voice yet: train a voice model and convert (Voice ▸ Convert).")
    res = yield from resynthesize(project, CONVERTED)
    return res["path"]
