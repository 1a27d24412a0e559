"""A strip of small frames across a whole clip, for the timeline.

Seeking to each slot would decode up to a GOP per thumbnail (a minute on a 10-minute 720p clip), so
long clips are read once with the decoder told to skip everything but keyframes — demuxing is cheap
and keyframes come every few seconds — and each slot takes the keyframe nearest its time. Short
clips, or files with too few keyframes for the slots, are decoded frame by frame.
"""

from __future__ import annotations

import os
from typing import Iterator

import av
import numpy as np

from avstudio.core.progress import Progress
from avstudio.media.errors import check_readable, media_errors
from avstudio.media.probe import probe, require_video

SHORT_CLIP_FRAMES = 1500  # up to this many frames, decoding every frame is quick enough


def thumbnail_strip(path: str | os.PathLike, count: int = 48, height: int = 40) -> Iterator[Progress]:
    """Job: ``count`` thumbnails ``height`` px high, evenly spaced over the clip, side by side.
    Returns (strip H×(count·w)×3 uint8, duration in seconds)."""
    path = check_readable(path)
    video = require_video(probe(path))
    rotation = video.rotation  # phone videos: stored sideways, shown upright
    with media_errors(path, "read"), av.open(str(path)) as container:
        stream = container.streams[video.index]  # not cover art (see probe)
        tb = float(stream.time_base)
        start = float(stream.start_time or 0) * tb
        duration = float(stream.duration * tb) if stream.duration else float(container.duration or 0) / 1e6
        if duration <= 0:
            duration = 1.0
        frames = stream.frames or 0
        slots = start + (np.arange(count) + 0.5) * duration / count
        yield Progress(0, count, "Thumbnails")
        keyframes_only = frames == 0 or frames > SHORT_CLIP_FRAMES
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = "AUTO"
        best: list = [None] * count
        best_dt = np.full(count, np.inf)
        seen = 0
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = frame.pts * tb
            dt = np.abs(slots - t)
            near = dt < best_dt
            if near.any():
                small = _small(frame, height, rotation)
                for i in np.flatnonzero(near):
                    best[i], best_dt[i] = small, dt[i]
            seen += 1
            if seen % 16 == 0:
                yield Progress(int((best_dt < duration / count).sum()), count, "Thumbnails")
    if all(b is None for b in best):
        from avstudio.core.errors import MediaError
        raise MediaError(f"{path} has no frame that could be decoded for thumbnails.", path=str(path))
    filler = next(b for b in best if b is not None)
    strip = np.concatenate([b if b is not None else np.zeros_like(filler) for b in best], axis=1)
    return strip, duration


def _small(frame: av.VideoFrame, height: int, rotation: int = 0) -> np.ndarray:
    sideways = rotation in (90, 270)
    shown_w, shown_h = (frame.height, frame.width) if sideways else (frame.width, frame.height)
    width = max(2, int(round(shown_w * height / max(shown_h, 1))) // 2 * 2)
    w, h = (height, width) if sideways else (width, height)  # scale in storage orientation, then turn
    arr = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    return np.ascontiguousarray(np.rot90(arr, k=rotation // 90)) if rotation else arr
