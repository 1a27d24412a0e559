"""Export: H.264 (libx264) + AAC into MP4, as a job with progress and cancel.

The file is written under a temporary name beside the destination and renamed at the end, so a
cancelled or failed export never leaves a half-written video where the user expects a good one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import av
import numpy as np

from avstudio.core.atomic import TEMP_PREFIX
from avstudio.core.errors import MediaError
from avstudio.core.progress import Progress
from avstudio.media.audio import Audio
from avstudio.media.errors import media_errors

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AAC_FRAME = 1024


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
        if Fraction(self.fps) <= 0:
            raise MediaError("The frame rate must be positive.")


def _even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even width and height: repeat the last row/column if odd."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def export_video(out_path: str | os.PathLike, frames: Iterable[np.ndarray] | Callable[[int], np.ndarray],
                 frame_count: int, settings: ExportSettings | None = None, audio: Audio | None = None,
                 ) -> Iterator[Progress]:
    """Job: encode ``frame_count`` RGB frames (an iterable, or a function of the frame index) and
    optional audio (trimmed or padded with silence to the video's length) into ``out_path``."""
    settings = settings or ExportSettings()
    settings.validate()
    out = Path(out_path)
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise MediaError(f"Export writes MP4 files: name the output *.mp4 (got {out.name}).", path=str(out))
    if frame_count <= 0:
        raise MediaError("Nothing to export: the range holds no frames.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{TEMP_PREFIX}{out.stem}{out.suffix}")
    fps = Fraction(settings.fps).limit_denominator(100000)
    frame_at = frames if callable(frames) else None
    frame_iter = None if callable(frames) else iter(frames)
    finished = False
    try:
        with media_errors(out, "write"):
            container = av.open(str(tmp), mode="w", format="mp4")
        try:
            vstream = container.add_stream("libx264", rate=fps)
            vstream.pix_fmt = "yuv420p"
            vstream.options = {"crf": str(settings.crf), "preset": settings.preset}
            if settings.threads:
                vstream.codec_context.thread_count = settings.threads
            astream = None
            pcm = None
            if audio is not None and len(audio.samples):
                layout = "mono" if audio.channels == 1 else "stereo"
                astream = container.add_stream("aac", rate=audio.sample_rate, layout=layout)
                astream.bit_rate = settings.audio_bitrate
                total = int(round(frame_count / fps * audio.sample_rate))
                pcm = audio.samples.reshape(len(audio.samples), -1)[:total, :2]
                if len(pcm) < total:
                    pcm = np.concatenate([pcm, np.zeros((total - len(pcm), pcm.shape[1]), np.float32)])
                pcm = np.ascontiguousarray(pcm.T.astype(np.float32))  # planar (channels, n)
            audio_pos = 0
            size = None
            for i in range(frame_count):
                rgb = frame_at(i) if frame_at is not None else next(frame_iter, None)
                if rgb is None:
                    raise MediaError(f"Export stopped: only {i} of {frame_count} frames were available.")
                rgb = _even(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
                if size is None:
                    size = rgb.shape[:2]
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
                    audio_pos = _mux_audio(container, astream, pcm, audio_pos, pcm.shape[1], audio.sample_rate)
                    container.mux(astream.encode(None))
        finally:
            container.close()
        os.replace(tmp, out)
        finished = True
        return out
    finally:
        if not finished:
            tmp.unlink(missing_ok=True)


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
