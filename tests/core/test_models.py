"""The run-folder layout and the model index: kinds from configs (old ones too), names that are never
paths, and a latest.json that cannot point outside its run."""

import json

import pytest

from avstudio.core import models
from avstudio.core.errors import ProjectError


def _run(folder, model_id, config, step=10):
    run = models.RunFolder.of(folder, model_id)
    ck = run.checkpoint_dir(step)
    ck.mkdir(parents=True)
    (ck / "config.json").write_text(json.dumps({"config": config}))
    run.latest_file.write_text(json.dumps({"checkpoint": ck.name, "step": step}))
    return run


def test_kinds_and_the_index(tmp_path):
    _run(tmp_path, "walk", {"preset": "preview"})                          # motion, before kinds were named
    _run(tmp_path, "v1", {"preset": "vc-preview", "kind": "cyclegan-vc2"})  # voice, before kinds were named
    _run(tmp_path, "v2", {"preset": "vc", "kind": "voice"})
    (tmp_path / "models" / "empty").mkdir()                                  # no checkpoint: not a model
    assert [(m.id, m.kind) for m in models.list_models(tmp_path)] == [("v1", "voice"), ("v2", "voice"),
                                                                       ("walk", "motion")]
    assert models.model_ids(tmp_path, models.MOTION) == ["walk"]
    assert models.model_ids(None) == []


@pytest.mark.parametrize("bad", ["../outside", "/abs", "a/b", "..", ".hidden", "", " trailing ", "x" * 81])
def test_a_model_name_is_never_a_path(bad):
    with pytest.raises(ProjectError):
        models.check_model_id(bad)


def test_latest_json_cannot_point_outside_its_run(tmp_path):
    run = _run(tmp_path, "walk", {"preset": "preview"})
    assert run.latest() == run.checkpoint_dir(10)
    elsewhere = tmp_path / "elsewhere" / "ckpt-00000010"
    elsewhere.mkdir(parents=True)
    (elsewhere / "config.json").write_text("{}")
    for name in ("../elsewhere/ckpt-00000010", str(elsewhere), "ckpt-10", None):
        run.latest_file.write_text(json.dumps({"checkpoint": name}))
        assert run.latest() is None, name
    (run.path / "ckpt-00000011").symlink_to(elsewhere, target_is_directory=True)
    run.latest_file.write_text(json.dumps({"checkpoint": "ckpt-00000011"}))
    assert run.latest() is None  # a link to a folder elsewhere
