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


# A truncated file loses a suffix of its packets in decode order; with B-frames that leaves frames
# shown before the cut but decoded after it missing, so the last few frames kept have holes before
# them. No encoder reorders more than this many frames.
REORDER_DEPTH = 16


def video_stream(container: av.container.InputContainer):
    """The first video stream that is a moving picture: cover art (an MP3's or M4A's attached
    picture) is a one-frame video stream, not a video."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _without_orphans(pts: np.ndarray) -> np.ndarray:
    """The frames of a truncated stream up to the first hole among its last REORDER_DEPTH frames."""
    if len(pts) < 3:
        return pts
    d = np.diff(pts)
    step = np.median(d)
    tail = np.flatnonzero(d[-REORDER_DEPTH:] > 1.5 * step)
    if not len(tail):
        return pts
    return pts[:len(d) - min(REORDER_DEPTH, len(d)) + int(tail[0]) + 1]


def build_index(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> FrameIndex:
    pts: list[int] = []
    key: list[int] = []
    cut = False
    for packet in container.demux(stream):
        # Flush packets carry no data; discard packets (edit lists) are never shown by the decoder.
        if packet.size == 0 or packet.pts is None or packet.is_discard:
            continue
        if packet.is_corrupt:  # the last packet of a truncated file: its data ends early
            cut = True
            continue
        pts.append(packet.pts)
        if packet.is_keyframe:
            key.append(packet.pts)
    frames = np.unique(np.asarray(pts, np.int64))
    if cut or (stream.frames and len(frames) < stream.frames):
        frames = _without_orphans(frames)
    keys = np.unique(np.asarray(key, np.int64))
    return FrameIndex(frames, keys[keys <= frames[-1]] if len(frames) else keys, Fraction(stream.time_base))


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


def _damaged_stream(p: Path, stream, what: str) -> MediaError:
    return MediaError(f"{p}: the header of its {stream.type} stream #{stream.index} is damaged ({what}); the file "
                      "is damaged or truncated. Check that it plays in a media player; re-export or re-download it.",
                      path=str(p))


def _video_info(p: Path, container, stream) -> tuple[VideoInfo, FrameIndex]:
    cc = stream.codec_context
    if cc is None:
        raise _damaged_stream(p, stream, "it names no codec FFmpeg knows")
    index = build_index(container, stream)
    if index.frame_count == 0:
        raise MediaError(f"{p} has a video stream with no frames: the file is damaged or truncated.", path=str(p))
    fps, vfr = _frame_rate(stream, index)
    rotation = 0
    container.seek(0)
    for frame in container.decode(stream):
        rotation = int(round(frame.rotation or 0)) % 360
        break
    w, h = cc.width, cc.height
    dw, dh = (h, w) if rotation in (90, 270) else (w, h)
    seconds = index.seconds()
    duration = float(seconds[-1] + 1 / fps)
    return VideoInfo(stream.index, cc.name, dw, dh, w, h, rotation, fps, index.frame_count, duration, vfr,
                     str(cc.pix_fmt), len(index.keyframe_pts), tuple(float(t) for t in seconds) if vfr else None), index


def _audio_info(p: Path, container, a) -> AudioInfo:
    if a.codec_context is None:
        raise _damaged_stream(p, a, "it names no codec FFmpeg knows")
    if not a.sample_rate or a.sample_rate <= 0 or not a.channels or a.channels <= 0:
        raise _damaged_stream(p, a, f"{a.sample_rate or 0} Hz, {a.channels or 0} channels")
    tb = a.time_base
    dur = _secs(a.duration, tb) or (container.duration or 0) / 1e6
    return AudioInfo(a.index, a.codec_context.name, int(a.sample_rate), int(a.channels), dur,
                     _secs(a.start_time, tb))


def probe_with_index(path: str | os.PathLike) -> tuple[MediaInfo, FrameIndex | None]:
    """``probe`` plus the frame index of the first video stream (None without video; cover art is
    not video)."""
    p = check_readable(path)
    with media_errors(p, "open"):
        with av.open(str(p)) as container:
            video_info, index = None, None
            stream = video_stream(container)
            if stream is not None:
                video_info, index = _video_info(p, container, stream)
            audio = [_audio_info(p, container, a) for a in container.streams.audio]
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
