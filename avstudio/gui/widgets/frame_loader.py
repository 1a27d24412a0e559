"""Loads video frames off the GUI thread, newest request first.

While scrubbing, requests arrive faster than frames decode. The loader keeps only the newest
request (SLEAP's LoadImageWorker does the same), so the picture follows the mouse instead of
replaying a backlog; the VideoSource's cache and prefetch make repeats and playback cheap. A far
jump first shows the keyframe before the target (when it is at most 2 s back), then the exact frame
if no newer request came meanwhile: fast drags get more pictures, a stopped mouse the exact one.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from avstudio.core.errors import UserError
from avstudio.media.video import FORWARD_DECODE_WINDOW, VideoSource

log = logging.getLogger("avstudio.video")
KEYFRAME_PREVIEW_S = 2.0  # show the keyframe before a far target first only when it is this close


class FrameLoader(QObject):
    frameReady = Signal(int, object)  # index, RGB ndarray (read-only)
    failed = Signal(str)

    def __init__(self, source: VideoSource, parent=None):
        super().__init__(parent)
        self.source = source
        self._wanted: int | None = None
        self._cond = threading.Condition()
        self._closed = False
        self.loaded = 0
        self._last: int | None = None
        self.keyframes_shown = 0  # pictures shown ahead of an exact frame while scrubbing (benchmarks)
        self._thread = threading.Thread(target=self._loop, name=f"frames:{source.path.name}", daemon=True)
        self._thread.start()

    def request(self, index: int) -> None:
        index = max(0, min(int(index), self.source.frame_count - 1))
        cached = self.source.cache.get(index)
        if cached is not None:  # cache hit: no thread hop, no latency
            self._last = index
            self.frameReady.emit(index, cached)
            return
        with self._cond:
            self._wanted = index
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._wanted is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                index, self._wanted = self._wanted, None
            # Prefetch (decode ahead) only when moving frame by frame (playback, stepping): while
            # scrubbing it would hold the decoder when the next far request arrives.
            sequential = self._last is not None and 0 < index - self._last <= 2
            far = self._last is None or abs(index - self._last) > FORWARD_DECODE_WINDOW
            self._last = index
            try:
                kf_index = self.source.keyframe_before(index) if far else index
                if kf_index != index and index - kf_index <= KEYFRAME_PREVIEW_S * float(self.source.fps) \
                        and self.source.cache.get(index) is None:
                    # A fast scrub: the keyframe before the target first (one seek, one decode), so
                    # the picture keeps up with the mouse; the exact frame follows unless the mouse
                    # has moved on by then. Not when that keyframe is far back (long GOPs).
                    kf = self.source.get_frame(kf_index, prefetch=False)
                    self.keyframes_shown += 1
                    if not self._emit_ready(kf_index, kf):
                        return
                    with self._cond:
                        if self._wanted is not None:
                            continue
                frame = self.source.get_frame(index, prefetch=sequential)
            except (UserError, IndexError) as exc:
                log.error("%s", exc)
                self._emit_failed(str(exc))
                continue
            self.loaded += 1
            if not self._emit_ready(index, frame):
                return

    def _emit_ready(self, index: int, frame) -> bool:
        try:
            self.frameReady.emit(index, frame)
            return True
        except RuntimeError:  # receiver deleted while closing
            return False

    def _emit_failed(self, message: str) -> None:
        try:
            self.failed.emit(message)
        except RuntimeError:
            pass

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=2)
        self.source.close()
