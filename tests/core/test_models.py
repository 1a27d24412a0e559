"""The run-folder layout and the model index: kinds from configs (old ones too), names that are never
paths, and a latest.json that cannot point outside its run."""

import json

import pytest

from avstudio.core import models
from avstudio.core.errors import ProjectError, UserError


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


# ---- issue 16: a project never reaches outside itself through its models -------------------------

def _outside_model(tmp_path):
    """A complete-looking model folder outside the project (what a link or a path would reach)."""
    outside = tmp_path / "outside"
    ck = outside / "ckpt-00000010"
    ck.mkdir(parents=True)
    (ck / "config.json").write_text(json.dumps({"config": {"preset": "preview"}}))
    (outside / "latest.json").write_text(json.dumps({"checkpoint": ck.name}))
    return outside


def test_a_model_folder_linked_to_elsewhere_is_refused_with_a_message(tmp_path):
    project = tmp_path / "P.avproj"
    (project / "models").mkdir(parents=True)
    (project / "models" / "linked").symlink_to(_outside_model(tmp_path), target_is_directory=True)
    with pytest.raises(ProjectError, match="outside the project's models folder"):
        models.RunFolder.of(project, "linked")
    assert models.model_ids(project) == []  # and the index does not list it
    # A link to another model of the same project stays inside: allowed.
    _run(project, "real", {"preset": "preview"})
    (project / "models" / "alias").symlink_to(project / "models" / "real", target_is_directory=True)
    assert models.RunFolder.of(project, "alias").latest() is not None


def test_a_models_folder_linked_to_elsewhere_is_refused(tmp_path):
    project = tmp_path / "P.avproj"
    project.mkdir()
    elsewhere = tmp_path / "elsewhere-models"
    elsewhere.mkdir()
    _run(tmp_path / "other", "m", {"preset": "preview"})
    (project / "models").symlink_to(tmp_path / "other" / "models", target_is_directory=True)
    with pytest.raises(ProjectError, match="outside the project's models folder"):
        models.RunFolder.of(project, "m")


def test_checkpoint_named_keeps_to_its_own_model(tmp_path):
    run = _run(tmp_path, "walk", {"preset": "preview"})
    other = _run(tmp_path, "other", {"preset": "preview"})
    assert run.checkpoint_named("ckpt-00000010") == run.checkpoint_dir(10)
    assert run.checkpoint_named(str(run.checkpoint_dir(10))) == run.checkpoint_dir(10)
    outside = _outside_model(tmp_path)
    for bad in (str(other.checkpoint_dir(10)), str(outside / "ckpt-00000010"), "../other/ckpt-00000010", "..",
                "/etc", "ckpt-00000011", str(run.path / ".." / "other" / "ckpt-00000010")):
        with pytest.raises(ProjectError):
            run.checkpoint_named(bad)
    # A checkpoint whose config is a link out of it is refused too.
    link = run.checkpoint_dir(12)
    link.mkdir()
    (link / "config.json").symlink_to(outside / "ckpt-00000010" / "config.json")
    with pytest.raises(ProjectError, match="outside its checkpoint"):
        run.checkpoint_named(link.name)


def test_latest_json_is_read_bounded_by_size_and_type(tmp_path):
    import os

    run = _run(tmp_path, "walk", {"preset": "preview"})
    run.latest_file.unlink()
    run.latest_file.symlink_to("/dev/zero")  # reading it never ends
    assert run.latest() is None
    with pytest.raises(UserError, match="a link to /dev/zero, outside its model's folder"):
        run.latest_checked()

    run.latest_file.unlink()
    os.mkfifo(run.latest_file)  # reading it waits forever
    assert run.latest() is None and models.list_models(tmp_path) == []
    with pytest.raises(UserError, match="not a regular file"):
        run.latest_checked()
    run.latest_file.unlink()
    with open(run.latest_file, "wb") as f:  # a gigabyte, sparse
        f.truncate(1 << 30)
    with pytest.raises(UserError, match="MiB"):
        run.latest_checked()
    run.latest_file.write_text("[" * 30_000)  # nested beyond reason
    with pytest.raises(UserError, match="not a readable"):
        run.latest_checked()
    run.latest_file.write_text(json.dumps({"checkpoint": "../../elsewhere"}))
    with pytest.raises(ProjectError, match="not one of this model's checkpoints"):
        run.latest_checked()


def test_a_huge_config_json_is_not_read(tmp_path):
    run = _run(tmp_path, "walk", {"preset": "preview"})
    with open(run.checkpoint_dir(10) / "config.json", "wb") as f:  # a terabyte, sparse: never read
        f.truncate(1 << 40)
    assert run.latest_config() is None and models.list_models(tmp_path) == []
