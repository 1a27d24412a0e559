"""Frame-exact video access by frame index.

``VideoSource.get_frame(i)`` returns exactly the pixels sequential decoding gives for frame ``i``:
frames are identified by their presentation timestamp from the packet index (see probe), never by
"seek to a time and hope". Nearby forward requests decode on without seeking; far ones seek to the
keyframe before the target and decode forward. Decoded frames go to a byte-bounded LRU cache, and a
background thread prefetches the next frames after each request so playback and stepping hit the
cache.
"""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from typing import Iterator

import av
import numpy as np

from avstudio.core.errors import MediaError
from avstudio.core.timebase import Timebase
from avstudio.media.cache import ByteLRUCache
from avstudio.media.errors import check_readable, media_errors
from avstudio.media.probe import FrameIndex, probe_with_index, require_video

# Decoding forward is cheaper than seeking when the target is at most this many frames ahead.
FORWARD_DECODE_WINDOW = 48
# Frames decoded on the way to a target are converted to RGB and cached only this close to it (so
# stepping back a few frames is instant); converting the whole run from the keyframe would cost
# ~30% more per seek on long GOPs.
KEEP_BEFORE_TARGET = 4


def decode_packets(container, stream) -> Iterator[av.VideoFrame]:
    """Decode a stream passing over corrupt packets (the one a truncated file ends in, its data cut
    short), so the frames still in the decoder come out at the end instead of an error — the frames
    probe's index lists (it leaves that packet out too)."""
    for packet in container.demux(stream):
        if not packet.is_corrupt:
            yield from packet.decode()


