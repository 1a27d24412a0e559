"""Speech for lip sync, as operations: analysing the sound of a clip (features, voice activity, words
and phones aligned to a transcript or recognized, visemes — one undo step, the viseme blocks the user
touched kept), driving the target's face from it with the viseme model, and every edit of the viseme
row, which re-drives the frames it changes in the same undo step."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core import layers, roles
from avstudio.core.edits import CompoundEdit, ReplaceTrack
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import CurveTrack, FeatureTrack, Flag, SegmentTrack
from avstudio.workflows.operation import Operation, Runs

SPEECH_CLIPS = roles.VOICE_CLIPS + (roles.CONVERTED,)   # every clip with a voice
DRIVER = "speech"
VISEME_FRAMES = "viseme_frames"   # project setting: {viseme: target frame} the user picked
SPEECH_CURVES = ["loudness_db", "speech_prob"]
DEFAULT_FPS = Fraction(25)


def speech_file(project: Project, clip: str) -> tuple[str | None, Path]:
    """(media id or None, the sound file) of a clip with a voice."""
    if clip not in SPEECH_CLIPS:
        raise UserError(f"Unknown clip {clip!r}: speech comes from {', '.join(SPEECH_CLIPS)}.")
    if clip == roles.CONVERTED:
        track = project.find_track(roles.CONVERTED, layers.AUDIO)
        if track is None or project.folder is None:
            raise ProjectError("The project has no converted voice yet: train a voice model and convert the "
                               "source voice first.", hint="convert_voice")
        return None, Path(project.folder) / track.meta["file"]
    from avstudio.workflows.voice import voice_path

    ref, path = voice_path(project, clip)
    return ref.id, path


def grid_fps(project: Project, clip: str) -> Fraction:
    """The frame grid speech is measured on: a video clip's own, else the target's (the face it drives)."""
    for role in ((clip,) if clip in roles.VIDEO_ROLES else ()) + (roles.TARGET,):
        ref = project.media_by_role(role)
        if ref is not None and ref.fps:
            return Fraction(ref.fps)
    return DEFAULT_FPS


@dataclass
class SpeechAnalysis:
    clip: str
    media_id: str | None
    fps: list
    duration: float
    curves: np.ndarray          # (n_frames, 2) SPEECH_CURVES
    mel: np.ndarray
    mfcc: np.ndarray
    activity: list
    words: list
    phones: list
    visemes: list
    aligned: bool
    span: list                  # [start, stop] seconds aligned
    warnings: list = field(default_factory=list)


def _overlap(a: float, b: float, spans) -> float:
    return sum(max(0.0, min(b, e) - max(a, s)) for s, e in spans)


def _phones_job(x: np.ndarray, transcript: str | None, start: float, stop: float, activity, warnings):
    from avstudio.analysis.speech import phones as ph

    sub = x[int(start * 16000):int(stop * 16000)]
    if transcript and transcript.strip():
        try:
            al = ph.align(sub, transcript)
        except UserError as exc:
            warnings.append(f"{exc.message} The phones were recognized without it instead.")
            al = ph.recognize(sub)
    else:
        al = ph.recognize(sub)
    if al.skipped:
        warnings.append(f"Not in the pronunciation dictionary, left out of the alignment: {', '.join(al.skipped[:10])}"
                        + (" …" if len(al.skipped) > 10 else "") + ".")
    shift = lambda spans: [(a + start, b + start, n) for a, b, n in spans]  # noqa: E731
    words, phones = shift(al.words), shift(al.phones)
    doubtful = [(a, b, w) for a, b, w in words if _overlap(a, b, activity) < 0.3 * (b - a)]
    if doubtful:
        where = ", ".join(f"'{w}' at {a:.1f} s" for a, b, w in doubtful[:6])
        warnings.append(f"The transcript and the sound disagree around {where}: these words were placed where "
                        "no one speaks. Check the transcript there; the viseme blocks elsewhere are kept.")
    return words, phones, al.aligned


def speech_job(path: str, clip: str, media_id: str | None, fps: list, transcript: str | None = None,
               start: float = 0.0, stop: float | None = None) -> Iterator[Progress]:
    """Job: features, voice activity, words, phones and visemes of a clip's sound. Returns a SpeechAnalysis."""
    from avstudio.analysis.speech import features, vad, visemes
    from avstudio.analysis.voice.speech import load_speech

    yield Progress(0, 4, f"Loading {Path(path).name}")
    speech = load_speech(path, 16000)
    x, dur = speech.samples, speech.duration
    warnings = list(speech.warnings)
    rate = Fraction(*fps)
    n = max(1, math.ceil(dur * float(rate) - 1e-9))
    yield Progress(1, 4, "Spectrum and loudness")
    mel = features.log_mel(x)
    yield Progress(2, 4, "Finding speech")
    prob = vad.speech_probability(x)
    activity = vad.speech_segments(prob, dur)
    curves = np.stack([features.loudness(x, 16000, float(rate), n),
                       features.on_frames(prob, vad.CHUNK_S, float(rate), n)], 1)
    if not activity:
        warnings.append(f"No speech was found in {Path(path).name} (music, noise or silence?): the mouth stays "
                        "closed. Type a transcript to align it anyway.")
    start = float(np.clip(start, 0.0, dur))
    stop = dur if stop is None else float(np.clip(stop, start, dur))
    if stop - start < 0.1:
        raise UserError(f"The range {start:.2f}–{stop:.2f} s holds no speech to align: the sound lasts {dur:.2f} s.")
    yield Progress(3, 4, "Aligning phones" if transcript else "Recognizing phones")
    words, phones, aligned = _phones_job(x, transcript, start, stop, activity, warnings)
    blocks = visemes.from_phones(phones)
    if not aligned:   # recognized phones in silence are noise: no mouth moves there
        blocks = [(a, b, v) for a, b, v in blocks if _overlap(a, b, activity) >= 0.5 * (b - a)]
    return SpeechAnalysis(clip, media_id, list(fps), dur, curves.astype(np.float32), mel, features.mfcc(mel),
                          activity, words, phones, blocks, aligned, [start, stop], warnings)


