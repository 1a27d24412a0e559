"""Checkpoints made by the previous training code (main at 1142e83, two training loops with their
own config keys) resume with today's shared loop: the config is read with today's keys, and the
continued run repeats the old code's own continuation (fixtures/legacy/README.md)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import PoseTrack
from avstudio.gui.app import DEMO
from avstudio.ml import checkpoint as ck

FIX = Path(__file__).parent / "fixtures" / "legacy"
EXPECTED = json.loads((FIX / "expected.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("legacy") / "Demo.avproj"
    shutil.copytree(DEMO, folder)
    p = load_project(folder)
    z = np.load(FIX / "target_pose.npz")
    ref = p.media_by_role("target")
    p.add_track(PoseTrack({"points": z["points"], "flags": z["flags"]},
                          {"skeleton": "mediapipe33", "clip": "target", "layer": "pose", "media_id": ref.id},
                          name="target pose"))
    save_project(p)
    for run in ("motion-legacy", "voice-legacy"):
        shutil.copytree(FIX / run, folder / "models" / run)
    # The voice run names its recordings by where they were: point them at this copy of the demo.
    cfg = folder / "models" / "voice-legacy" / "ckpt-00000004" / "config.json"
    doc = json.loads(cfg.read_text())
    doc["sources"] = {"source": [str(folder / "media" / "source_voice-demo-echotest.flac")],
                      "target": [str(folder / "media" / "target_voice-demo-echotest.flac")]}
    cfg.write_text(json.dumps(doc))
    return folder


def _losses(folder, model):
    return [json.loads(line) for line in (folder / "models" / model / "losses.jsonl").read_text().splitlines()]


def _compare(got: list[dict], expected: list[dict]) -> None:
    assert [r["step"] for r in got] == [r["step"] for r in expected] == list(range(1, 9))
    assert got[:4] == expected[:4]  # the history before the resume is kept as it was
    for g, e in zip(got[4:], expected[4:]):
        assert g.keys() == e.keys()
        for k in e:
            # Same batches, same learning rates, same optimizer state: the old run's numbers (to the
            # float noise another CPU's kernels may add).
            assert np.isclose(g[k], e[k], rtol=2e-3, atol=1e-5), (g["step"], k, g[k], e[k])


def test_a_motion_checkpoint_of_the_previous_code_resumes(demo):
    from avstudio.ml.motion.train import train

    out = run_to_end(train(str(demo), preset="preview", steps=8, model_id="motion-legacy", resume=True, device="cpu"))
    assert out["step"] == 8 and not out["stopped"]
    _compare(_losses(demo, "motion-legacy"), EXPECTED["motion"]["losses"])
    doc, _ = ck.load_checkpoint(demo / "models" / "motion-legacy")
    assert doc["config"]["kind"] == "motion" and "decay_from" not in doc["config"]


def test_a_voice_checkpoint_of_the_previous_code_resumes(demo):
    from avstudio.ml.voice.train import train_voice

    out = run_to_end(train_voice(str(demo), [], [], "vc-preview", steps=8, model_id="voice-legacy", resume=True,
                                 device="cpu"))
    assert out["step"] == 8 and not out["stopped"]
    _compare(_losses(demo, "voice-legacy"), EXPECTED["voice"]["losses"])
    doc, _ = ck.load_checkpoint(demo / "models" / "voice-legacy")
    assert doc["config"]["kind"] == "voice" and "decay_from" not in doc["config"]
