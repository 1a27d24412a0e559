"""Adapts the Qt-free runners to Qt signals: job callbacks arrive on worker threads and are
re-emitted on the GUI thread (queued connections), so widgets are only touched there."""

from __future__ import annotations

import gc
import logging
import os
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal

from avstudio.core.progress import JobState, Progress
from avstudio.jobs.handle import JobHandle
from avstudio.jobs.subprocess_runner import SubprocessRunner
from avstudio.jobs.thread_runner import ThreadRunner
from avstudio.jobs.worker import resolve
from avstudio.workflows.operation import Operation, Runs

log = logging.getLogger("avstudio.jobs")
_gui_gc = None


class GuiGarbageCollector:
    """Jobs run Python on worker threads. If the cyclic garbage collector ran there, it could free
    Qt objects left in reference cycles (a closed window's menus) off the GUI thread, whose C++
    destructors then wait for the GIL forever — seen as a hung job. So automatic collection is
    turned off and a timer collects on the GUI thread instead (as pyqtgraph's GarbageCollector).

    A full (generation 2) collection scans every object: 100–150 ms with torch, MediaPipe and a
    project loaded — a visible stall. After each one the survivors are frozen (gc.freeze), so the
    next full collection only scans what was made since; :meth:`full` (on opening a project, a
    moment the user expects to wait) unfreezes and collects everything."""

    def __init__(self, interval_ms: int = 500):
        from PySide6.QtCore import QTimer

        self.threshold = gc.get_threshold()
        gc.disable()
        gc.freeze()  # what start-up imported lives as long as the app
        self.timer = QTimer()
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        l0, l1, l2 = gc.get_count()
        if l0 > self.threshold[0]:
            gc.collect(0)
            if l1 > self.threshold[1]:
                gc.collect(1)
                if l2 > self.threshold[2]:
                    gc.collect(2)
                    gc.freeze()

    def full(self) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def collect_garbage_on_gui_thread() -> GuiGarbageCollector:
    global _gui_gc
    if _gui_gc is None:
        _gui_gc = GuiGarbageCollector()
    return _gui_gc


class JobManager(QObject):
    """Runs jobs on worker threads or in child processes and tells the GUI thread about them. Each job
    may carry its own ``on_finished`` callback (napari's ``_connect``), called on the GUI thread
    with the handle once it has ended — done, failed or cancelled."""

    added = Signal(object)               # JobHandle
    progressed = Signal(object, object)  # JobHandle, Progress
    finished = Signal(object)            # JobHandle

    def __init__(self, parent=None):
        super().__init__(parent)
        collect_garbage_on_gui_thread()
        self.threads = ThreadRunner()
        # Child processes (training, and the workers they or the analysis start) run below the GUI.
        os.environ.setdefault("AVSTUDIO_NICE", "19")
        self.processes = SubprocessRunner()
        self.handles: list[JobHandle] = []
        self._quiet: set[str] = set()
        self._callbacks: dict[str, Callable[[JobHandle], None]] = {}
        self.finished.connect(self._log_finished)
        # Queued even when a job ends at once, on the GUI thread, inside run(): the caller keeps its
        # handle before its callback runs.
        self.finished.connect(self._call_back, Qt.QueuedConnection)

    def _track(self, handle: JobHandle, quiet: bool, on_finished) -> JobHandle:
        self.handles.append(handle)
        if quiet:
            self._quiet.add(handle.id)
        if on_finished is not None:
            self._callbacks[handle.id] = on_finished
        handle.on_progress(lambda h, p: self._emit(self.progressed, h, p))
        handle.on_finished(lambda h: self._emit(self.finished, h))
        self.added.emit(handle)
        log.log(logging.DEBUG if quiet else logging.INFO, "Started %s", handle.name)
        return handle

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window closed while the job ran: nobody is left to tell
            pass

    def _call_back(self, handle: JobHandle) -> None:
        fn = self._callbacks.pop(handle.id, None)
        if fn is not None:
            fn(handle)

    def is_quiet(self, handle: JobHandle) -> bool:
        """Routine, short work (opening a clip): it leaves the jobs panel by itself when it succeeds."""
        return handle.id in self._quiet

    def run(self, job, *args, name: str, quiet: bool = False, on_finished=None, **kwargs) -> JobHandle:
        """Run a job generator function on a worker thread."""
        return self._track(self.threads.submit(job, *args, name=name, **kwargs), quiet, on_finished)

    def run_process(self, spec: str, *args, name: str, quiet: bool = False, on_finished=None, **kwargs) -> JobHandle:
        """Run "avstudio.module:function" in a child process."""
        return self._track(self.processes.submit(spec, *args, name=name, **kwargs), quiet, on_finished)

    def start(self, op: Operation, on_finished=None) -> JobHandle:
        """Run an operation's job where its kind of work runs (workflows.operation.Runs)."""
        if op.runs is Runs.PROCESS:
            return self.run_process(op.job, *op.args, name=op.name, quiet=op.quiet, on_finished=on_finished,
                                    **op.kwargs)
        return self.run(resolve(op.job), *op.args, name=op.name, quiet=op.quiet, on_finished=on_finished, **op.kwargs)

    @property
    def active(self) -> list[JobHandle]:
        return [h for h in self.handles if not h.state.finished]

    def cancel_all(self, wait: float = 5.0) -> None:
        for h in self.active:
            h.cancel()
        for h in list(self.handles):
            h.wait(wait)

    def _log_finished(self, h: JobHandle) -> None:
        if h.state is JobState.DONE:
            log.log(logging.DEBUG if self.is_quiet(h) else logging.INFO, "%s finished in %.1f s", h.name, h.elapsed)
        elif h.state is JobState.CANCELLED:
            log.log(logging.DEBUG if self.is_quiet(h) else logging.WARNING, "%s was cancelled", h.name)
        else:
            log.error("%s failed: %s", h.name, h.error)


__all__ = ["JobManager", "Progress"]