def _spans_track(project: Project, r: SpeechAnalysis, layer: str, spans, labels, name: str,
                 keep: bool) -> SegmentTrack:
    from avstudio.editing.segments import keep_touched

    meta = {"clip": r.clip, "layer": layer, "media_id": r.media_id, "duration": r.duration}
    new = SegmentTrack.make(spans, labels, name, **meta)
    old = project.find_track(r.clip, layer)
    if old is not None and not isinstance(old, SegmentTrack):
        old = None
    same = old is not None and old.meta.get("media_id") == r.media_id \
        and abs(float(old.meta.get("duration", -1.0)) - r.duration) < 0.05
    if same and keep:   # the user's blocks stay only on the recording they were made on
        return keep_touched(old, new, *r.span)
    if old is not None:
        new.id = old.id
    return new


def speech_edit(project: Project, r: SpeechAnalysis) -> CompoundEdit:
    """The tracks of a speech analysis, one undo step: a re-analysis of a range changes only that range
    of words, phones and visemes, and keeps every viseme block the user touched."""
    from avstudio.analysis.speech import features, visemes

    label = roles.short(r.clip)
    base = {"clip": r.clip, "media_id": r.media_id}
    curves = CurveTrack.empty(len(r.curves), SPEECH_CURVES, f"{label} speech", **base, layer=layers.SPEECH, fps=r.fps)
    curves.arrays["values"][:] = r.curves
    curves.arrays["flags"][:] = Flag.AUTO
    grid = {**base, "frame_period_ms": features.FRAME_PERIOD_MS, "sample_rate": features.SAMPLE_RATE}
    tracks = [curves,
              FeatureTrack({"values": r.mel}, {**grid, "layer": layers.MEL, "feature": "log_mel_db"}, name=f"{label} mel"),
              FeatureTrack({"values": r.mfcc}, {**grid, "layer": layers.MFCC, "feature": "mfcc"}, name=f"{label} MFCC"),
              _spans_track(project, r, layers.VOICE_ACTIVITY, [(a, b, "speech") for a, b in r.activity], ["speech"],
                           f"{label} voice activity", keep=False)]
    whole = r.span == [0.0, r.duration]
    for layer, spans, labels, name in ((layers.WORDS, r.words, None, "words"), (layers.PHONES, r.phones, None, "phones"),
                                       (layers.VISEMES, r.visemes, visemes.names(), "visemes")):
        labels = labels or sorted({n for *_, n in spans})
        tracks.append(_spans_track(project, r, layer, spans, labels, f"{label} {name}",
                                   keep=layer == layers.VISEMES or not whole))
    for t in tracks[:3]:
        old = project.find_track(r.clip, t.meta["layer"])
        if old is not None:
            t.id = old.id
    tracks[-1].meta.update(aligned=r.aligned)
    return CompoundEdit([ReplaceTrack(t) for t in tracks], f"Analyse the {roles.label(r.clip)}'s speech")


def speech_summary(r: SpeechAnalysis) -> str:
    talk = sum(b - a for a, b in r.activity)
    how = f"{len(r.words)} words aligned to the transcript" if r.aligned else "phones recognized (no transcript)"
    lines = [f"Speech of the {roles.label(r.clip)}: {r.duration:.1f} s, {talk:.1f} s spoken; {how}, "
             f"{len(r.phones)} phones, {len(r.visemes)} viseme blocks."]
    return "\n".join(lines + [f"warning: {w}" for w in r.warnings])


def analyse_speech(project: Project, clip: str, transcript: str | None = None, start: float = 0.0,
                   stop: float | None = None) -> Operation:
    """Analyse the speech of a clip: features, voice activity, phones (aligned to ``transcript`` when
    given) and the viseme row. A range [start, stop) seconds re-aligns only that range."""
    media_id, path = speech_file(project, clip)
    fps = grid_fps(project, clip)
    return Operation(f"Analyse the {roles.label(clip)}'s speech", "avstudio.workflows.lipsync.speech:speech_job",
                     (str(path), clip, media_id, [fps.numerator, fps.denominator]),
                     dict(transcript=transcript, start=float(start), stop=None if stop is None else float(stop)),
                     runs=Runs.PROCESS, apply=speech_edit, summary=speech_summary)


def read_transcript(path: str) -> str:
    """A plain-text transcript file (UTF-8, UTF-16 with its mark, or Windows-1252), read bounded in size
    and type, with a message for what is not text."""
    import unicodedata

    from avstudio.analysis.speech.phones import MAX_TRANSCRIPT_CHARS
    from avstudio.core.files import read_limited

    p = Path(path)
    if not p.exists():
        raise UserError(f"The transcript {p} does not exist or is not a file.", path=str(p))
    data = read_limited(p, "transcript", 4 * MAX_TRANSCRIPT_CHARS)
    not_text = UserError(f"{p.name} is not a text file: a transcript is plain text.", path=str(p))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    elif b"\0" in data:
        raise not_text
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")  # what Windows editors save as "ANSI"
            except UnicodeDecodeError:
                raise not_text from None
    # Control characters other than line breaks and tabs are binary data, not words.
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v" for c in text):
        raise not_text
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise UserError(f"The transcript {p.name} has {len(text):,} characters: at most {MAX_TRANSCRIPT_CHARS:,} are "
                        "read (align a long recording a range at a time).", path=str(p))
    return text
