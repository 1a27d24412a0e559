"""The subprocess side of :class:`SubprocessRunner`: ``python -m avstudio.jobs.worker``.

Reads one JSON request on stdin ({"job": "package.module:function", "args": [...], "kwargs": {...},
"arrays": file or null}), runs the job and writes JSON lines on stdout::

    {"type": "progress", "done": .., "total": .., "message": .., "data": {..}}
    {"type": "result", "value": .., "arrays": file or null}
    {"type": "error", "message": .., "details": .., "hint": .., "user": true|false}

Arguments and results may hold numpy arrays and AV Studio dataclasses (jobs/codec.py): arrays travel
in a temporary .npz file named beside the JSON, never pickled.

Later lines on stdin are control messages: {"cmd": "stop"} asks for a graceful stop (the job sees
``handle.stop_requested``). Cancel is not a message: the runner kills the process group.
Only functions inside the ``avstudio`` package may be named, so a request cannot run arbitrary code.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import threading
import traceback

from avstudio.core.errors import UserError
from avstudio.core.priority import lower_priority
from avstudio.jobs import codec
from avstudio.jobs.handle import JobHandle


def resolve(spec: str):
    module_name, _, func_name = spec.partition(":")
    if not module_name.startswith("avstudio.") or not func_name:
        raise ValueError(f"job {spec!r} is not an avstudio function")
    return getattr(importlib.import_module(module_name), func_name)


def _emit(stream, obj) -> None:
    stream.write(json.dumps(obj, default=str) + "\n")
    stream.flush()


def main() -> int:
    lower_priority()
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the protocol
    try:
        request = json.loads(sys.stdin.readline())
        job = resolve(request["job"])
    except Exception as exc:  # noqa: BLE001
        _emit(out, {"type": "error", "message": f"Bad job request: {exc}", "details": traceback.format_exc(),
                    "user": False})
        return 2
    handle = JobHandle(request.get("name") or request["job"])

    def read_controls():
        for line in sys.stdin:
            try:
                if json.loads(line).get("cmd") == "stop":
                    handle.request_stop()
            except ValueError:
                continue

    threading.Thread(target=read_controls, daemon=True).start()
    try:
        args, kwargs = codec.decode([request.get("args", []), request.get("kwargs", {})], request.get("arrays"))
        if "handle" in inspect.signature(job).parameters:
            kwargs["handle"] = handle
        gen = job(*args, **kwargs)
        if inspect.isgenerator(gen):
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if p is not None:
                    _emit(out, {"type": "progress", **p.to_json()})
        else:
            result = gen
        enc = codec.Encoder()
        value = enc.encode(result)
        _emit(out, {"type": "result", "value": value, "arrays": enc.write()})
        return 0
    except UserError as exc:
        _emit(out, {"type": "error", "message": exc.message, "details": exc.details or traceback.format_exc(),
                    "hint": exc.hint, "user": True})
        return 1
    except BaseException as exc:  # noqa: BLE001
        _emit(out, {"type": "error", "message": f"{handle.name} failed unexpectedly: {exc!r}",
                    "details": traceback.format_exc(), "user": False})
        return 1


if __name__ == "__main__":
    sys.exit(main())
