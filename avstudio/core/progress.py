"""The job protocol.

A job is a generator function. Calling it returns a generator that yields :class:`Progress` between
steps and finally ``return``\\ s its result. It never touches widgets. A runner drives it and checks
the cancel flag between yields: cancelling closes the generator (``GeneratorExit`` is raised at the
``yield``), so the job's ``finally`` blocks remove temporary files. Jobs therefore yield often
(every frame, every step): the time between yields is the worst-case cancel latency.

The same protocol serves the GUI (through signals), the CLI (a progress bar) and the subprocess
worker (JSON lines on stdout).
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from avstudio.core.errors import Cancelled


@dataclass
class Progress:
    done: float
    total: float | None = None          # None: indeterminate
    message: str = ""
    preview: Any = None                 # e.g. a small RGB image or a dict of losses; runner passes it on
    data: dict = field(default_factory=dict)  # JSON-able extras (losses, step, metrics)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    def to_json(self) -> dict:
        return {"done": self.done, "total": self.total, "message": self.message, "data": self.data}


JobGenerator = Generator[Progress, None, Any]
JobFunction = Callable[..., JobGenerator]


class JobState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class EtaEstimator:
    """Remaining time from the recent rate, smoothed so one slow step does not make the ETA jump."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, alpha: float = 0.2):
        self._clock = clock
        self._alpha = alpha
        self._start = clock()
        self._last: tuple[float, float] | None = None
        self._rate: float | None = None  # units per second

    def update(self, done: float, total: float | None) -> float | None:
        now = self._clock()
        if self._last is not None:
            t0, d0 = self._last
            if now > t0 and done > d0:
                rate = (done - d0) / (now - t0)
                self._rate = rate if self._rate is None else self._alpha * rate + (1 - self._alpha) * self._rate
        if self._last is None or done != self._last[1]:
            self._last = (now, done)
        if not total or self._rate is None or self._rate <= 0:
            return None
        return max(0.0, (total - done) / self._rate)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start


def drive(gen: JobGenerator, on_progress: Callable[[Progress], None], cancel: threading.Event) -> Any:
    """Run a job generator to its end. Raises :class:`Cancelled` if ``cancel`` was set."""
    try:
        while True:
            if cancel.is_set():
                gen.close()
                raise Cancelled()
            try:
                progress = next(gen)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                on_progress(progress)
    finally:
        gen.close()


def run_to_end(gen: JobGenerator) -> Any:
    """Drive a job with no progress and no cancel (tests, scripts)."""
    return drive(gen, lambda p: None, threading.Event())
