"""Adapts the Qt-free runners to Qt signals: job callbacks arrive on worker threads and are
re-emitted on the GUI thread (queued connections), so widgets are only touched there."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from avstudio.core.progress import JobState, Progress
from avstudio.jobs.handle import JobHandle
from avstudio.jobs.subprocess_runner import SubprocessRunner
from avstudio.jobs.thread_runner import ThreadRunner

log = logging.getLogger("avstudio.jobs")
_gui_gc = None


def collect_garbage_on_gui_thread() -> None:
    """Jobs run Python on worker threads. If the cyclic garbage collector ran there, it could free
    Qt objects left in reference cycles (a closed window's menus) off the GUI thread, whose C++
    destructors then wait for the GIL forever — seen as a hung job. So automatic collection is
    turned off and a timer collects on the GUI thread instead (pyqtgraph's GarbageCollector)."""
    global _gui_gc
    if _gui_gc is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector
        _gui_gc = GarbageCollector(interval=0.5)


class JobManager(QObject):
    added = Signal(object)              # JobHandle
    progressed = Signal(object, object)  # JobHandle, Progress
    finished = Signal(object)           # JobHandle

    def __init__(self, parent=None):
        super().__init__(parent)
        collect_garbage_on_gui_thread()
        self.threads = ThreadRunner()
        self.processes = SubprocessRunner()
        self.handles: list[JobHandle] = []
        self.finished.connect(self._log_finished)

    def _track(self, handle: JobHandle) -> JobHandle:
        self.handles.append(handle)
        handle.on_progress(lambda h, p: self._emit(self.progressed, h, p))
        handle.on_finished(lambda h: self._emit(self.finished, h))
        self.added.emit(handle)
        log.info("Started %s", handle.name)
        return handle

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window closed while the job ran: nobody is left to tell
            pass

    def run(self, job, *args, name: str, quiet: bool = False, **kwargs) -> JobHandle:
        """Run a job generator function on a worker thread. A ``quiet`` job (routine, short: opening a
        clip) leaves the jobs panel by itself when it succeeds; failures always stay."""
        handle = self.threads.submit(job, *args, name=name, **kwargs)
        handle.quiet = quiet
        return self._track(handle)

    def run_process(self, spec: str, *args, name: str, **kwargs) -> JobHandle:
        """Run "avstudio.module:function" in a child process (long training)."""
        return self._track(self.processes.submit(spec, *args, name=name, **kwargs))

    @property
    def active(self) -> list[JobHandle]:
        return [h for h in self.handles if not h.state.finished]

    def cancel_all(self, wait: float = 5.0) -> None:
        for h in self.active:
            h.cancel()
        for h in list(self.handles):
            h.wait(wait)

    @staticmethod
    def _log_finished(h: JobHandle) -> None:
        if h.state is JobState.DONE:
            log.info("%s finished in %.1f s", h.name, h.elapsed)
        elif h.state is JobState.CANCELLED:
            log.warning("%s was cancelled", h.name)
        else:
            log.error("%s failed: %s", h.name, h.error)


__all__ = ["JobManager", "Progress"]
