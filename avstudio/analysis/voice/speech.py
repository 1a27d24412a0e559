"""Voice input: load speech for WORLD analysis at a working rate and say plainly what is wrong
with it (silence, too short, clipping, low rate or 8-bit source)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avstudio.analysis.voice.world import RATES, check_rate
from avstudio.core.errors import UserError
from avstudio.media.audio import load_audio
from avstudio.media.probe import probe

MIN_SECONDS = 0.25       # below this there is no pitch curve worth editing
SILENT_PEAK = 10 ** (-60 / 20)  # −60 dBFS
CLIPPED_SHARE = 0.001    # samples at full scale
AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".opus", ".aiff", ".aif", ".wma", ".mp4", ".mkv",
              ".mov", ".webm")


@dataclass
class Speech:
    samples: np.ndarray   # float64 mono at ``sample_rate``
    sample_rate: int
    path: str
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def load_speech(path: str | os.PathLike, sample_rate: int = 16000, stream: int | None = None) -> Speech:
    """Mono float64 at ``sample_rate`` (resampled, stereo mixed down), with warnings a user should see.
    Raises a UserError for audio that cannot be analysed (unreadable, silent, too short)."""
    check_rate(sample_rate)
    p = Path(path)
    info = probe(p)
    if not info.audio:
        raise UserError(f"{p.name} has no audio stream.", path=str(p))
    ainfo = info.audio[0] if stream is None else next((a for a in info.audio if a.index == stream), info.audio[0])
    audio = load_audio(p, sample_rate, mono=True, stream=stream)
    x = audio.samples.astype(np.float64)
    warn = []
    if len(x) < MIN_SECONDS * sample_rate:
        raise UserError(f"{p.name} is only {len(x) / sample_rate:.2f} s long: voice analysis needs at least "
                        f"{MIN_SECONDS} s of speech.", path=str(p))
    peak = float(np.abs(x).max())
    if peak < SILENT_PEAK:
        raise UserError(f"{p.name} is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS): there is no voice to "
                        "analyse.", path=str(p))
    clipped = float((np.abs(x) >= 0.999).mean())
    if clipped > CLIPPED_SHARE:
        warn.append(f"{p.name} is clipped ({clipped:.1%} of samples at full scale): pitch and timbre there are "
                    "distorted.")
    src_rate = ainfo.sample_rate
    if src_rate and src_rate < sample_rate:
        warn.append(f"{p.name} was recorded at {src_rate / 1000:g} kHz: it holds nothing above "
                    f"{src_rate / 2000:g} kHz, so converted speech will sound band-limited.")
    if ainfo.codec in ("pcm_u8", "pcm_s8"):
        warn.append(f"{p.name} is 8-bit audio: its quantisation noise is analysed as breath (aperiodicity).")
    if ainfo.channels > 1:
        warn.append(f"{p.name} has {ainfo.channels} channels: they are mixed to mono.")
    return Speech(x, sample_rate, str(p), warn)


def speech_files(folder: str | os.PathLike) -> list[Path]:
    """The audio files of a speaker folder (sorted), with a clear error when there are too few."""
    d = Path(folder)
    if not d.is_dir():
        if d.is_file():
            return [d]
        raise UserError(f"{d} is not a folder of recordings.", path=str(d))
    files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in AUDIO_EXTS)
    if not files:
        raise UserError(f"{d} holds no audio files ({', '.join(AUDIO_EXTS[:6])} …).", path=str(d))
    return files


__all__ = ["RATES", "Speech", "load_speech", "speech_files"]
