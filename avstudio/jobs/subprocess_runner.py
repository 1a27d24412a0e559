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
from avstudio.jobs import codec
from avstudio.jobs.handle import JobHandle
from avstudio.core.progress import JobState, Progress

KILL_GRACE_S = 3.0


class SubprocessRunner:
    def __init__(self, python: str | None = None, env: dict | None = None):
        self.python = python or sys.executable
        self.env = env

    def submit(self, job: str, *args, name: str | None = None, **kwargs) -> JobHandle:
        """Start ``job`` ("avstudio.module:function") in a child process; arguments are JSON with numpy
        arrays and AV Studio dataclasses (jobs/codec.py), and so is the result."""
        handle = JobHandle(name or job.rsplit(":", 1)[-1])
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "avstudio.jobs.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, bufsize=1, env=env, start_new_session=True)
        except OSError as exc:
            raise JobError(f"Could not start a worker process for {handle.name}: {exc}.") from exc
        enc = codec.Encoder()
        payload = enc.encode([list(args), kwargs])
        args_file = enc.write()
        request = {"job": job, "name": handle.name, "args": payload[0], "kwargs": payload[1], "arrays": args_file}
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
        except OSError:
            pass  # the child died at once: its stderr says why (reported when it ends)
        handle.pid = proc.pid  # type: ignore[attr-defined]
        handle._set_running()
        stderr_tail: deque[str] = deque(maxlen=60)
        threading.Thread(target=self._drain_stderr, args=(proc, stderr_tail), daemon=True).start()
        threading.Thread(target=self._read, args=(handle, proc, stderr_tail, args_file), daemon=True,
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
    def _read(handle: JobHandle, proc: subprocess.Popen, stderr_tail: deque, args_file: str | None) -> None:
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
        _remove(args_file)  # the child removes it once read; not when it died first
        if handle.cancel_requested:
            _remove((outcome or {}).get("arrays"))
            handle._finish(JobState.CANCELLED)
        elif outcome and outcome["type"] == "result":
            try:
                value = codec.decode(outcome.get("value"), outcome.get("arrays"))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                handle._finish(JobState.FAILED, error=f"The result of {handle.name} could not be read back ({exc}).")
                return
            handle._finish(JobState.DONE, result=value)
        elif outcome:
            handle._finish(JobState.FAILED, error=outcome.get("message"), details=outcome.get("details"),
                           hint=outcome.get("hint"))
        else:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            handle._finish(JobState.FAILED, error=f"The worker process for {handle.name} {how} without a result.",
                           details="".join(stderr_tail))


def _remove(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


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
