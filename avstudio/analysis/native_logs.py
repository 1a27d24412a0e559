"""Keep MediaPipe's and TensorFlow Lite's routine C++ log lines off the user's terminal.

MediaPipe 0.10.21 logs through absl before anything calls ``absl::InitializeLog()``, and such
messages go straight to file descriptor 2 whatever GLOG_minloglevel or TF_CPP_MIN_LOG_LEVEL say
(both are set anyway, for builds that read them); nothing in its Python API reaches absl's log
level. So the process that loads MediaPipe passes its stderr through a filter: informational and
warning lines of the C++ libraries (``I0000 …``, ``W0000 … inference_feedback_manager.cc …``,
TFLite's ``INFO: Created TensorFlow Lite XNNPACK delegate``) are dropped; everything else — their
errors (``E…``, ``F…``), Python tracebacks, the progress bar — passes through unchanged.
"""

from __future__ import annotations

import atexit
import os
import re
import threading

# absl/glog prefix: severity letter, MMDD, time (before absl is initialised: 00:00:<unix seconds>),
# thread id, file:line]. I = info, W = warning.
_ROUTINE = re.compile(rb"^(?:[IW]\d{4} [\d:.]+ +\d+ [^\]]*\] |INFO: |WARNING: All log messages before "
                      rb"absl::InitializeLog\(\) is called are written to STDERR)")
_PREFIXES = (b"I0000 ", b"W0000 ", b"INFO: ", b"WARNING: All log")
_installed: tuple[int, threading.Thread, tuple[int, int]] | None = None
_lock = threading.Lock()


def quiet_native_logs() -> None:
    """Set the C++ libraries' log levels and filter this process's stderr (once per process)."""
    global _installed
    os.environ.setdefault("GLOG_minloglevel", "2")     # glog builds: warnings and info off
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow builds: errors only
    with _lock:
        if _installed is not None:
            return
        try:
            terminal = os.dup(2)
        except OSError:  # no stderr at all: nothing to keep clean
            return
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        thread = threading.Thread(target=_forward, args=(read_end, terminal), name="native-log-filter", daemon=True)
        thread.start()
        _installed = (terminal, thread, _identity(2))
    atexit.register(_restore)


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def is_routine(line: bytes) -> bool:
    """An informational or warning line of MediaPipe's or TFLite's C++ code."""
    return _ROUTINE.match(line.lstrip(b"\r")) is not None


def _may_become_routine(tail: bytes) -> bool:
    """Could this unfinished line still turn out routine (wait for its end), or can it go now?"""
    tail = tail.lstrip(b"\r")
    return any(p.startswith(tail[:len(p)]) for p in _PREFIXES) or tail[:1] in (b"I", b"W") and \
        tail[1:5].isdigit()


def _forward(read_end: int, terminal: int) -> None:
    pending = b""
    while True:
        try:
            chunk = os.read(read_end, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not is_routine(line))
        if pending and not _may_become_routine(pending):  # a progress bar redraws without a newline
            out, pending = out + pending, b""
        if out:
            _write_all(terminal, out)
    if pending and not is_routine(pending):
        _write_all(terminal, pending)
    os.close(read_end)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:  # the terminal went away: nothing left to show
        pass


def _restore() -> None:
    """At exit: point stderr back at the terminal and let the filter pass on what it still holds."""
    global _installed
    with _lock:
        if _installed is None:
            return
        terminal, thread, pipe = _installed
        _installed = None
    try:
        if _identity(2) == pipe:  # (a test runner may have put its own file there since)
            os.dup2(terminal, 2)  # closes the pipe's last write end, so the filter reads to its end
    except OSError:
        return
    thread.join(timeout=2)
