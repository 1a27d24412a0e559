"""Actions are data: every shortcut has its action, every action an id and a menu, F1 lists them, and a
fix named by a lower layer (UserError.hint) is an action the editor can show as a menu path. Edits,
undo and redo tell the panels what changed through typed events."""

import re
from pathlib import Path

import numpy as np
from PySide6.QtGui import QAction, QUndoStack

from avstudio.cli.common import hint_command
from avstudio.core import roles
from avstudio.core.edits import ArrayEdit, ReplaceTrack, SetMedia, SetSetting
from avstudio.core.project import Project
from avstudio.core.tracks import PoseTrack
from avstudio.gui.events import ProjectEvents
from avstudio.gui.shortcuts import SHORTCUTS
from avstudio.gui.undo import push_edit

from tests.conftest import media

PACKAGE = Path(__file__).resolve().parents[2] / "avstudio"


def test_every_shortcut_has_an_action_and_every_action_an_id_and_a_menu(window):
    actions = window.ctx.actions
    assert set(SHORTCUTS) <= set(actions)
    in_menus = {a.objectName() for menu in window.menus.values() for a in menu.actions() if a.objectName()}
    assert set(actions) <= in_menus
    for action_id, action in actions.items():
        assert window.findChild(QAction, action_id) is action and action.text()
    listed = dict(window.shortcut_table())
    assert len(listed) == len(SHORTCUTS) and listed["Play / Pause"] == "Space" and listed["Re-analyse Range"] == "Ctrl+R"


def test_every_fix_a_message_names_is_an_action(window):
    hints = set(re.findall(r'hint="(\w+)"', "".join(p.read_text() for p in PACKAGE.rglob("*.py"))))
    # The hints made from a clip's role, for every role they can name.
    hints |= {f"analyse_{c}_{k}" for c in roles.VIDEO_ROLES for k in ("pose", "face")}
    hints |= {f"analyse_{c}" for c in roles.VOICE_CLIPS} | {f"set_{r}" for r in roles.VIDEO_ROLES + roles.VOICE_ROLES}
    missing = sorted(h for h in hints if h not in window.ctx.actions)
    assert not missing, missing
    # …and a command the CLI can print ("save": a CLI's project is always saved).
    assert sorted(h for h in hints if hint_command(h) is None) == ["save"]
    assert window.ctx.hint_text("analyse_target_pose") == " (Analysis ▸ Analyse Target Pose)"
    assert window.ctx.hint_text("relink") == " (File ▸ Relink Missing Media)"


def test_edits_undo_and_redo_say_what_changed(qapp, tmp_path):
    p = Project("events", tmp_path)
    t = PoseTrack.empty(10, 33, "mediapipe33", name="target pose")
    t.meta.update({"clip": "target", "layer": "pose"})
    stack, events = QUndoStack(), ProjectEvents()
    seen = []
    events.trackChanged.connect(lambda *a: seen.append(("track", *a)))
    events.settingChanged.connect(lambda k: seen.append(("setting", k)))
    events.mediaChanged.connect(lambda role: seen.append(("media", role)))
    push_edit(stack, p, ReplaceTrack(t), events)
    assert seen == [("track", t.id, "target", "pose")]
    push_edit(stack, p, ArrayEdit.make(p, t.id, "points", (np.array([3]), np.array([5])), [1, 2, 1]), events)
    push_edit(stack, p, SetSetting("retarget", {"median": 7}), events)
    assert seen[1:] == [("track", t.id, "target", "pose"), ("setting", "retarget")]
    seen.clear()
    stack.undo()
    stack.undo()
    stack.undo()  # the track goes away: its removal is told too, with where it was
    assert seen == [("setting", "retarget"), ("track", t.id, "target", "pose"), ("track", t.id, "target", "pose")]
    assert t.id not in p.tracks
    seen.clear()
    push_edit(stack, p, SetMedia(p.new_media_ref(media("body/vtest_walker_crop.mp4"), "target")), events)
    assert seen == [("media", "target")] and p.media_by_role("target") is not None
    stack.undo()
    assert seen == [("media", "target")] * 2 and p.media_by_role("target") is None