def _to_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    arr = frame.to_ndarray(format="rgb24")
    if rotation:
        arr = np.ascontiguousarray(np.rot90(arr, k=rotation // 90))
    arr.flags.writeable = False  # cached frames are shared: callers copy before drawing on them
    return arr


class VideoSource:
    """Random and sequential access to the frames of one video file (RGB uint8, H×W×3)."""

    def __init__(self, path: str | os.PathLike, *, cache_mb: float = 256, prefetch: int = 8,
                 threads: bool = True):
        self.path = check_readable(path)
        media_info, index = probe_with_index(self.path)
        self.info = require_video(media_info)
        self._threads = threads
        self.cache = ByteLRUCache(int(cache_mb * 1024 * 1024))
        self.prefetch_count = max(0, int(prefetch))
        self._lock = threading.RLock()
        with media_errors(self.path, "open"):
            self._container = av.open(str(self.path))
            self._stream = self._container.streams[self.info.index]  # not cover art (see probe)
            if threads:
                self._stream.thread_type = "AUTO"
            self._index: FrameIndex = index
        self._pts_to_frame = {int(p): i for i, p in enumerate(self._index.pts)}
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._next: int | None = None  # frame index the decoder yields next, if known
        self.seeks = 0                 # counters for tests and benchmarks
        self.decoded = 0
        # Prefetch thread: decodes ahead of the newest request while nobody else needs the decoder.
        self._wanted_upto = -1
        self._generation = 0
        self._cond = threading.Condition()
        self._closed = False
        self._prefetcher = None
        if self.prefetch_count:
            self._prefetcher = threading.Thread(target=self._prefetch_loop, name=f"prefetch:{self.path.name}",
                                                daemon=True)
            self._prefetcher.start()

    # ---- description ------------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return self._index.frame_count

    @property
    def fps(self) -> Fraction:
        return self.info.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.info.width, self.info.height

    @property
    def timebase(self) -> Timebase:
        return self.info.timebase()

    def frame_time(self, index: int) -> float:
        return self.timebase.frame_to_seconds(index)

    # ---- random access ----------------------------------------------------------------------------
    def get_frame(self, index: int, *, prefetch: bool = True) -> np.ndarray:
        index = self._check_index(index)
        cached = self.cache.get(index)
        if cached is None:
            with self._cond:
                self._generation += 1  # tells the prefetcher to let go of the decoder
            with self._lock:
                cached = self.cache.get(index)
                if cached is None:
                    cached = self._decode_to(index)
        if prefetch and self.prefetch_count:
            with self._cond:
                self._wanted_upto = min(self.frame_count - 1, index + self.prefetch_count)
                self._cond.notify()
        return cached

    def keyframe_before(self, index: int) -> int:
        """Index of the keyframe at or before frame ``index`` (``index`` itself when unknown)."""
        index = self._check_index(index)
        kf = self._index.keyframe_pts
        pos = int(np.searchsorted(kf, int(self._index.pts[index]), side="right")) - 1
        kf_index = self._pts_to_frame.get(int(kf[pos])) if pos >= 0 else None
        return index if kf_index is None or kf_index > index else kf_index

    def _check_index(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame {index} is outside {self.path.name} (0..{self.frame_count - 1})")
        return index

    def _decode_to(self, index: int) -> np.ndarray:
        """Decode until frame ``index`` is produced (caching every frame on the way)."""
        if self._next is None or not (self._next <= index <= self._next + FORWARD_DECODE_WINDOW):
            frame_no, arr = self._seek_before(index)
        else:
            frame_no, arr = self._decode_next(index)
        while frame_no < index:
            frame_no, arr = self._decode_next(index)
        if frame_no != index or arr is None:
            raise MediaError(f"Frame {index} of {self.path} cannot be decoded (the file is damaged).",
                             path=str(self.path))
        return arr

    def _decode_next(self, target: int) -> tuple[int, np.ndarray | None]:
        """Decode one frame. Returns its index and RGB pixels (None when far before ``target``:
        not worth converting)."""
        with media_errors(self.path, "decode"):
            try:
                frame = next(self._decoder)
            except StopIteration:
                self._decoder, self._next = None, None
                raise MediaError(
                    f"{self.path} ends before frame {target} (of {self.frame_count} listed): the file is "
                    "truncated or damaged. Frames after the damage cannot be shown.", path=str(self.path)
                ) from None
        if frame.pts is not None and int(frame.pts) in self._pts_to_frame:
            frame_no = self._pts_to_frame[int(frame.pts)]
        elif self._next is not None:
            frame_no = self._next
        else:  # a frame without a usable timestamp right after a seek: it cannot be placed
            frame_no = -1
        self._next = frame_no + 1 if frame_no >= 0 else None
        self.decoded += 1
        if 0 <= frame_no < target - KEEP_BEFORE_TARGET:
            return frame_no, None
        arr = _to_rgb(frame, self.info.rotation)
        if frame_no >= 0:
            self.cache.put(frame_no, arr)
        return frame_no, arr

    def _seek_before(self, index: int) -> tuple[int, np.ndarray | None]:
        """Seek to the keyframe at or before frame ``index``; return the first frame decoded there.

        If the demuxer lands after the target (inexact container index), back off one keyframe at a
        time, finally to the start of the stream."""
        kf = self._index.keyframe_pts
        pos = int(np.searchsorted(kf, int(self._index.pts[index]), side="right")) - 1
        while True:
            seek_pts = int(kf[pos]) if pos >= 0 else int(self._index.pts[0])
            with media_errors(self.path, "seek in"):
                self._container.seek(seek_pts, stream=self._stream, backward=True, any_frame=False)
                self._decoder = decode_packets(self._container, self._stream)
            self.seeks += 1
            self._next = None
            frame_no, arr = self._decode_next(index)
            if 0 <= frame_no <= index:
                return frame_no, arr
            if pos < 0:
                raise MediaError(f"Cannot seek to frame {index} of {self.path}: the file's index is damaged.",
                                 path=str(self.path))
            pos -= 1

    # ---- sequential access ------------------------------------------------------------------------
    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, rgb)`` for ``start <= index < stop`` with one seek at most. Uses its own
        decoder, so it can run in a job thread while the GUI reads random frames."""
        stop = self.frame_count if stop is None else min(int(stop), self.frame_count)
        if start >= stop:
            return
        self._check_index(start)
        with media_errors(self.path, "decode"):
            with av.open(str(self.path)) as container:
                stream = container.streams[self.info.index]
                if self._threads:
                    stream.thread_type = "AUTO"
                if start > 0:
                    kf = self._index.keyframe_pts
                    pos = int(np.searchsorted(kf, self._index.pts[start], side="right")) - 1
                    container.seek(int(kf[max(pos, 0)]), stream=stream, backward=True, any_frame=False)
                expected = None
                for frame in decode_packets(container, stream):
                    if frame.pts is not None and int(frame.pts) in self._pts_to_frame:
                        i = self._pts_to_frame[int(frame.pts)]
                    elif expected is not None:
                        i = expected
                    else:
                        continue
                    expected = i + 1
                    if i < start:
                        continue
                    if i >= stop:
                        return
                    yield i, _to_rgb(frame, self.info.rotation)
        if expected is None or expected < stop:
            raise MediaError(f"{self.path} ends at frame {expected or start} of {self.frame_count}: the file is "
                             "truncated or damaged.", path=str(self.path))

    # ---- prefetch ---------------------------------------------------------------------------------
    def _prefetch_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._prefetch_pending():
                    self._cond.wait()
                if self._closed:
                    return
                generation = self._generation
                target = self._wanted_upto
            # Decode only contiguous frames after the decoder's position: never seek for a prefetch.
            if not self._lock.acquire(blocking=False):
                with self._cond:
                    self._cond.wait(0.005)
                continue
            try:
                while (not self._closed and generation == self._generation and self._next is not None
                       and self._next <= target):
                    if self._next in self.cache:
                        # Skip ahead only if the following frames are cached too (decoder stays put).
                        break
                    try:
                        self._decode_next(self._next)
                    except (MediaError, IndexError):
                        break
            finally:
                self._lock.release()
            with self._cond:
                if generation == self._generation:
                    self._wanted_upto = -1

    def _prefetch_pending(self) -> bool:
        return self._wanted_upto >= 0 and self._next is not None and self._next <= self._wanted_upto

    # ---- lifetime ---------------------------------------------------------------------------------
    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._prefetcher is not None:
            self._prefetcher.join(timeout=2)
        with self._lock:
            self._decoder = None
            self._container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video_job(path: str | os.PathLike):
    """Job: open a video for random access (probes it and indexes every packet: a moment on long clips)."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Indexing frames")
    return VideoSource(path)
