"""One operation, two front ends: `avstudio analyze pose` and Analysis ▸ Analyse Target Pose (then
`avstudio retarget` and Analysis ▸ Retarget) on copies of one project give the same project — and a
new analysis of an analysed clip keeps the user's anchors from both."""

import shutil

import numpy as np
from PySide6.QtGui import QAction

from avstudio.cli import main
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag
from avstudio.editing.points import move_keypoint
from avstudio.workflows.landmarks import analyse
from avstudio.workflows.operation import run_now

from tests.gui.helpers import wait_frames

ANCHOR = (40, 12, 205.0, 150.0)  # frame, joint, x, y: a keypoint the user fixed


def _tracks(folder):
    p = load_project(folder)
    return p, {(t.meta.get("clip"), t.meta.get("layer")): t for t in p.tracks.values()}


def test_the_cli_and_the_editor_give_the_same_project(window, qtbot, demo_copy, tmp_path):
    p = load_project(demo_copy)
    run_now(p, analyse(p, "target", "pose"))
    run_now(p, analyse(p, "source", "pose", seed=(75, 1268, 700)))
    f, j, x, y = ANCHOR
    move_keypoint(p, p.find_track("target", "pose").id, f, j, x, y).apply(p)
    save_project(p)
    by_cli, by_gui = tmp_path / "cli.avproj", tmp_path / "gui.avproj"
    shutil.copytree(demo_copy, by_cli)
    shutil.copytree(demo_copy, by_gui)

    assert main(["analyze", "pose", str(by_cli), "--clip", "target", "-q"]) == 0
    assert main(["retarget", str(by_cli)]) == 0

    w = window
    assert w.projects.open_project(by_gui)
    wait_frames(qtbot, w, 0)
    w.findChild(QAction, "analyse_target_pose").trigger()
    qtbot.waitUntil(lambda: w.undo_stack.count() == 1, timeout=120000)
    w.findChild(QAction, "retarget").trigger()
    qtbot.waitUntil(lambda: w.undo_stack.count() == 2, timeout=30000)
    assert w.projects.save()

    a, ta = _tracks(by_cli)
    b, tb = _tracks(by_gui)
    assert ta.keys() == tb.keys() and ("source", "normalized") in ta
    for where in ta:
        assert ta[where].meta == tb[where].meta and ta[where].name == tb[where].name, where
        if where[1] == "pose":  # analysed before: the same track, edited in place
            assert ta[where].id == tb[where].id
        for name in ta[where].arrays:
            assert np.array_equal(ta[where].arrays[name], tb[where].arrays[name]), (where, name)
    assert a.settings == b.settings
    for t in (ta[("target", "pose")], tb[("target", "pose")]):
        assert np.allclose(t.points[f, j, :2], [x, y]) and t.flags[f, j] == Flag.EDITED  # the anchor stayed
    assert (ta[("target", "pose")].flags[:, 0] != Flag.MISSING).sum() >= 110  # and the rest is analysed
