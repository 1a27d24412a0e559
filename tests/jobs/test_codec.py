"""What crosses to a child process and back: JSON, numpy arrays (in an .npz beside the message, read
without pickle), tuples, paths and AV Studio's dataclasses — and nothing that would need pickling."""

from pathlib import Path

import numpy as np
import pytest

from avstudio.analysis.landmarks.extract import ExtractRequest, ExtractResult
from avstudio.core.progress import JobState
from avstudio.jobs import codec
from avstudio.jobs.subprocess_runner import SubprocessRunner


def test_arrays_dataclasses_and_tuples_cross_to_a_child_and_back(tmp_path):
    value = {"result": ExtractResult(3, np.random.rand(5, 33, 3).astype(np.float32),
                                     np.arange(165, dtype=np.uint8).reshape(5, 33), 1, 2),
             "request": ExtractRequest("clip.mp4", "face", 2, 9, (4, 10.5, 20.0), None, 2),
             "pair": (np.int64(7), [np.zeros(3), "x"]), "where": Path("/tmp/x")}
    temp = Path(codec.tempfile.gettempdir())
    before = set(temp.glob("avstudio-job-*.npz"))
    h = SubprocessRunner().submit("avstudio.jobs.diagnostics:echo", value, name="echo")
    assert h.wait(120) and h.state is JobState.DONE, h.error
    back = h.result
    r = back["result"]
    assert isinstance(r, ExtractResult) and r.start == 3 and r.points.dtype == np.float32
    assert np.array_equal(r.points, value["result"].points) and np.array_equal(r.flags, value["result"].flags)
    assert back["request"] == value["request"] and isinstance(back["request"].seed, tuple)
    assert back["pair"][0] == 7 and np.array_equal(back["pair"][1][0], np.zeros(3)) and back["where"] == Path("/tmp/x")
    assert set(temp.glob("avstudio-job-*.npz")) <= before  # no file left behind


def test_object_arrays_and_foreign_types_are_refused(tmp_path):
    with pytest.raises(TypeError):
        codec.Encoder().encode(np.array([object()]))
    with pytest.raises(ValueError):
        codec.decode({"__dataclass__": "os:PathLike", "fields": {}}, None)
