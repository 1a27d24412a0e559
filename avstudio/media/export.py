"""Export: H.264 (libx264) + AAC into MP4, as a job with progress and cancel.

The file is written under a temporary name beside the destination and renamed at the end
(core/files.atomic_output), so a cancelled or failed export never leaves a half-written video where
the user expects a good one, and two exports to one file never write into each other's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import av
import numpy as np

from avstudio.core.errors import MediaError
from avstudio.core.files import atomic_output, check_output_path
from avstudio.core.progress import Progress
from avstudio.media.audio import Audio
from avstudio.media.errors import media_errors

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AAC_FRAME = 1024


VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")
MAX_FPS = 1000       # no player shows more; a larger rate is a typing slip (and a huge file)
MAX_SIDE = 8192      # libx264's level 6.2 limit is 8192 pixels a side


@dataclass
class ExportSettings:
    fps: Fraction = Fraction(30)
    crf: int = 18
    preset: str = "medium"
    audio_bitrate: int = 192_000
    threads: int = 0  # 0: libx264 picks

    def validate(self) -> None:
        if not 0 <= self.crf <= 51:
            raise MediaError(f"CRF must be between 0 (lossless) and 51, got {self.crf}.")
        if self.preset not in PRESETS:
            raise MediaError(f"Unknown x264 preset {self.preset!r}; use one of {', '.join(PRESETS)}.")
        fps = float(self.fps)
        if not (fps > 0 and fps <= MAX_FPS):  # written so that NaN fails too
            raise MediaError(f"The frame rate must be above 0 and at most {MAX_FPS} fps, got {self.fps}.")


def _even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even width and height: repeat the last row/column if odd."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def check_video_output(out_path: str | os.PathLike) -> Path:
    """Refuse, before any frame is made, an MP4 path that could not be written."""
    out = Path(out_path)
    if out.suffix.lower() not in VIDEO_SUFFIXES:
        raise MediaError(f"Export writes MP4 files: name the output *.mp4 (got {out.name}).", path=str(out))
    return check_output_path(out, "video")


def _planar_audio(audio: Audio, frame_count: int, fps: Fraction) -> np.ndarray:
    """The soundtrack trimmed or padded with silence to the video's length, planar (channels, n)."""
    total = int(round(frame_count / fps * audio.sample_rate))
    pcm = audio.samples.reshape(len(audio.samples), -1)[:total, :2]
    if len(pcm) < total:
        pcm = np.concatenate([pcm, np.zeros((total - len(pcm), pcm.shape[1]), np.float32)])
    return np.ascontiguousarray(pcm.T.astype(np.float32))


def export_video(out_path: str | os.PathLike, frames: Iterable[np.ndarray] | Callable[[int], np.ndarray],
                 frame_count: int, settings: ExportSettings | None = None, audio: Audio | None = None,
                 ) -> Iterator[Progress]:
    """Job: encode ``frame_count`` RGB frames (an iterable, or a function of the frame index) and
    optional audio (trimmed or padded with silence to the video's length) into ``out_path``, through
    a temporary file beside it (core/files.atomic_output)."""
    settings = settings or ExportSettings()
    settings.validate()
    out = check_video_output(out_path)
    if frame_count <= 0:
        raise MediaError("Nothing to export: the range holds no frames.")
    with atomic_output(out, "video") as tmp:
        with media_errors(out, "write"):
            container = av.open(str(tmp), mode="w", format="mp4")
        try:
            yield from _encode(container, out, frames, frame_count, settings, audio)
        finally:
            container.close()
    return out


def _encode(container, out: Path, frames, frame_count: int, settings: ExportSettings, audio: Audio | None):
    fps = Fraction(settings.fps).limit_denominator(100000)
    frame_at = frames if callable(frames) else None
    frame_iter = None if callable(frames) else iter(frames)
    vstream = container.add_stream("libx264", rate=fps)
    vstream.pix_fmt = "yuv420p"
    vstream.options = {"crf": str(settings.crf), "preset": settings.preset}
    if settings.threads:
        vstream.codec_context.thread_count = settings.threads
    astream = pcm = None
    if audio is not None and len(audio.samples):
        astream = container.add_stream("aac", rate=audio.sample_rate, layout="mono" if audio.channels == 1 else "stereo")
        astream.bit_rate = settings.audio_bitrate
        pcm = _planar_audio(audio, frame_count, fps)
    audio_pos = 0
    size = None
    for i in range(frame_count):
        rgb = frame_at(i) if frame_at is not None else next(frame_iter, None)
        if rgb is None:
            raise MediaError(f"Export stopped: only {i} of {frame_count} frames were available.")
        rgb = _even(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
        if size is None:
            size = rgb.shape[:2]
            if max(size) > MAX_SIDE:
                raise MediaError(f"The frames are {size[1]}x{size[0]}: H.264 holds at most {MAX_SIDE} pixels a side.")
            vstream.height, vstream.width = size
        elif rgb.shape[:2] != size:
            raise MediaError(f"Frame {i} is {rgb.shape[1]}x{rgb.shape[0]} but the video is "
                             f"{size[1]}x{size[0]}: all frames must have one size.")
        vframe = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        vframe.pts = i
        vframe.time_base = 1 / fps
        with media_errors(out, "encode"):
            container.mux(vstream.encode(vframe))
            if astream is not None:
                until = min(pcm.shape[1], int(round((i + 1) / fps * audio.sample_rate)))
                audio_pos = _mux_audio(container, astream, pcm, audio_pos, until, audio.sample_rate)
        yield Progress(i + 1, frame_count, f"Encoding frame {i + 1}/{frame_count}")
    with media_errors(out, "encode"):
        container.mux(vstream.encode(None))
        if astream is not None:
            _mux_audio(container, astream, pcm, audio_pos, pcm.shape[1], audio.sample_rate)
            container.mux(astream.encode(None))


def _mux_audio(container, astream, pcm: np.ndarray, pos: int, until: int, rate: int) -> int:
    layout = "mono" if pcm.shape[0] == 1 else "stereo"
    while pos < until:
        end = min(pos + AAC_FRAME, until)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, pos:end]), format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = pos
        frame.time_base = Fraction(1, rate)
        container.mux(astream.encode(frame))
        pos = end
    return pos
