"""Values that cross the process boundary of the subprocess runner: JSON, plus numpy arrays (kept
in an .npz file beside the message, never pickled), tuples and the dataclasses of AV Studio.

A child's job can take a pose track as an argument and return an extraction result or a voice
analysis, while the JSON lines stay small. Decoding rebuilds only dataclasses defined inside the
``avstudio`` package and reads arrays with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import tempfile
from pathlib import Path

import numpy as np

_ARRAY, _TUPLE, _DATACLASS, _PATH = "__array__", "__tuple__", "__dataclass__", "__path__"


class Encoder:
    """Turns a value into JSON-able data; arrays are collected and written by :meth:`write`."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value):
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError("arrays of Python objects cannot cross to another process (they would be pickled)")
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {_ARRAY: key}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Path):
            return {_PATH: str(value)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            cls = type(value)
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {_DATACLASS: f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
        if isinstance(value, tuple):
            return {_TUPLE: [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): self.encode(v) for k, v in value.items()}
        return value

    def write(self) -> str | None:
        """Save the collected arrays to a new temporary .npz file; its path (None if there were none)."""
        if not self.arrays:
            return None
        fd, path = tempfile.mkstemp(prefix="avstudio-job-", suffix=".npz")
        os.close(fd)
        np.savez(path, **self.arrays)
        return path


def _dataclass(spec: str):
    module, _, name = spec.partition(":")
    if not module.startswith("avstudio.") or not name:
        raise ValueError(f"{spec!r} is not an AV Studio type")
    cls = getattr(importlib.import_module(module), name)
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"{spec!r} is not a dataclass")
    return cls


def decode(value, arrays_file: str | None):
    """The value :class:`Encoder` encoded; ``arrays_file`` is read (then removed) when given."""
    arrays = {}
    if arrays_file:
        try:
            with np.load(arrays_file, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        finally:
            try:
                os.unlink(arrays_file)
            except OSError:
                pass

    def dec(v):
        if isinstance(v, dict):
            if _ARRAY in v:
                return arrays[v[_ARRAY]]
            if _TUPLE in v:
                return tuple(dec(x) for x in v[_TUPLE])
            if _PATH in v:
                return Path(v[_PATH])
            if _DATACLASS in v:
                return _dataclass(v[_DATACLASS])(**{k: dec(x) for k, x in v["fields"].items()})
            return {k: dec(x) for k, x in v.items()}
        if isinstance(v, list):
            return [dec(x) for x in v]
        return v
    return dec(value)
