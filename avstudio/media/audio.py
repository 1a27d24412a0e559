"""Audio in and out: float32 at a requested sample rate, from audio files or a video's audio stream."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from avstudio.core.errors import MediaError
from avstudio.core.files import atomic_output, check_output_path, user_os_error
from avstudio.media.errors import check_readable, media_errors


@dataclass
class Audio:
    samples: np.ndarray   # float32, (n,) mono or (n, channels)
    sample_rate: int
    start_time: float = 0.0  # seconds of the first sample relative to the container start (A/V offset)

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else self.samples.shape[1]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def mono(self) -> Audio:
        if self.samples.ndim == 1:
            return self
        return Audio(self.samples.mean(axis=1).astype(np.float32), self.sample_rate, self.start_time)

    def slice_seconds(self, start: float, end: float) -> np.ndarray:
        a = max(0, int(round(start * self.sample_rate)))
        b = max(a, int(round(end * self.sample_rate)))
        return self.samples[a:b]


def load_audio(path: str | os.PathLike, sample_rate: int | None = None, *, mono: bool = True,
               stream: int | None = None) -> Audio:
    """Decode an audio stream to float32 in [-1, 1].

    ``sample_rate`` None keeps the file's rate; otherwise FFmpeg's resampler converts. ``stream`` is
    the container's stream index (default: the first audio stream). Works for WAV/FLAC/MP3 and for
    the soundtrack of a video file.
    """
    p = check_readable(path)
    with media_errors(p, "read audio from"):
        with av.open(str(p)) as container:
            streams = container.streams.audio
            if not streams:
                raise MediaError(f"{p} has no audio stream.", path=str(p))
            if stream is None:
                astream = streams[0]
            else:
                matches = [s for s in streams if s.index == stream]
                if not matches:
                    raise MediaError(f"{p} has no audio stream #{stream}.", path=str(p))
                astream = matches[0]
            rate = int(sample_rate or astream.sample_rate or 0)
            if rate <= 0:
                raise MediaError(f"{p} does not state its sample rate.", path=str(p))
            channels = 1 if mono else max(1, min(2, astream.channels or 1))
            resampler = av.AudioResampler(format="flt", layout="mono" if channels == 1 else "stereo", rate=rate)
            chunks: list[np.ndarray] = []
            start = None
            for frame in container.decode(astream):
                if start is None and frame.pts is not None and frame.time_base is not None:
                    start = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    data = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if data.size == 0:
        raise MediaError(f"{p} contains no audio samples (the file is empty or damaged).", path=str(p))
    if not np.isfinite(data).all():
        data = np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    if channels > 1:
        data = data.reshape(-1, channels)
    return Audio(data, rate, start or 0.0)


# The sound files written (by extension), each with its encoding: what libsndfile writes of the
# formats load_audio reads. 16-bit PCM is more than WORLD's or a GAN's output holds.
AUDIO_OUTPUTS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
                 ".oga": ("OGG", "VORBIS"), ".mp3": ("MP3", "MPEG_LAYER_III")}


def check_audio_output(path: str | os.PathLike) -> Path:
    """Refuse, before the work that makes a sound, a path it could not be written to (a format not
    written here, a missing folder, a device)."""
    return check_output_path(path, "sound file", tuple(AUDIO_OUTPUTS))


def write_audio(path: str | os.PathLike, audio: Audio) -> Path:
    """Write a sound file atomically, in the format its extension names (AUDIO_OUTPUTS). A missing
    folder is made; an output that cannot be written is a UserError saying why."""
    p = Path(path)
    try:
        fmt, subtype = AUDIO_OUTPUTS[check_audio_output(p).suffix.lower()]
        with atomic_output(p, "sound file") as tmp:
            sf.write(str(tmp), np.clip(audio.samples, -1, 1), audio.sample_rate, subtype=subtype, format=fmt)
    except (sf.LibsndfileError, ValueError) as exc:  # e.g. a rate the format cannot hold, a full disk
        raise _write_failure(p, exc) from exc
    return p


def _write_failure(p: Path, exc: Exception) -> MediaError:
    """libsndfile reports a failed write as "System error" without the errno: a full disk, its usual
    cause, is told by the free space left."""
    try:
        full = os.statvfs(p.parent).f_bavail == 0
    except OSError:
        full = False
    if full:
        return user_os_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "write", p, cls=MediaError)
    return MediaError(f"Could not write {p}: {str(exc).rstrip('.')}.", path=str(p), details=repr(exc))


def playback_audio_job(path: str | os.PathLike):
    """Job: a soundtrack decoded for playback (48 kHz, up to stereo)."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Decoding audio")
    return load_audio(path, 48000, mono=False)
