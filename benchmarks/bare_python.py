"""Run a Python script as it would run on the bare GPU machine: only torch, numpy and safetensors (and
the standard library) importable — PyAV, MediaPipe, OpenCV, Qt, WORLD, soundfile and librosa refuse to
import. ``python benchmarks/bare_python.py SCRIPT [args]``; the test of benchmarks/gpu.py uses it."""

from __future__ import annotations

import importlib.abc
import runpy
import sys

BLOCKED = ("av", "cv2", "mediapipe", "PySide6", "shiboken6", "pyqtgraph", "qasync", "pyworld", "soundfile",
           "librosa", "scipy", "numba", "resemblyzer")


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed on the bare GPU machine")


if __name__ == "__main__":
    sys.meta_path.insert(0, _Blocker())
    script, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
