"""Run jobs on worker threads (short and medium work: analysis, export, probing)."""

from __future__ import annotations

import inspect
import threading
import traceback
from typing import Any, Callable

from avstudio.core.errors import Cancelled
from avstudio.jobs.handle import JobHandle
from avstudio.core.progress import JobState, drive


class ThreadRunner:
    def __init__(self):
        self._handles: list[JobHandle] = []

    def submit(self, job: Callable[..., Any], *args, name: str | None = None, **kwargs) -> JobHandle:
        """Start ``job(*args, **kwargs)`` on a new thread. If the job function accepts a ``handle``
        keyword, it gets the JobHandle (to honour ``stop_requested``)."""
        handle = JobHandle(name or getattr(job, "__name__", "job"))
        try:
            if "handle" in inspect.signature(job).parameters:
                kwargs["handle"] = handle
        except (TypeError, ValueError):
            pass
        thread = threading.Thread(target=self._run, args=(handle, job, args, kwargs),
                                  name=f"job:{handle.name}", daemon=True)
        self._handles.append(handle)
        handle._set_running()
        thread.start()
        return handle

    @staticmethod
    def _run(handle: JobHandle, job, args, kwargs) -> None:
        gen = None
        try:
            gen = job(*args, **kwargs)
            if not inspect.isgenerator(gen):
                handle._finish(JobState.DONE, result=gen)
                return
            result = drive(gen, handle._report, handle._cancel)
        except BaseException as exc:  # noqa: BLE001 - a job must never kill the app
            # Free what the failed job held (its frames' tensors, networks, open files) before the
            # waiter hears of it: a command exits as soon as it does, and native destructors running
            # in a daemon thread during interpreter shutdown abort the process (exit 134).
            traceback.clear_frames(exc.__traceback__)
            gen = None
            if isinstance(exc, Cancelled) or handle.cancel_requested:
                handle._finish(JobState.CANCELLED)
            else:
                handle._fail_from_exception(exc)
        else:
            handle._finish(JobState.DONE, result=result)

    @property
    def active(self) -> list[JobHandle]:
        return [h for h in self._handles if not h.state.finished]

    def cancel_all(self, wait: float | None = 5.0) -> None:
        for h in self.active:
            h.cancel()
        for h in list(self._handles):
            h.wait(wait)
