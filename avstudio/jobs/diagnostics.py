"""Diagnostic jobs: they check the runners end to end (steps, failures, process-group kills, what
crosses the process boundary). Addressable by the subprocess runner as
"avstudio.jobs.diagnostics:<name>"."""

from __future__ import annotations

import time

from avstudio.core.progress import Progress


def sleep_steps(steps: int = 10, delay: float = 0.1, fail_at: int | None = None, handle=None):
    """A diagnostic job: ``steps`` steps of ``delay`` seconds (used to check runners end to end)."""
    from avstudio.core.errors import JobError

    for i in range(steps):
        if handle is not None and handle.stop_requested:
            return {"completed": i, "stopped": True}
        if fail_at is not None and i == fail_at:
            raise JobError(f"Step {i} failed on purpose.")
        time.sleep(delay)
        yield Progress(i + 1, steps, f"step {i + 1}/{steps}", data={"step": i + 1})
    return {"completed": steps, "stopped": False}


def spawn_and_wait(pid_file: str, seconds: float = 60.0):
    """A diagnostic job that starts a grandchild process and waits: checks process-group kills."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    with open(pid_file, "w") as f:
        f.write(str(child.pid))
    for i in range(int(seconds * 10)):
        time.sleep(0.1)
        yield Progress(i, None, "waiting")
    return None


def echo(value):
    """A diagnostic job: returns its argument (checks what crosses the process boundary and back)."""
    yield Progress(0, None, "echo")
    return value
