"""Voice analysis at the project level: which audio a voice clip is, WORLD analysis as a job, the
tracks it makes (F0 + voiced, the analysed F0 kept for "reset", MCEPs, coded aperiodicity), and
resynthesis of the (edited) F0 through WORLD.

The full-resolution spectral envelope and aperiodicity are kept in the project's cache
(cache/world/<key>.npz): resynthesis from them is WORLD copy-synthesis quality. Without the cache
(deleted, or the project moved without it) they are decoded from the MCEP and aperiodicity tracks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis import world
from avstudio.analysis.project_ops import find_track
from avstudio.analysis.voice import load_speech
from avstudio.core.edits import CompoundEdit, ReplaceTrack
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import AudioTrack, F0Track, FeatureTrack

VOICE_CLIPS = ("source_voice", "target_voice", "source", "target")  # source/target: the video's soundtrack
LAYERS = ("f0", "f0-analysed", "mcep", "ap")
CACHE_VERSION = 1


def voice_path(project: Project, clip: str) -> tuple[object, Path]:
    if clip not in VOICE_CLIPS:
        raise UserError(f"Unknown voice clip {clip!r}: use {', '.join(VOICE_CLIPS)}.")
    ref = project.media_by_role(clip)
    if ref is None:
        raise ProjectError(f"The project has no {clip.replace('_', ' ')}.")
    if not ref.probe.get("audio"):
        raise ProjectError(f"The {clip.replace('_', ' ')} ({Path(ref.path).name}) has no soundtrack.")
    return ref, project.media_path(ref.id)


def voice_tracks(project: Project, clip: str) -> dict[str, object]:
    return {layer: find_track(project, clip, layer) for layer in LAYERS}


def require_f0(project: Project, clip: str) -> F0Track:
    t = find_track(project, clip, "f0")
    if t is None:
        raise ProjectError(f"The {clip.replace('_', ' ')} has no F0 curve yet. Run `avstudio voice analyze` "
                           "(or Voice ▸ Analyse) first.")
    return t


@dataclass
class VoiceAnalysis:
    clip: str
    media_id: str
    method: str
    sample_rate: int
    f0: np.ndarray
    mcep: np.ndarray
    ap_coded: np.ndarray
    cache_file: str | None
    warnings: list[str] = field(default_factory=list)


def _cache_key(ref, fs: int, method: str) -> str:
    return hashlib.sha1(f"{ref.fingerprint}|{fs}|{method}|{CACHE_VERSION}".encode()).hexdigest()[:16]


def analyze_voice(project: Project, clip: str, method: str = "harvest", sample_rate: int = 16000,
                  n_mcep: int = world.N_MCEP, workers: int | None = None) -> Iterator[Progress]:
    """Job: WORLD analysis of a voice clip. Returns a :class:`VoiceAnalysis` (apply it with
    :func:`voice_edit` on the thread that owns the project)."""
    ref, path = voice_path(project, clip)
    yield Progress(0, 1, f"Loading {Path(path).name}")
    speech = load_speech(path, sample_rate)
    w = yield from world.analyze(speech.samples, sample_rate, method, workers=workers)
    warnings = list(speech.warnings)
    if not w.voiced.any():
        warnings.append(f"No voiced frame was found in {Path(path).name}: is it speech?")
    cache_file = None
    if project.folder is not None:
        key = _cache_key(ref, sample_rate, method)
        rel = f"cache/world/{key}.npz"
        target = Path(project.folder) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{key}.npz")
        np.savez(tmp, sp=w.sp.astype(np.float32), ap=w.ap.astype(np.float32))
        tmp.replace(target)
        cache_file = rel
    return VoiceAnalysis(clip, ref.id, method, sample_rate, w.f0.astype(np.float32),
                         world.encode_sp(w.sp, sample_rate, n_mcep).astype(np.float32),
                         world.encode_ap(w.ap, sample_rate).astype(np.float32), cache_file, warnings)


def voice_edit(project: Project, result: VoiceAnalysis) -> CompoundEdit:
    """The edit that puts an analysis into the project (replacing the clip's earlier voice tracks)."""
    meta = {"clip": result.clip, "media_id": result.media_id, "sample_rate": result.sample_rate,
            "frame_period_ms": world.FRAME_PERIOD_MS, "method": result.method}
    if result.cache_file:
        meta["world_cache"] = result.cache_file
    voiced = (result.f0 > 0).astype(np.uint8)
    label = result.clip.replace("_", " ")
    title = f"Analyse {label}" if label.endswith("voice") else f"Analyse {label} voice"
    tracks = [
        F0Track({"f0": result.f0.copy(), "voiced": voiced.copy()}, {**meta, "layer": "f0"}, name=f"{label} F0"),
        F0Track({"f0": result.f0.copy(), "voiced": voiced.copy()}, {**meta, "layer": "f0-analysed"},
                name=f"{label} F0 (analysed)"),
        FeatureTrack({"values": result.mcep}, {**meta, "layer": "mcep", "feature": "mcep"}, name=f"{label} MCEP"),
        FeatureTrack({"values": result.ap_coded}, {**meta, "layer": "ap", "feature": "coded_aperiodicity"},
                     name=f"{label} aperiodicity"),
    ]
    existing = voice_tracks(project, result.clip)
    for t in tracks:
        old = existing.get(t.meta["layer"])
        if old is not None:
            t.id = old.id
    return CompoundEdit([ReplaceTrack(t, text=title) for t in tracks], title)


def spectra(project: Project, clip: str) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """(sp, ap, fs, full): the cached full-resolution WORLD spectra, or ones decoded from the tracks."""
    f0 = require_f0(project, clip)
    fs = int(f0.meta["sample_rate"])
    rel = f0.meta.get("world_cache")
    if rel and project.folder is not None:
        p = Path(project.folder) / rel
        try:
            with np.load(p, allow_pickle=False) as z:
                sp, ap = z["sp"].astype(np.float64), z["ap"].astype(np.float64)
            if len(sp) == f0.length:
                return sp, ap, fs, True
        except (OSError, KeyError, ValueError):
            pass  # missing or damaged cache: decode from the tracks below
    tr = voice_tracks(project, clip)
    if tr["mcep"] is None or tr["ap"] is None:
        raise ProjectError(f"The {clip.replace('_', ' ')}'s spectral tracks are missing: analyse the voice again.")
    return (world.decode_sp(tr["mcep"].arrays["values"], fs), world.decode_ap(tr["ap"].arrays["values"], fs), fs,
            False)


def effective_f0(track: F0Track) -> np.ndarray:
    return np.where(track.arrays["voiced"] > 0, track.arrays["f0"], 0.0).astype(np.float64)


def resynthesize(project: Project, clip: str, out: str | Path | None = None) -> Iterator[Progress]:
    """Job: WORLD synthesis of the clip's (edited) F0 with its analysed spectra → a WAV file
    (``out``, or the project's cache/audio/ keyed by the curve). Returns {"path", "full_spectra"}."""
    from avstudio.media.audio import Audio, write_audio

    track = require_f0(project, clip)
    f0 = effective_f0(track)
    yield Progress(0, 2, "Preparing the spectra")
    sp, ap, fs, full = spectra(project, clip)
    yield Progress(1, 2, "WORLD synthesis")
    y = world.synthesize(f0, sp, ap, fs)
    if out is None:
        if project.folder is None:
            raise UserError("Save the project first: resynthesized audio is stored in its folder.")
        key = hashlib.sha1(f0.tobytes() + f"{fs}|{full}".encode() + str(track.meta.get("world_cache")).encode())
        out = Path(project.folder) / "cache" / "audio" / f"resynth-{clip}-{key.hexdigest()[:12]}.wav"
    path = write_audio(out, Audio(y, fs))
    yield Progress(2, 2, f"Resynthesized {len(y) / fs:.1f} s")
    return {"path": str(path), "full_spectra": full}


def audio_track_edit(project: Project, clip: str, layer: str, path: str, name: str) -> ReplaceTrack:
    """Register a rendered audio file (resynthesis, conversion) as a track of the project."""
    file = str(path)
    if project.folder is not None:
        try:
            file = str(Path(path).resolve().relative_to(Path(project.folder).resolve()))
        except ValueError:
            pass
    track = AudioTrack({}, {"clip": clip, "layer": layer, "file": file}, name=name)
    old = find_track(project, clip, layer)
    if old is not None:
        track.id = old.id
    return ReplaceTrack(track, text=name)
