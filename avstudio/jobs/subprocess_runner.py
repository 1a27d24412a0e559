"""Run a job in a child process speaking JSON lines (long training; killable as a process group).

The child is started in its own session, so cancelling kills it and everything it started
(data-loader workers, torchrun ranks) — no orphan keeps a GPU busy after the user pressed Cancel.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import deque

from avstudio.core.errors import JobError
from avstudio.jobs.handle import JobHandle
from avstudio.core.progress import JobState, Progress

KILL_GRACE_S = 3.0


class SubprocessRunner:
    def __init__(self, python: str | None = None, env: dict | None = None):
        self.python = python or sys.executable
        self.env = env

    def submit(self, job: str, *args, name: str | None = None, **kwargs) -> JobHandle:
        """Start ``job`` ("avstudio.module:function", JSON-able arguments) in a child process."""
        handle = JobHandle(name or job.rsplit(":", 1)[-1])
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "avstudio.jobs.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, bufsize=1, env=env, start_new_session=True)
        except OSError as exc:
            raise JobError(f"Could not start a worker process for {handle.name}: {exc}.") from exc
        proc.stdin.write(json.dumps({"job": job, "name": handle.name, "args": list(args), "kwargs": kwargs}) + "\n")
        proc.stdin.flush()
        handle.pid = proc.pid  # type: ignore[attr-defined]
        handle._set_running()
        stderr_tail: deque[str] = deque(maxlen=60)
        threading.Thread(target=self._drain_stderr, args=(proc, stderr_tail), daemon=True).start()
        threading.Thread(target=self._read, args=(handle, proc, stderr_tail), daemon=True,
                         name=f"job:{handle.name}").start()
        threading.Thread(target=self._watch_controls, args=(handle, proc), daemon=True).start()
        return handle

    @staticmethod
    def _drain_stderr(proc, tail: deque) -> None:
        for line in proc.stderr:
            tail.append(line)

    @staticmethod
    def _watch_controls(handle: JobHandle, proc: subprocess.Popen) -> None:
        stop_sent = False
        while proc.poll() is None:
            if handle._cancel.wait(0.05):
                kill_group(proc)
                return
            if handle.stop_requested and not stop_sent:
                try:
                    proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                    proc.stdin.flush()
                except (BrokenPipeError, OSError, ValueError):
                    pass
                stop_sent = True

    @staticmethod
    def _read(handle: JobHandle, proc: subprocess.Popen, stderr_tail: deque) -> None:
        outcome: dict | None = None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            kind = msg.pop("type", None)
            if kind == "progress":
                handle._report(Progress(msg.get("done", 0), msg.get("total"), msg.get("message", ""),
                                        data=msg.get("data") or {}))
            elif kind in ("result", "error"):
                outcome = {"type": kind, **msg}
        code = proc.wait()
        if handle.cancel_requested:
            handle._finish(JobState.CANCELLED)
        elif outcome and outcome["type"] == "result":
            handle._finish(JobState.DONE, result=outcome.get("value"))
        elif outcome:
            handle._finish(JobState.FAILED, error=outcome.get("message"), details=outcome.get("details"))
        else:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            handle._finish(JobState.FAILED, error=f"The worker process for {handle.name} {how} without a result.",
                           details="".join(stderr_tail))


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the child's process group, then SIGKILL whatever is left after a grace period."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        if wait is None:
            break
        try:
            proc.wait(wait)
            # The leader is gone; make sure no member of its group survives it.
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        except subprocess.TimeoutExpired:
            continue
