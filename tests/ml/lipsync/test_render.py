"""The retrieval renderer on real faces: the target's mouth follows the source's (re-detected on the
rendered frames), editing one frame's mouth renders that frame again and no other, an export has the
driver's frames, length and sound."""

import cv2
import numpy as np

from avstudio.analysis.landmarks.layouts import mouth_opening
from avstudio.core import layers
from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project, save_project
from avstudio.media.probe import probe
from avstudio.ml.lipsync.render import render
from avstudio.workflows.lipsync import drive as dr
from tests.ml.lipsync.helpers import redetected_opening, rendered


def test_the_target_mouth_follows_the_source_mouth(lipsync_project, artifacts):
    result = run_to_end(render(str(lipsync_project)))
    assert result["rendered"] == result["frames"] == 173 and result["left_as_filmed"] == 0
    frames, wanted = rendered(result, lipsync_project)
    gap, found = redetected_opening(frames, wanted)
    assert found.mean() > 0.95
    source = mouth_opening(load_project(lipsync_project).require_track("source", layers.FACE))
    r = np.corrcoef(gap[found], source[found])[0, 1]
    assert r >= 0.6, r
    strip = np.concatenate([cv2.resize(f[40:280, 90:310], (165, 180)) for f in frames[20:160:20]], 1)
    cv2.imwrite(str(artifacts / "lipsync_retrieval_driven.png"), strip[..., ::-1])


def test_editing_one_mouth_renders_that_frame_again_and_no_other(lipsync_project):
    first = run_to_end(render(str(lipsync_project)))
    p = load_project(lipsync_project)
    face, _ = dr.driven(p)
    x, y = face.points[30, 57, :2]
    dr.move_point(p, 30, 57, float(x), float(y) + 0.08).apply(p)
    save_project(p)
    second = run_to_end(render(str(lipsync_project)))
    assert (second["rendered"], second["cached"]) == (1, 172)
    assert first["cache"] == second["cache"]


def test_an_export_has_the_driver_frames_and_sound(lipsync_project, tmp_path):
    out = tmp_path / "talk.mp4"
    p = load_project(lipsync_project)
    source = p.media_path(p.media_by_role("source").id)
    run_to_end(render(str(lipsync_project), out=str(out), audio=str(source), layout="side_by_side"))
    info, src = probe(out), probe(source)
    assert info.video.frame_count == 173 and info.video.fps == src.video.fps
    assert info.audio and abs(info.duration - src.duration) < 0.2
    assert info.video.width == 800 and info.video.height == 300  # the source (400×300 here) beside the target
