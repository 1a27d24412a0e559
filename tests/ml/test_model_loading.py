"""Issue 16, the model side: every model load goes through one resolution (ids, never paths; nothing
outside the project), refuses another kind naming both, checks its config's ranges and its weights'
names and shapes before anything is built; training checks its steps, removes what a killed save
left, and says "the disk is full" — with the previous checkpoint intact — where it used to die."""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from avstudio.core import models
from avstudio.core.errors import UserError
from avstudio.core.progress import run_to_end
from avstudio.ml import checkpoint as ck
from avstudio.ml import runs
from avstudio.ml.kinds import MODEL_KINDS
from avstudio.ml.motion.build import checkpoint_nets as motion_nets
from avstudio.ml.voice.nets import checkpoint_nets
from avstudio.workflows.project import create_project
from avstudio.workflows.training import TrainRequest

from tests.ml.tiny_models import MAKERS, load_ready, write_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with one tiny model of each kind, named after its kind."""
    folder = tmp_path_factory.mktemp("loading")
    create_project(folder / "P")
    proj = folder / "P.avproj"
    for kind in MAKERS:
        write_model(proj, kind, kind)
    return proj


def _copy(project, source: str, name: str) -> Path:
    dst = project / "models" / name
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(project / "models" / source, dst, symlinks=True)
    return dst


def _edit_config(ckpt: Path, change) -> None:
    doc = json.loads((ckpt / "config.json").read_text())
    change(doc)
    (ckpt / "config.json").write_text(json.dumps(doc))


def test_each_kind_loads(project):
    for kind in MAKERS:
        load_ready(project, kind, kind)


@pytest.mark.parametrize("wanted", list(MAKERS))
def test_a_model_of_another_kind_is_refused_naming_both_kinds_and_the_right_models(project, wanted):
    other = models.VOICE if wanted == models.MOTION else models.MOTION
    with pytest.raises(UserError) as err:
        load_ready(project, other, wanted)
    text = str(err.value)
    assert MODEL_KINDS[other].noun in text and MODEL_KINDS[wanted].noun in text
    assert f": {wanted}." in text  # the project's models of the wanted kind, by name


def test_a_missing_model_says_so_and_how_to_make_one(tmp_path):
    create_project(tmp_path / "Empty")
    with pytest.raises(UserError, match="no trained model named nothing") as err:
        load_ready(tmp_path / "Empty.avproj", "nothing", models.VOICE)
    assert err.value.hint == "train_voice" and "no voice model yet" in str(err.value)


def test_every_preset_is_within_its_kinds_ranges():
    from avstudio.ml import schema
    from avstudio.ml.lipsync.presets import _config

    for kind in MODEL_KINDS.values():
        for preset in kind.presets:
            cfg = _config(kind.presets, kind.noun, kind.name, preset, {})
            assert schema.check_config(cfg, "preset") == kind.name


def test_out_of_range_config_values_are_refused_before_anything_is_built(project):
    """The tester's pyworld segfault (n_mcep 1000000) and allocator failure (a huge width)."""
    ckpt = ck.latest_checkpoint(_copy(project, models.VOICE, "huge"))
    for key, value, allowed in (("n_mcep", 1_000_000, "from 8 to 128"), ("width", 1e9, "from 0.01 to 4"),
                                ("sample_rate", float("nan"), "whole number"), ("f0_method", "yin", "'harvest'")):
        _edit_config(_copy(project, models.VOICE, "huge") / ckpt.name, lambda d: d["config"].__setitem__(key, value))
        with pytest.raises(UserError) as err:
            load_ready(project, "huge", models.VOICE)
        text = str(err.value)
        assert str(ckpt / "config.json") in text and f'"{key}"' in text and allowed in text, text
        assert repr(value) in text or str(value) in text


def test_a_config_value_in_range_that_does_not_fit_the_weights_is_refused_unbuilt(project, monkeypatch):
    ckpt = ck.latest_checkpoint(_copy(project, models.MOTION, "wider"))
    _edit_config(ckpt, lambda d: d["config"].__setitem__("ngf", 256))
    import avstudio.ml.motion.train as motion_train
    monkeypatch.setattr(motion_train, "Trainer", None)  # nothing may be built: refused on the meta device
    with pytest.raises(UserError, match="do not fit the network its config describes"):
        load_ready(project, "wider", models.MOTION)


def _rewrite_weights(ckpt: Path, change) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(ckpt / "weights.safetensors"))
    change(tensors)
    save_file(tensors, str(ckpt / "weights.safetensors"))
    _edit_config(ckpt, lambda d: d.__setitem__("weights_sha256", ck._sha256(ckpt / "weights.safetensors")))


