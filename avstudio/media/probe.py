"""``probe``: what a media file holds, exactly.

The frame count and timestamps come from the container's packets (demuxed, not decoded — fast),
because stream headers are often wrong or absent (VP9 in MKV/WebM, edited MP4s). Variable frame
rate is detected from the real timestamps.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avstudio.core.errors import MediaError
from avstudio.core.timebase import Timebase
from avstudio.media.errors import check_readable, media_errors


@dataclass(frozen=True)
class FrameIndex:
    """Presentation timestamps of every frame of a video stream, in decode-output order."""

    pts: np.ndarray            # int64, sorted, one per frame (stream time_base units)
    keyframe_pts: np.ndarray   # int64, sorted
    time_base: Fraction

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def seconds(self) -> np.ndarray:
        """Frame times in seconds, the first frame at 0."""
        if not len(self.pts):
            return np.zeros(0)
        return (self.pts - self.pts[0]).astype(np.float64) * float(self.time_base)


def build_index(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> FrameIndex:
    pts: list[int] = []
    key: list[int] = []
    for packet in container.demux(stream):
        # Flush packets carry no data; discard packets (edit lists) are never shown by the decoder.
        if packet.size == 0 or packet.pts is None or packet.is_discard:
            continue
        pts.append(packet.pts)
        if packet.is_keyframe:
            key.append(packet.pts)
    return FrameIndex(np.unique(np.asarray(pts, np.int64)), np.unique(np.asarray(key, np.int64)),
                      Fraction(stream.time_base))


def _frame_rate(stream, index: FrameIndex) -> tuple[Fraction, bool]:
    """(fps, is_vfr) from the timestamps, preferring the stream's exact nominal fraction."""
    nominal = stream.guessed_rate or stream.average_rate or stream.base_rate
    nominal = Fraction(nominal) if nominal else None
    if index.frame_count < 2:
        return (nominal or Fraction(25)), False
    d = np.diff(index.pts).astype(np.float64)
    mean = float(d.mean())
    # Timestamp rounding (e.g. 29.97 fps in a 1/1000 time base gives 33/34 ms) is not VFR.
    tolerance = 1.0 + 1e-3 * mean
    vfr = bool(np.abs(d - mean).max() > tolerance)
    measured = 1.0 / (mean * float(index.time_base))
    if nominal and abs(float(nominal) - measured) <= 0.005 * measured:
        return nominal, vfr
    return Fraction(measured).limit_denominator(1001), vfr


@dataclass
class VideoInfo:
    index: int
    codec: str
    width: int                 # as displayed (after rotation)
    height: int
    coded_width: int
    coded_height: int
    rotation: int              # degrees counter-clockwise to display upright
    fps: Fraction
    frame_count: int
    duration: float
    vfr: bool
    pix_fmt: str
    keyframes: int
    timestamps: tuple[float, ...] | None = field(default=None, repr=False)  # only when vfr

    def timebase(self) -> Timebase:
        return Timebase(self.fps, self.frame_count, self.timestamps)

    @property
    def mean_keyframe_interval(self) -> float:
        return self.duration / max(1, self.keyframes)


@dataclass
class AudioInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    duration: float
    start_time: float          # seconds, relative to the container start (for A/V alignment)


@dataclass
class MediaInfo:
    path: str
    format: str
    size_bytes: int
    duration: float
    video: VideoInfo | None
    audio: list[AudioInfo]
    start_time: float = 0.0

    @property
    def has_video(self) -> bool:
        return self.video is not None

    def to_json(self) -> dict:
        d = asdict(self)
        if self.video is not None:
            d["video"]["fps"] = [self.video.fps.numerator, self.video.fps.denominator]
            d["video"].pop("timestamps", None)
        return d

    def summary(self) -> str:
        """Human-readable lines for ``avstudio info``."""
        lines = [f"{Path(self.path).name}  ({self.format}, {self.size_bytes / 1e6:.2f} MB)",
                 f"  duration   {self.duration:.3f} s"]
        v = self.video
        if v is not None:
            fps = f"{v.fps.numerator}/{v.fps.denominator}" if v.fps.denominator != 1 else str(v.fps.numerator)
            lines.append(f"  video #{v.index}   {v.codec} {v.width}x{v.height}, {fps} fps (≈{float(v.fps):.3f}), "
                         f"{v.frame_count} frames, {v.duration:.3f} s, {v.pix_fmt}"
                         + (", rotated %d°" % v.rotation if v.rotation else "")
                         + (", variable frame rate" if v.vfr else "")
                         + f", keyframe every ≈{v.mean_keyframe_interval:.2f} s")
        for a in self.audio:
            lines.append(f"  audio #{a.index}   {a.codec} {a.sample_rate} Hz, {a.channels} ch, {a.duration:.3f} s")
        if v is None and not self.audio:
            lines.append("  (no audio or video streams)")
        return "\n".join(lines)


def _secs(value, time_base) -> float:
    return float(value * time_base) if value is not None and time_base is not None else 0.0


def probe(path: str | os.PathLike) -> MediaInfo:
    """Describe a media file. Raises MediaError on anything FFmpeg cannot read."""
    return probe_with_index(path)[0]


def probe_with_index(path: str | os.PathLike) -> tuple[MediaInfo, FrameIndex | None]:
    """``probe`` plus the frame index of the first video stream (None without video)."""
    p = check_readable(path)
    index = None
    with media_errors(p, "open"):
        with av.open(str(p)) as container:
            video_info = None
            if container.streams.video:
                stream = container.streams.video[0]
                index = build_index(container, stream)
                if index.frame_count == 0:
                    raise MediaError(f"{p} has a video stream with no frames: the file is damaged or "
                                     "truncated.", path=str(p))
                fps, vfr = _frame_rate(stream, index)
                rotation = 0
                container.seek(0)
                for frame in container.decode(stream):
                    rotation = int(round(frame.rotation or 0)) % 360
                    break
                cc = stream.codec_context
                w, h = cc.width, cc.height
                dw, dh = (h, w) if rotation in (90, 270) else (w, h)
                seconds = index.seconds()
                duration = float(seconds[-1] + 1 / fps)
                video_info = VideoInfo(
                    stream.index, cc.name, dw, dh, w, h, rotation, fps, index.frame_count, duration, vfr,
                    str(cc.pix_fmt), len(index.keyframe_pts),
                    tuple(float(t) for t in seconds) if vfr else None)
            audio = []
            for a in container.streams.audio:
                tb = a.time_base
                dur = _secs(a.duration, tb) or (container.duration or 0) / 1e6
                audio.append(AudioInfo(a.index, a.codec_context.name, int(a.sample_rate or 0),
                                       int(a.channels or 0), dur, _secs(a.start_time, tb)))
            duration = (container.duration or 0) / 1e6
            if video_info is not None:
                duration = max(duration, video_info.duration) if not duration else duration
            elif audio:
                duration = duration or max(a.duration for a in audio)
            info = MediaInfo(str(p), container.format.name, p.stat().st_size, duration, video_info, audio,
                             (container.start_time or 0) / 1e6)
            return info, index


def require_video(info: MediaInfo) -> VideoInfo:
    if info.video is None:
        kind = "an audio-only file" if info.audio else "a file without video"
        raise MediaError(f"{info.path} is {kind}: it has no video stream. Open it as audio "
                         "(a voice), or choose a video file.", path=info.path)
    return info.video
