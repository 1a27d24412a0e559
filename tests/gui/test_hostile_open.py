"""The editor and damaged or contested projects (issue 16): a message, and the window stays usable."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from avstudio.core.store import load_project, save_project

from tests.conftest import media
from tests.core.test_hostile_project import _planted_npz, _zip_bomb, rewrite

REPO = Path(__file__).resolve().parents[2]


def _deep(folder: Path) -> None:
    (folder / "project.json").write_text("[" * 5000 + "]" * 5000)


def _track_id_path(folder: Path) -> None:
    tid = next(iter(json.loads((folder / "project.json").read_text())["tracks"]))
    rewrite(folder, lambda doc: doc["tracks"].update({"../../evil": doc["tracks"].pop(tid)}))


def _bomb(folder: Path) -> None:
    doc = json.loads((folder / "project.json").read_text())
    tid = next(t for t, e in doc["tracks"].items() if e.get("file"))
    _planted_npz(folder, tid, _zip_bomb())


def _meta_list(folder: Path) -> None:
    rewrite(folder, lambda doc: [e.update(meta=[1, 2]) for e in doc["tracks"].values()])


@pytest.mark.parametrize("damage", [_deep, _track_id_path, _bomb, _meta_list])
def test_a_damaged_project_is_a_message_and_the_editor_stays_usable(qtbot, window, demo_copy, tmp_path, damage):
    from avstudio.core.tracks import PoseTrack

    project = load_project(demo_copy)
    track = PoseTrack.empty(230, 33, "mediapipe33", name="pose")
    track.meta.update(clip="source", layer="pose")
    project.add_track(track)
    save_project(project)
    good = tmp_path / "good.avproj"
    save_project(load_project(demo_copy), good)
    assert window.projects.open_project(good)
    damage(demo_copy)
    assert not window.projects.open_project(demo_copy)
    assert "Demo.avproj" in window.statusBar().currentMessage()
    assert window.project.folder == good  # the open project is untouched
    window.projects.set_project(None)
    assert window.projects.open_project(good)


def test_autosave_folders_it_did_not_write_do_not_stop_the_editor(qtbot, window, demo_copy):
    for name in ("holiday photos", "20991231-235959-999999", "20991231-235959-999998"):
        (demo_copy / "autosave" / name).mkdir(parents=True)
    (demo_copy / "autosave" / "20991231-235959-999999" / "project.json").write_text("{ half written")
    assert window.projects.open_project(demo_copy)  # the unreadable copy is passed over
    assert window.project.folder == demo_copy
    window.projects.set_project(None)
    # A copy whose project.json reads but whose content is damaged: a message, then the saved version.
    copy = demo_copy / "autosave" / "20991231-235959-999998"
    (copy / "project.json").write_text('{"format": "avstudio-project", "schema_version": 1, '
                                       '"saved_at": "2099", "tracks": {"x": {"kind": "pose", "file": "tracks/x.npz"}}}')
    assert window.projects.open_project(demo_copy)
    assert window.project.folder == demo_copy and not window.project.tracks
    assert "tracks/x.npz" in window.statusBar().currentMessage() or "missing" in window.statusBar().currentMessage()


def test_the_editor_holds_its_project_against_commands(qtbot, window, demo_copy):
    assert window.projects.open_project(demo_copy)
    proc = subprocess.run([sys.executable, "-m", "avstudio", "set", str(demo_copy), "source_voice",
                           str(media("speech/jfk/jfk.wav"))], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "being changed by the AV Studio editor" in proc.stderr, proc.stderr
    window.projects.set_project(None)  # closing it lets commands in
    proc = subprocess.run([sys.executable, "-m", "avstudio", "set", str(demo_copy), "source_voice",
                           str(media("speech/jfk/jfk.wav"))], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr


def test_a_project_another_process_is_changing_is_not_opened(qtbot, window, demo_copy):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom avstudio.core.lock import acquire\n"
                               "l = acquire(sys.argv[1], 'the command `avstudio analyze pose`')\n"
                               "print('held', flush=True)\ntime.sleep(60)", str(demo_copy)],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not window.projects.open_project(demo_copy)
        assert "avstudio analyze pose" in window.statusBar().currentMessage()
        assert window.project is None
    finally:
        holder.kill()
        holder.wait()
    assert window.projects.open_project(demo_copy)


def test_a_save_over_changes_made_elsewhere_is_refused_and_nothing_is_lost(qtbot, window, demo_copy, tmp_path):
    assert window.projects.open_project(demo_copy)
    window.project.lock.release()  # as on a disk without locks (a network share)
    other = load_project(demo_copy)
    other.settings["elsewhere"] = 1
    save_project(other)
    window.project.settings["here"] = 1
    window.project.touch()
    window.undo_stack.resetClean()
    assert not window.projects.save()
    assert "changed on disk by another program" in window.statusBar().currentMessage()
    assert load_project(demo_copy).settings["elsewhere"] == 1
    assert window.windowTitle().startswith("Demo *")


def test_an_unexpected_error_is_shown_and_the_editor_goes_on(qtbot, window, demo_copy):
    from avstudio.gui.app import _unexpected

    assert window.projects.open_project(demo_copy)
    try:
        raise RuntimeError("planted")
    except RuntimeError as exc:
        _unexpected(window, type(exc), exc, exc.__traceback__)
    assert "unexpected error (RuntimeError: planted)" in window.statusBar().currentMessage()
    assert window.project.folder == demo_copy and window.isVisible()
