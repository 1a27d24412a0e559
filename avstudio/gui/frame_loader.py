"""Loads video frames off the GUI thread, newest request first.

While scrubbing, requests arrive faster than frames decode. The loader keeps only the newest
request (SLEAP's LoadImageWorker does the same), so the picture follows the mouse instead of
replaying a backlog; the VideoSource's cache and prefetch make repeats and playback cheap.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from avstudio.core.errors import UserError
from avstudio.media.video import VideoSource

log = logging.getLogger("avstudio.video")


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
            self._last = index
            try:
                frame = self.source.get_frame(index, prefetch=sequential)
            except (UserError, IndexError) as exc:
                log.error("%s", exc)
                self._emit_failed(str(exc))
                continue
            self.loaded += 1
            try:
                self.frameReady.emit(index, frame)
            except RuntimeError:  # receiver deleted while closing
                return

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
