"""The learned speech → mouth model on the one person with two recordings that ships (Jon Peirce in
psychopy_testMovie.mp4 and psychopy_jwpIntro.mp4): trained on the first (its held-out fifth never
seen), it learns (losses fall), resumes exactly, beats the mean mouth on speech it never heard, and
drives the target's face from the other recording's speech as one undo step."""

import shutil

import numpy as np
import pytest
import torch

from avstudio.core import layers
from avstudio.core.edits import History
from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project, save_project
from avstudio.ml.lipsync.mouth_eval import evaluate_mouth
from avstudio.ml.lipsync.mouth_train import MouthModel, train_mouth
from avstudio.workflows.operation import run_now
from tests.conftest import media


@pytest.fixture(scope="module")
def _peirce(tmp_path_factory):
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.lipsync.speech import analyse_speech
    from avstudio.workflows.project import create_project

    folder = tmp_path_factory.mktemp("mouth") / "peirce.avproj"
    p = create_project(folder, source=media("face/psychopy_jwpIntro.mp4"), target=media("face/psychopy_testMovie.mp4"))
    for clip in ("source", "target"):
        run_now(p, analyse(p, clip, "face"))
        run_now(p, analyse_speech(p, clip))
    save_project(p)
    return folder


@pytest.fixture
def peirce(_peirce, tmp_path):
    dest = tmp_path / "peirce.avproj"
    shutil.copytree(_peirce, dest)
    return str(dest)


def test_a_short_run_learns_and_beats_the_mean_mouth_on_unheard_speech(peirce):
    r = run_to_end(train_mouth(peirce, steps=300, model_id="m", device="cpu"))
    assert r["step"] == 300
    losses = [float(line.split('"pos": ')[1].split(",")[0])
              for line in open(f"{peirce}/models/m/losses.jsonl")]
    assert np.mean(losses[-50:]) < 0.6 * np.mean(losses[:20])
    held = run_to_end(evaluate_mouth(peirce, "m"))                    # the target's last fifth
    assert held["model"]["ld_mouth"] < held["mean_mouth"]["ld_mouth"]
    other = run_to_end(evaluate_mouth(peirce, "m", against="source"))  # another recording of the same man
    assert other["model"]["ld_mouth"] < other["mean_mouth"]["ld_mouth"]
    assert other["model"]["ld_mouth"] < min(other["shifted_plus"]["ld_mouth"], other["shifted_minus"]["ld_mouth"])
    assert abs(other["model"]["lag"] - other["real"]["lag"]) <= 2


class StopAfter:
    """A job handle whose user presses Stop after ``n`` steps."""

    def __init__(self, n: int):
        self.n, self.asked = n, 0

    @property
    def stop_requested(self) -> bool:
        self.asked += 1
        return self.asked > self.n


def test_stop_then_resume_continues_exactly(peirce):
    run_to_end(train_mouth(peirce, steps=40, model_id="whole", device="cpu"))
    stopped = run_to_end(train_mouth(peirce, steps=40, model_id="split", device="cpu", handle=StopAfter(17)))
    assert stopped["stopped"] and stopped["step"] == 17
    run_to_end(train_mouth(peirce, model_id="split", resume=True, device="cpu"))
    a, b = MouthModel.load(peirce, "whole"), MouthModel.load(peirce, "split")
    for (k, x), (_, y) in zip(a.net.state_dict().items(), b.net.state_dict().items()):
        assert torch.equal(x, y), k


def test_the_model_drives_the_target_from_the_other_recording(peirce):
    from avstudio.workflows.lipsync.drive import driven_curves
    from avstudio.workflows.lipsync.mouth import predict

    run_to_end(train_mouth(peirce, steps=60, model_id="m", device="cpu"))
    p = load_project(peirce)
    h = History(p)
    run_now(p, predict(p, "source", "m"), h)
    face = p.require_track("driven", layers.DRIVEN)
    assert face.meta["speech_model"] == "m" and face.length == 175    # 5.79 s of sound on the target's 30.12 fps grid
    assert np.nanstd(driven_curves(p)[:, 0]) > 0.005
    assert len(h) == 1
    save_project(p)
    h.undo()
    assert p.find_track("driven", layers.DRIVEN) is None


def test_a_missing_or_altered_model_is_one_clear_message(peirce):
    from avstudio.core.errors import UserError

    with pytest.raises(UserError, match="no trained model named nope"):
        MouthModel.load(peirce, "nope")
    run_to_end(train_mouth(peirce, steps=4, model_id="m", device="cpu"))
    from avstudio.core.models import RunFolder

    weights = RunFolder.of(peirce, "m").latest() / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-64] + bytes(64))
    with pytest.raises(UserError, match="does not match"):
        MouthModel.load(peirce, "m")


def test_the_lip_sync_expert_reads_the_offset_of_another_recording(peirce):
    from avstudio.ml.lipsync.expert_train import evaluate_expert, train_expert
    from avstudio.ml.lipsync.mouth_eval import evaluate_mouth as score_mouth

    r = run_to_end(train_expert(peirce, steps=800, model_id="e", device="cpu"))
    assert r["step"] == 800
    m = run_to_end(evaluate_expert(peirce, "e", against="source"))   # a recording it never heard
    assert m["pairs_right"] > 0.6                                    # chance: 0.5
    assert abs(m["real"]["offset"]) <= 2                             # the footage as filmed is in sync…
    assert abs(m["shifted"]["offset"] - m["shift"]) <= 2             # …and a late sound is read as late
    run_to_end(train_mouth(peirce, steps=300, model_id="m", device="cpu"))
    s = run_to_end(score_mouth(peirce, "m", against="source", expert="e"))
    assert abs(s["model"]["expert"]["offset"]) <= 2 and s["real"]["expert"]["offset"] == m["real"]["offset"]
