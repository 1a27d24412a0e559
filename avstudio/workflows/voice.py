"""The voice workflow at the project level, as operations: WORLD analysis of a voice clip (its tracks:
F0 + voiced, the analysed F0 kept for Reset, MCEPs, coded aperiodicity), resynthesis of the edited
pitch, F0 CSV import and export, conversion with a trained CycleGAN-VC2 into the "converted" voice
(editable like any other; usable as a soundtrack), and the arguments of voice-model training.

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

from avstudio.analysis.voice import world
from avstudio.core import document, layers, roles
from avstudio.core.edits import CompoundEdit, ReplaceTrack
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.trackfile import read_array_file, write_arrays
from avstudio.core.tracks import AudioTrack, F0Track, FeatureTrack
from avstudio.workflows.operation import Operation, Runs, folder_of, needs_project_folder, needs_saved_project

CONVERTED = roles.CONVERTED
CACHE_VERSION = 1


def voice_path(project: Project, clip: str) -> tuple[object, Path]:
    if clip not in roles.VOICE_CLIPS:
        raise UserError(f"Unknown voice clip {clip!r}: use {', '.join(roles.VOICE_CLIPS)}.")
    ref, path = project.clip_media(clip)
    if not ref.has_audio:
        raise ProjectError(f"The {roles.label(clip)} ({Path(ref.path).name}) has no soundtrack.")
    return ref, path


def voice_tracks(project: Project, clip: str) -> dict[str, object]:
    return {layer: project.find_track(clip, layer) for layer in layers.VOICE_LAYERS}


def require_f0(project: Project, clip: str) -> F0Track:
    return project.require_track(clip, layers.F0)


# ---- WORLD analysis -----------------------------------------------------------------------------

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


def analyse_job(path: str, clip: str, media_id: str, method: str = "harvest", sample_rate: int = 16000,
                cache_folder: str | None = None, cache_key: str = "", n_mcep: int = world.N_MCEP,
                workers: int | None = None) -> Iterator[Progress]:
    """Job: WORLD analysis of a voice recording. Returns a :class:`VoiceAnalysis`; the full spectra go to
    ``cache_folder``/cache/world/<cache_key>.npz when a folder is given."""
    from avstudio.analysis.voice.speech import load_speech

    yield Progress(0, 1, f"Loading {Path(path).name}")
    speech = load_speech(path, sample_rate)
    w = yield from world.analyze(speech.samples, sample_rate, method, workers=workers)
    warnings = list(speech.warnings)
    if not w.voiced.any():
        warnings.append(f"No voiced frame was found in {Path(path).name}: is it speech?")
    cache_file = None
    if cache_folder is not None:
        rel = f"cache/world/{cache_key}.npz"
        write_arrays(Path(cache_folder) / rel, {"sp": w.sp.astype(np.float32), "ap": w.ap.astype(np.float32)})
        cache_file = rel
    return VoiceAnalysis(clip, media_id, method, sample_rate, w.f0.astype(np.float32),
                         world.encode_sp(w.sp, sample_rate, n_mcep).astype(np.float32),
                         world.encode_ap(w.ap, sample_rate).astype(np.float32), cache_file, warnings)


def voice_edit(project: Project, result: VoiceAnalysis) -> CompoundEdit:
    """The edit that puts an analysis into the project (replacing the clip's earlier voice tracks)."""
    meta = {"clip": result.clip, "media_id": result.media_id, "sample_rate": result.sample_rate,
            "frame_period_ms": world.FRAME_PERIOD_MS, "method": result.method}
    if result.cache_file:
        meta["world_cache"] = result.cache_file
    voiced = (result.f0 > 0).astype(np.uint8)
    label = roles.short(result.clip)
    title = f"Analyse {label}" if label.endswith("voice") else f"Analyse {label} voice"
    tracks = [
        F0Track({"f0": result.f0.copy(), "voiced": voiced.copy()}, {**meta, "layer": layers.F0}, name=f"{label} F0"),
        F0Track({"f0": result.f0.copy(), "voiced": voiced.copy()}, {**meta, "layer": layers.F0_ANALYSED},
                name=f"{label} F0 (analysed)"),
        FeatureTrack({"values": result.mcep}, {**meta, "layer": layers.MCEP, "feature": "mcep"}, name=f"{label} MCEP"),
        FeatureTrack({"values": result.ap_coded}, {**meta, "layer": layers.AP, "feature": "coded_aperiodicity"},
                     name=f"{label} aperiodicity"),
    ]
    existing = voice_tracks(project, result.clip)
    for t in tracks:
        old = existing.get(t.meta["layer"])
        if old is not None:
            t.id = old.id
    return CompoundEdit([ReplaceTrack(t, text=title) for t in tracks], title)


def analysis_summary(result: VoiceAnalysis) -> str:
    voiced = result.f0 > 0
    med = float(np.median(result.f0[voiced])) if voiced.any() else 0.0
    seconds = len(result.f0) * world.FRAME_PERIOD_MS / 1000
    lines = [f"Analysed the {roles.label(result.clip)}: {seconds:.2f} s, {voiced.mean():.0%} voiced, median F0 "
             f"{med:.0f} Hz ({result.method}, {result.sample_rate} Hz)."]
    return "\n".join(lines + [f"warning: {w}" for w in result.warnings])


@needs_project_folder
def analyse(project: Project, clip: str, method: str = "harvest", sample_rate: int = 16000,
            workers: int | None = None) -> Operation:
    """WORLD analysis (Harvest or DIO pitch, CheapTrick envelope, D4C aperiodicity) of a voice clip; its
    full-resolution spectra go to the project's cache (resynthesis from them is copy-synthesis quality)."""
    ref, path = voice_path(project, clip)
    folder = str(project.folder) if project.folder is not None else None
    kwargs = dict(method=method, sample_rate=int(sample_rate), cache_folder=folder,
                  cache_key=_cache_key(ref, sample_rate, method), workers=workers)
    return Operation(f"Analyse the {roles.label(clip)}", "avstudio.workflows.voice:analyse_job",
                     (str(path), clip, ref.id), kwargs, runs=Runs.PROCESS,
                     apply=voice_edit, summary=analysis_summary)


# ---- resynthesis --------------------------------------------------------------------------------

def spectra(project: Project, clip: str) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """(sp, ap, fs, full): the cached full-resolution WORLD spectra, or ones decoded from the tracks."""
    f0 = require_f0(project, clip)
    fs = int(f0.meta["sample_rate"])
    rel = f0.meta.get("world_cache")
    if rel and project.folder is not None:
        try:
            p = document.inside(Path(project.folder), rel, f0.name or f0.id, "analysis cache")
            arrays = read_array_file(p, "WORLD analysis cache")
            sp, ap = arrays["sp"].astype(np.float64), arrays["ap"].astype(np.float64)
            if len(sp) == f0.length:
                return sp, ap, fs, True
        except (UserError, KeyError):
            pass  # missing, damaged or out-of-place cache: decode from the tracks below
    tr = voice_tracks(project, clip)
    if tr[layers.MCEP] is None or tr[layers.AP] is None:
        raise ProjectError(f"The {roles.label(clip)}'s spectral tracks are missing: analyse the voice again.",
                           hint=f"analyse_{clip}" if clip in roles.VOICE_CLIPS else None)
    return (world.decode_sp(tr[layers.MCEP].arrays["values"], fs), world.decode_ap(tr[layers.AP].arrays["values"], fs),
            fs, False)


def effective_f0(track: F0Track) -> np.ndarray:
    return np.where(track.arrays["voiced"] > 0, track.arrays["f0"], 0.0).astype(np.float64)


def resynthesize_job(project: Project, clip: str, out: str | Path | None = None) -> Iterator[Progress]:
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
            raise UserError("Save the project first: resynthesized audio is stored in its folder.", hint="save")
        key = hashlib.sha1(f0.tobytes() + f"{fs}|{full}".encode() + str(track.meta.get("world_cache")).encode())
        out = Path(project.folder) / "cache" / "audio" / f"resynth-{clip}-{key.hexdigest()[:12]}.wav"
    path = write_audio(out, Audio(y, fs))
    yield Progress(2, 2, f"Resynthesized {len(y) / fs:.1f} s")
    return {"path": str(path), "full_spectra": full}


def resynthesize(project: Project, clip: str, out: str | None = None) -> Operation:
    """The clip's (edited) pitch through WORLD, to a WAV file."""
    def summary(r):
        return f"Wrote {r['path']}" + ("" if r["full_spectra"] else " (spectra decoded from the MCEP track: the "
                                                                    "analysis cache was missing)")
    return Operation(f"Resynthesize the {roles.label(clip)}", "avstudio.workflows.voice:resynthesize_job",
                     (project, clip, out), summary=summary)


def voice_audio_job(project: Project, clip: str | None, version: str, original_path: str | None):
    """Job: the Audio of one version of a voice clip — "original" (its recording), "resynth" (its edited
    pitch through WORLD), "converted", or "file" (``original_path`` itself, e.g. a training sample)."""
    from avstudio.media.audio import load_audio

    if version in ("file", "original"):
        if original_path is None:
            raise UserError("This voice has no recording of its own (it is a conversion): play B or C.")
        yield Progress(0, 1, "Loading the recording")
        return load_audio(original_path)
    res = yield from resynthesize_job(project, CONVERTED if version == "converted" else clip)
    return load_audio(res["path"])


def audio_track_edit(project: Project, clip: str, layer: str, path: str, name: str) -> ReplaceTrack:
    """Register a rendered audio file (resynthesis, conversion) as a track of the project."""
    file = str(path)
    if project.folder is not None:
        try:
            file = str(Path(path).resolve().relative_to(Path(project.folder).resolve()))
        except ValueError:
            pass
    track = AudioTrack({}, {"clip": clip, "layer": layer, "file": file}, name=name)
    old = project.find_track(clip, layer)
    if old is not None:
        track.id = old.id
    return ReplaceTrack(track, text=name)


# ---- F0 as CSV ----------------------------------------------------------------------------------

def export_f0_job(track: F0Track, path: str) -> Iterator[Progress]:
    from avstudio.analysis.voice.f0_io import export_f0_csv

    yield Progress(0, None, f"Writing {Path(path).name}")
    return str(export_f0_csv(track, path))


def export_f0(project: Project, clip: str, path: str) -> Operation:
    """The clip's pitch curve as CSV (time_s, f0_hz, voiced)."""
    from avstudio.core.files import check_output_path

    check_output_path(path, "pitch curve")
    return Operation(f"Export the {roles.label(clip)}'s pitch", "avstudio.workflows.voice:export_f0_job",
                     (require_f0(project, clip).copy(), str(path)), summary=lambda p: f"Wrote {p}")


def import_f0_job(track: F0Track, path: str) -> Iterator[Progress]:
    from avstudio.analysis.voice.f0_io import f0_from_csv

    yield Progress(0, None, f"Reading {Path(path).name}")
    return f0_from_csv(track, path)


def import_f0(project: Project, clip: str, path: str) -> Operation:
    """Set the clip's pitch where a CSV (time_s, f0_hz, voiced) says (one undo step)."""
    from avstudio.editing.pitch import set_frames

    track = require_f0(project, clip)
    return Operation(f"Import pitch into the {roles.label(clip)}", "avstudio.workflows.voice:import_f0_job",
                     (track.copy(), str(path)), apply=lambda p, r: set_frames(p, track.id, *r),
                     summary=lambda r: f"Set {len(r[0])} of {track.length} frames from {path}")


# ---- conversion ---------------------------------------------------------------------------------

def convert_job(project_path: str, model_id: str, clip: str = roles.SOURCE_VOICE, device: str = "auto",
                reverse: bool = False) -> Iterator[Progress]:
    """Job: convert the clip's voice with the model. Returns (VoiceAnalysis of the converted voice,
    path of its audio); apply with :func:`conversion_edit`."""
    from avstudio.core.store import load_project
    from avstudio.media.audio import Audio, write_audio
    from avstudio.ml.voice.convert import convert_arrays

    project = load_project(project_path)
    f0_track = require_f0(project, clip)
    tr = voice_tracks(project, clip)
    if tr[layers.MCEP] is None or tr[layers.AP] is None:
        raise ProjectError(f"The {roles.label(clip)}'s spectral tracks are missing: analyse the voice again.",
                           hint=f"analyse_{clip}")
    sp, ap_full, fs, full = spectra(project, clip)
    conv = yield from convert_arrays(project_path, model_id, effective_f0(f0_track), tr[layers.MCEP].arrays["values"],
                                     tr[layers.AP].arrays["values"], ap_full if full else None, device, reverse)
    if conv.sample_rate != fs:
        raise UserError(f"The voice was analysed at {fs} Hz but the model works at {conv.sample_rate} Hz: analyse the "
                        f"voice again at {conv.sample_rate} Hz.", hint=f"analyse_{clip}")
    key = hashlib.sha1(f"{model_id}|{f0_track.id}".encode() + effective_f0(f0_track).tobytes()).hexdigest()[:12]
    folder = Path(project_path)
    rel_cache = f"cache/world/converted-{key}.npz"
    write_arrays(folder / rel_cache, {"sp": world.decode_sp(conv.mcep, fs).astype(np.float32),
                                      "ap": ap_full.astype(np.float32)})
    wav = write_audio(folder / "cache" / "audio" / f"converted-{key}.wav", Audio(conv.samples, fs))
    result = VoiceAnalysis(CONVERTED, f0_track.meta.get("media_id", ""), f"converted:{model_id}", fs, conv.f0,
                           conv.mcep, conv.ap_coded, rel_cache, conv.warnings)
    return result, str(wav)


def conversion_edit(project: Project, result: VoiceAnalysis, wav: str) -> CompoundEdit:
    edit = voice_edit(project, result)
    edit.edits.append(audio_track_edit(project, CONVERTED, layers.AUDIO, wav, "converted voice"))
    edit.text = "Convert voice"
    return edit


@needs_saved_project
def convert(project: Project, model_id: str, clip: str = roles.SOURCE_VOICE, device: str = "auto",
            reverse: bool = False) -> Operation:
    """The clip's (edited) voice through a voice model: the project's converted voice, its pitch editable."""
    require_f0(project, clip)
    return Operation(f"Convert the {roles.label(clip)} ({model_id})", "avstudio.workflows.voice:convert_job",
                     (folder_of(project), model_id, clip, device, reverse), runs=Runs.PROCESS,
                     apply=lambda p, r: conversion_edit(p, *r),
                     summary=lambda r: f"Converted the {roles.label(clip)}: {r[1]}")


def convert_file(project: Project, model_id: str, path: str, out: str, device: str = "auto",
                 reverse: bool = False) -> Operation:
    """Any recording of the source speaker through a voice model, to a sound file (WAV, FLAC, Ogg Vorbis or
    MP3, by its extension; the project is unchanged)."""
    from avstudio.media.audio import check_audio_output

    check_audio_output(out)  # before the conversion, not after it
    return Operation(f"Convert {Path(path).name}", "avstudio.ml.voice.convert:convert_file",
                     (folder_of(project), model_id, str(path), str(out), device, reverse), runs=Runs.PROCESS,
                     summary=lambda r: f"Wrote {r['out']} ({r['seconds']:.1f} s)")


def converted_audio(project: Project) -> Iterator[Progress]:
    """Job: the converted voice's audio as it stands (resynthesized when its F0 was edited since the
    conversion). Returns the WAV path."""
    if project.find_track(CONVERTED, layers.F0) is None:
        raise ProjectError("The project has no converted voice yet: train a voice model and convert the source "
                           "voice first.", hint="convert_voice")
    res = yield from resynthesize_job(project, CONVERTED)
    return res["path"]


# ---- training -----------------------------------------------------------------------------------

MODEL_NOUN = "Voice model"  # what the summary of a training run calls a model of this kind


def _pitch_and_speaker(scores: dict, sim: dict | None, which: str) -> str:
    off = scores.get("mean_offset_semitones")
    text = f"pitch {off:+.2f} semitones from the target speaker's mean" if off is not None else "no voiced frames"
    if sim:
        text += f" · speaker similarity {sim[which]:.2f}"
    return text


def score_line(m: dict) -> str:
    """A checkpoint's scores (ml.voice.evaluate): the converted speech against the target speaker."""
    return f"step {m['step']}: converted " + _pitch_and_speaker(m["converted"], m.get("speaker_similarity"),
                                                                "converted_vs_target")


def baseline_line(m: dict) -> str:
    return "Unconverted source (baseline): " + _pitch_and_speaker(m["baseline_unconverted"],
                                                                  m.get("speaker_similarity"), "unconverted_vs_target")


def speaker_sources(project: Project, given, role: str) -> list[str]:
    """A speaker's training recordings: files or folders given, else the project's voice of ``role``."""
    if given:
        return [str(g) for g in given]
    ref = project.media_by_role(role)
    if ref is None:
        who = role.split("_")[0]
        raise ProjectError(f"Give the {who} speaker's recordings or add a {roles.label(role)} to the project.",
                           hint=f"set_{role}")
    return [str(project.media_path(ref.id))]


def train_kwargs(project: Project, request) -> dict:
    """Arguments of ml.voice.train (a resumed run reads its recordings from its checkpoint)."""
    opts = request.options
    resume = request.resume
    return dict(project_path=folder_of(project),
                source=[] if resume else speaker_sources(project, opts.get("source"), roles.SOURCE_VOICE),
                target=[] if resume else speaker_sources(project, opts.get("target"), roles.TARGET_VOICE),
                preset=request.preset, steps=request.steps, model_id=request.model_id, resume=resume,
                device=request.device, seed=request.seed, f0_method=opts.get("f0_method"))