@pytest.mark.parametrize("kind", list(MAKERS))
def test_weights_with_wrong_names_or_shapes_are_a_message(project, kind):
    ckpt = ck.latest_checkpoint(_copy(project, kind, "renamed"))
    _rewrite_weights(ckpt, lambda t: t.__setitem__("x." + (k := sorted(t)[0]), t.pop(k)))
    with pytest.raises(UserError, match="do not fit|damaged"):
        load_ready(project, "renamed", kind)
    ckpt = ck.latest_checkpoint(_copy(project, kind, "reshaped"))
    _rewrite_weights(ckpt, lambda t: t.__setitem__(k := max(n for n in t if "." in n), torch.zeros(3, *t[k].shape)))
    with pytest.raises(UserError, match="do not fit|damaged"):
        load_ready(project, "reshaped", kind)


def test_a_checkpoint_must_be_one_of_the_models_own(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(project / "models" / models.VOICE, elsewhere)
    own = ck.latest_checkpoint(project / "models" / models.VOICE)
    doc, _ = ck.load_model(project, models.VOICE, models.VOICE, checkpoint_nets, checkpoint=str(own))
    assert doc["path"] == str(own)
    for bad in (str(elsewhere / own.name), str(ck.latest_checkpoint(project / "models" / models.MOTION)),
                f"../{models.MOTION}/{own.name}", "../../../outside"):
        with pytest.raises(UserError, match="is not a checkpoint of the model"):
            ck.load_model(project, models.VOICE, models.VOICE, checkpoint_nets, checkpoint=bad)
    for bad_id in ("../../../outside", str(elsewhere), "voice/../motion"):
        with pytest.raises(UserError, match="cannot name a model"):
            ck.load_model(project, bad_id, models.VOICE, checkpoint_nets)


def test_a_linked_model_folder_is_refused_when_loading(project, tmp_path):
    outside = tmp_path / "outside-model"
    shutil.copytree(project / "models" / models.EXPERT, outside)
    (project / "models" / "linked").symlink_to(outside, target_is_directory=True)
    try:
        with pytest.raises(UserError, match="outside the project's models folder"):
            load_ready(project, "linked", models.EXPERT)
    finally:
        (project / "models" / "linked").unlink()


@pytest.mark.parametrize("steps", [-5, 0, 10**12, True, 2.5])
def test_training_steps_are_checked_in_the_request(steps, tmp_path):
    with pytest.raises(UserError, match="number of training steps must be a whole number from 1"):
        TrainRequest(steps=steps)
    with pytest.raises(UserError, match="must be a whole number from 1"):
        runs.open_run(str(tmp_path), "m", False, "preview", steps, 0, lambda: {}, models.MOTION, motion_nets)
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("seed", [-1, 2**60, "1"])
def test_training_seeds_are_checked_in_the_request(seed):
    with pytest.raises(UserError, match="random seed must be a whole number from 0"):
        TrainRequest(seed=seed)


def test_resuming_to_fewer_steps_than_done_is_refused(project):
    with pytest.raises(UserError, match="at step 4 already"):
        runs.open_run(str(project), models.MOTION, True, "preview", 2, 0, lambda: {}, models.MOTION, motion_nets)
    with pytest.raises(UserError, match="is a voice model, not a motion-transfer model"):
        runs.open_run(str(project), models.VOICE, True, "preview", 8, 0, lambda: {}, models.MOTION, motion_nets)


@pytest.mark.parametrize("meta", [None, {}, {"param_groups": "x"}, {"param_groups": [{"params": [9]}]},
                                  {"param_groups": [], "state/0/step": "x"}])
def test_a_damaged_optimizer_state_is_a_message(meta):
    net = torch.nn.Linear(2, 2)
    with pytest.raises(UserError, match="optimizer state in ckpt does not fit"):
        ck.load_optimizer_state(torch.optim.Adam(net.parameters()), {}, meta, "ckpt")


class FakeSteps:
    """A kind of model with no network: the loop's own files are what is tested."""

    total, notes, oom_message = 3, [], "out of memory"

    def __init__(self, sample_error: OSError | None = None):
        self.sample_error = sample_error

    def step(self, step):
        return {"g": 1.0, "d": 1.0}

    def sample(self, done, folder):
        if self.sample_error:
            raise self.sample_error
        return runs.write_picture_sample(folder, done, torch.zeros(8, 8, 3, dtype=torch.uint8).numpy()), None

    def describe(self, done, losses, rate):
        return f"step {done}"

    def checkpoint(self):
        return {"w": torch.zeros(4)}, {}


CFG = {"checkpoint_every": 100, "sample_every": 1, "steps": 3}


def test_leftovers_of_a_killed_save_are_removed_when_a_run_starts_or_saves(tmp_path):
    folder = models.RunFolder.of(tmp_path, "m")
    leftover = folder.path / ".tmp-1234abcd"
    leftover.mkdir(parents=True)
    (leftover / "weights.safetensors").write_bytes(b"\0" * 1000)
    run_to_end(runs.train_loop(runs.Run(folder, dict(CFG), 0), FakeSteps()))
    assert not list(folder.path.glob(".tmp-*")) and folder.latest().name == "ckpt-00000003"
    (folder.path / ".tmp-5678abcd").mkdir()
    ck.save_checkpoint(folder.path, 4, dict(CFG), {"w": torch.zeros(4)})
    assert not list(folder.path.glob(".tmp-*"))


def test_a_checkpoint_that_does_not_fit_says_the_disk_is_full_and_keeps_the_previous(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    folder = models.RunFolder.of(tmp_path, "m")
    ck.save_checkpoint(folder.path, 1, dict(CFG), {"w": torch.zeros(4)})
    before = folder.latest_file.read_text()

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    monkeypatch.setattr(ck, "save_file", full)
    with pytest.raises(UserError, match="the disk is full.*previous checkpoint is still good"):
        ck.save_checkpoint(folder.path, 2, dict(CFG), {"w": torch.zeros(4)})
    assert folder.latest_file.read_text() == before and not list(folder.path.glob(".tmp-*"))


def test_a_sample_that_does_not_fit_is_a_message(tmp_path):
    folder = models.RunFolder.of(tmp_path, "m")
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(UserError, match="the disk is full.*No checkpoint of this model was saved yet"):
        run_to_end(runs.train_loop(runs.Run(folder, dict(CFG), 0), FakeSteps(full)))


# What the tester did, on a real file system that fills up: a tmpfs mounted in a user namespace (no
# root needed). Run in a child process: a SIGBUS there must not take the test run with it.
FULL_DISK = r'''
import json, sys
from pathlib import Path
import numpy as np, torch
from avstudio.core import models
from avstudio.core.errors import UserError
from avstudio.core.progress import run_to_end
from avstudio.ml import checkpoint as ck, runs
from avstudio.ml.arrays import disk_array
from tests.ml.test_model_loading import CFG, FakeSteps

root, out = Path(sys.argv[1]), {}
folder = models.RunFolder.of(root, "m")
ck.save_checkpoint(folder.path, 1, dict(CFG), {"w": torch.zeros(16)})
before = folder.latest_file.read_text()
try:
    ck.save_checkpoint(folder.path, 2, dict(CFG), {"w": torch.zeros(1 << 20)})  # 4 MB on a 1 MB disk
except UserError as exc:
    out["checkpoint"] = str(exc)
out["latest_kept"] = folder.latest_file.read_text() == before and folder.latest() is not None
out["no_leftovers"] = not list(folder.path.glob(".tmp-*"))
try:
    a = disk_array(root / "frames.npy", np.uint8, (64, 128, 128, 3))  # 3 MB, written through a memory map
    a[:] = 1
except UserError as exc:
    out["memmap"] = str(exc)
(root / "frames.npy").unlink(missing_ok=True)
with open(root / "filler", "wb") as f:  # leave the loop no room for its losses
    try:
        f.write(b"\0" * (1 << 21))
    except OSError:
        pass
try:
    run_to_end(runs.train_loop(runs.Run(models.RunFolder.of(root, "n"), dict(CFG), 0), FakeSteps()))
except UserError as exc:
    out["loop"] = str(exc)
print(json.dumps(out))
'''


def test_a_real_full_disk_is_a_message_and_keeps_the_previous_checkpoint(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare: cannot mount a small file system without root")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK)
    inner = f'mount -t tmpfs -o size=1m tmpfs "{disk}" && exec "{sys.executable}" "{script}" "{disk}"'
    p = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", inner], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if p.returncode != 0 and "mount" in p.stderr and not p.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()[:200]}")
    assert p.returncode == 0, p.stderr[-3000:]  # never SIGBUS (-7 / 135) nor a traceback
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert "the disk is full" in out["checkpoint"] and "previous checkpoint is still good" in out["checkpoint"]
    assert out["latest_kept"] and out["no_leftovers"]
    assert "the disk is full" in out["memmap"]
    assert "the disk is full" in out["loop"] and "Training stopped" in out["loop"]
