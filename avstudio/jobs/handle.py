"""A running job as seen by its owner: state, latest progress, ETA, result or error, cancel."""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from typing import Any, Callable

from avstudio.core.errors import UserError
from avstudio.core.progress import EtaEstimator, JobState, Progress

Listener = Callable[["JobHandle"], None]


class JobHandle:
    """Shared by both runners. Callbacks run on the runner's thread: a GUI adapts them to signals."""

    def __init__(self, name: str):
        self.id = uuid.uuid4().hex[:8]
        self.name = name
        self.state = JobState.PENDING
        self.progress: Progress | None = None
        self.eta: float | None = None
        self.result: Any = None
        self.error: str | None = None          # the user message
        self.error_details: str | None = None  # technical details (traceback) on demand
        self.error_hint: str | None = None     # the action that fixes it (UserError.hint)
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._eta = EtaEstimator()
        self._progress_listeners: list[Callable[[JobHandle, Progress], None]] = []
        self._finish_listeners: list[Listener] = []
        self._lock = threading.Lock()

    # ---- owner's side ---------------------------------------------------------------------------
    def cancel(self) -> None:
        """Abandon the job: it stops at its next step and its result is discarded."""
        self._cancel.set()

    def request_stop(self) -> None:
        """Ask a job that supports it (training) to finish early but keep its work (save a checkpoint)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def on_progress(self, fn: Callable[[JobHandle, Progress], None]) -> None:
        self._progress_listeners.append(fn)

    def on_finished(self, fn: Listener) -> None:
        with self._lock:
            if self.state.finished:
                call_now = True
            else:
                self._finish_listeners.append(fn)
                call_now = False
        if call_now:
            fn(self)

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    # ---- runner's side --------------------------------------------------------------------------
    def _set_running(self) -> None:
        self.started_at = time.monotonic()
        self.state = JobState.RUNNING

    def _report(self, progress: Progress) -> None:
        self.progress = progress
        self.eta = self._eta.update(progress.done, progress.total)
        for fn in list(self._progress_listeners):
            fn(self, progress)

    def _finish(self, state: JobState, result: Any = None, error: str | None = None,
                details: str | None = None, hint: str | None = None) -> None:
        with self._lock:
            self.state, self.result, self.error, self.error_details = state, result, error, details
            self.error_hint = hint
            self.finished_at = time.monotonic()
            listeners = list(self._finish_listeners)
        self._done.set()
        for fn in listeners:
            fn(self)

    def _fail_from_exception(self, exc: BaseException) -> None:
        if isinstance(exc, UserError):
            details = exc.details or "".join(traceback.format_exception(exc))
            self._finish(JobState.FAILED, error=exc.message, details=details, hint=exc.hint)
        elif isinstance(exc, MemoryError):
            self._finish(JobState.FAILED, error=f"{self.name} ran out of memory. Close other programs or "
                         "work on a shorter range.", details="".join(traceback.format_exception(exc)))
        else:
            self._finish(JobState.FAILED, error=f"{self.name} failed unexpectedly: {exc!r}. This is a bug in "
                         "AV Studio; the details can be copied into a report.",
                         details="".join(traceback.format_exception(exc)))

    def __repr__(self) -> str:
        return f"<JobHandle {self.name!r} {self.state.value}>"
