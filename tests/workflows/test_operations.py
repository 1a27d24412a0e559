"""Operations without a front end: what they need, where they run, how their results become edits —
the logic the editor's window used to hold, tested fast and headless."""

import shutil

import numpy as np
import pytest

from avstudio.analysis.landmarks.extract import ExtractResult
from avstudio.core import models
from avstudio.core.edits import History, ReplaceTrack
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.store import load_project
from avstudio.core.tracks import AudioTrack, Flag, PoseTrack
from avstudio.gui.app import DEMO
from avstudio.workflows import landmarks, motion, project as project_ops, training, voice
from avstudio.workflows.operation import Runs


@pytest.fixture
def demo(tmp_path):
    folder = tmp_path / "Demo.avproj"
    shutil.copytree(DEMO, folder)
    return load_project(folder)


def _result(start, n, x=100.0):
    pts = np.zeros((n, 33, 3), np.float32)
    pts[..., 0], pts[..., 1], pts[..., 2] = x, 200.0, 0.9
    return ExtractResult(start, pts, np.zeros((n, 33), np.uint8), 0, 0)


def test_where_work_runs_is_decided_by_the_work(demo):
    assert landmarks.analyse(demo, "target", "pose").runs is Runs.PROCESS       # MediaPipe
    assert voice.analyse(demo, "source_voice").runs is Runs.PROCESS             # WORLD
    assert project_ops.set_media(demo, "target", __file__).runs is Runs.THREAD  # a probe
    assert getattr(training.train, "needs_saved") and getattr(voice.convert, "needs_saved")
    assert getattr(voice.analyse, "needs_folder") and not getattr(landmarks.analyse, "needs_saved", False)


def test_a_new_analysis_merges_keeping_anchors_unless_replace(demo):
    h = History(demo)
    h.push(landmarks.extraction_edit(demo, "target", "pose", _result(0, 130)))
    track = demo.find_track("target", "pose")
    assert isinstance(h._done[-1], ReplaceTrack) and track.meta["skeleton"] == "mediapipe33"
    from avstudio.editing.points import move_keypoint
    h.push(move_keypoint(demo, track.id, 10, 3, 5.0, 6.0))
    h.push(landmarks.extraction_edit(demo, "target", "pose", _result(0, 130, x=300.0)))
    assert np.allclose(track.points[10, 3, :2], [5, 6]) and track.flags[10, 3] == Flag.EDITED
    assert np.allclose(track.points[11, 3, 0], 300)
    op = landmarks.analyse(demo, "target", "pose", replace=True)
    h.push(op.edit(demo, _result(0, 130, x=50.0)))
    assert demo.find_track("target", "pose").flags[10, 3] == Flag.AUTO  # replaced: the anchor went too
    assert "stored as a new track" in op.describe(_result(0, 130))


def test_an_openpose_track_is_replaced_not_merged(demo):
    ref = demo.media_by_role("target")
    t = PoseTrack.empty(130, 25, "body25", ref.id)
    t.meta.update({"clip": "target", "layer": "pose"})
    demo.add_track(t)
    assert not landmarks.merges(demo, "target", "pose", replace=False)
    edit = landmarks.extraction_edit(demo, "target", "pose", _result(0, 130))
    assert isinstance(edit, ReplaceTrack) and edit.track.id == t.id and edit.track.meta["skeleton"] == "mediapipe33"


def test_soundtracks_are_what_the_project_has(demo):
    tracks = project_ops.soundtracks(demo, "source")
    assert [k for k, _, _ in tracks] == ["clip", "source_voice", "target_voice"]
    conv = demo.folder / "cache" / "audio" / "converted.wav"
    conv.parent.mkdir(parents=True)
    conv.write_bytes(b"RIFF")
    demo.add_track(AudioTrack({}, {"clip": "converted", "layer": "audio", "file": "cache/audio/converted.wav"}))
    assert project_ops.soundtracks(demo, "target")[-1][0] == "converted"
    assert project_ops.soundtracks(None, "source") == []


def test_training_requests_become_each_kinds_arguments(demo):
    op = training.train(demo, training.TrainRequest(kind="voice", steps=5, model_id="v"))
    kw = op.kwargs
    assert op.job == "avstudio.ml.voice.train:train_voice" and op.runs is Runs.PROCESS
    assert kw["preset"] == "vc-preview" and kw["steps"] == 5 and kw["source"][0].endswith("source_voice-demo-echotest.flac")
    op = training.train(demo, training.TrainRequest(steps=7, gpus=2, options={"augment": True}))
    assert op.job == "avstudio.ml.ddp:launch" and op.args[0] == 2 and op.args[1]["augment"] and op.args[1]["preset"] == "preview"
    with pytest.raises(UserError, match="which model to resume"):
        training.train(demo, training.TrainRequest(resume=True))
    with pytest.raises(ProjectError, match="cannot name a model"):
        training.train(demo, training.TrainRequest(model_id="../up"))
    with pytest.raises(UserError, match="no trained model"):
        training.evaluate(demo, "nothing")


def test_retarget_needs_both_poses_and_says_what_it_did(demo):
    with pytest.raises(ProjectError, match="has no pose track yet") as err:
        motion.retarget(demo)
    assert err.value.hint == "analyse_source_pose"


def test_metrics_lines_per_kind():
    m = {"step": 30, "heldout_frames": [117, 129], "model": {"ssim": 0.93, "psnr": 23.2, "pck_010": 0.5},
         "baseline_mean_frame": {"ssim": 0.9, "psnr": 21.0, "pck_010": 0.0}}
    assert training.metrics_summary(models.MOTION, m) == (
        "step 30: SSIM 0.930 · PSNR 23.2 dB · PCK@0.1 0.50 — Held-out frames 117–129 (mean-frame baseline: "
        "SSIM 0.900 · PSNR 21.0 dB · PCK@0.1 0.00)")
    v = {"step": 4, "converted": {"mean_offset_semitones": 0.5}, "baseline_unconverted": {"mean_offset_semitones": 7.0},
         "speaker_similarity": {"converted_vs_target": 0.8, "unconverted_vs_target": 0.6}}
    assert training.metrics_summary(models.VOICE, v) == (
        "step 4: converted pitch +0.50 semitones from the target speaker's mean · speaker similarity 0.80 — "
        "Unconverted source (baseline): pitch +7.00 semitones from the target speaker's mean · speaker similarity 0.60")
