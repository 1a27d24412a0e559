import shutil

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDropEvent

from avstudio.core.progress import JobState
from avstudio.core.store import load_project
from avstudio.jobs.diagnostics import sleep_steps
from avstudio.media.probe import probe
from avstudio.workflows.project import ExportRequest

from tests.conftest import media
from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate, wait_frames


def test_opens_demo_and_shows_both_clips(qtbot, window, demo_copy):
    assert window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    assert set(window.clips.loaders) == {"source", "target"}
    img = window.views["source"].image.image
    assert img.shape == (994, 1768, 3) and img.std() > 10  # a real picture, not a blank placeholder
    assert window.views["target"].image.image.shape == (376, 450, 3)
    assert "Demo" in window.windowTitle() and "frame 1/230" in window.transport.timecode.text()
    assert str(demo_copy) in window.projects.recent()
    save_screenshot(window, "01_demo_opened")


def test_keys_step_and_scrub_are_frame_exact(qtbot, window, demo_copy):
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    activate(qtbot, window)
    window.setFocus()
    qtbot.keyClick(window, Qt.Key_Right)
    assert window.player.frame == 1
    qtbot.keyClick(window, Qt.Key_Right, Qt.ControlModifier)
    assert window.player.frame == 11
    qtbot.keyClick(window, Qt.Key_Left)
    assert window.player.frame == 10
    wait_frames(qtbot, window, 10)
    src = window.clips.loaders["source"].source
    assert np.array_equal(window.views["source"].image.image, src.get_frame(10))
    # The target (10 fps) follows by time: source frame 10 at 30 fps is t=0.333 s -> target frame 3.
    qtbot.waitUntil(lambda: window.views["target"].frame_index == 3, timeout=5000)
    window.transport.scrub.setValue(150)
    wait_frames(qtbot, window, 150)
    assert np.array_equal(window.views["source"].image.image, src.get_frame(150))
    assert "frame 151/230" in window.transport.timecode.text()


def test_play_with_silent_clock_advances_and_pauses(qtbot, window, demo_copy):
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    assert not window.player.clock.has_audio  # no audio device here: silent clock
    qtbot.keyClick(window, Qt.Key_Space)
    assert window.player.playing
    qtbot.waitUntil(lambda: window.player.frame >= 15, timeout=10000)
    qtbot.keyClick(window, Qt.Key_Space)
    assert not window.player.playing
    frame = window.player.frame
    qtbot.wait(200)
    assert window.player.frame == frame
    save_screenshot(window, "02_playing")


def test_jobs_panel_progress_cancel_and_error(qtbot, window):
    h = window.jobs.run(sleep_steps, 400, 0.02, name="Long job")
    qtbot.waitUntil(lambda: h.id in window.jobs_panel.rows and h.progress is not None, timeout=5000)
    row = window.jobs_panel.rows[h.id]
    qtbot.waitUntil(lambda: row.bar.value() > 0, timeout=5000)
    # The GUI keeps processing events while the job runs.
    ticks = []
    from PySide6.QtCore import QTimer
    t = QTimer()
    t.timeout.connect(lambda: ticks.append(1))
    t.start(10)
    qtbot.wait(300)
    t.stop()
    assert len(ticks) >= 5
    assert "ETA" in row.eta.text()
    qtbot.mouseClick(row.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: h.state is JobState.CANCELLED, timeout=5000)
    qtbot.waitUntil(lambda: row.message.text() == "Cancelled", timeout=5000)
    bad = window.jobs.run(sleep_steps, 5, 0.01, fail_at=2, name="Failing job")
    qtbot.waitUntil(lambda: bad.state is JobState.FAILED, timeout=5000)
    brow = window.jobs_panel.rows[bad.id]
    qtbot.waitUntil(lambda: "on purpose" in brow.message.text(), timeout=5000)
    assert brow.details_button.isVisibleTo(brow)
    save_screenshot(window, "03_jobs_panel")
    window.jobs_panel.clear_finished()
    assert not window.jobs_panel.rows


def test_export_from_window_gives_valid_mp4(qtbot, window, demo_copy, tmp_path):
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    out = tmp_path / "out.mp4"
    h = window.projects.start_export(ExportRequest(out=str(out), clip="side_by_side", audio="source_voice", start=0, end=45,
                                          height=240, preset="ultrafast"))
    qtbot.waitUntil(lambda: h.state.finished, timeout=120000)
    assert h.state is JobState.DONE, h.error
    info = probe(out)
    assert info.video.frame_count == 45 and info.video.height == 240 and info.audio


def test_drop_media_on_panes_and_save(qtbot, window, tmp_path):
    window.projects.new_project(tmp_path / "dropped")
    for role, rel in (("source", "body/vtest_standing_man_crop.mp4"), ("target", "body/vtest_walker_crop.mp4")):
        view = window.views[role]
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(media(rel)))])
        pos = view.rect().center()
        event = QDropEvent(pos.toPointF(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        view.dropEvent(event)
    # The files are read in jobs: the GUI does not wait for the probe.
    qtbot.waitUntil(lambda: window.project.media_by_role("source") and window.project.media_by_role("target"),
                    timeout=10000)
    wait_frames(qtbot, window, 0)
    assert window.project.dirty and window.windowTitle().startswith("dropped *")
    assert window.projects.save()
    assert not window.project.dirty
    assert {m.role for m in load_project(tmp_path / "dropped.avproj").media.values()} == {"source", "target"}
    # A file that is not a video is refused with a message, and nothing changes.
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    window.projects.set_media("source", str(bad))
    qtbot.waitUntil(lambda: "not a media file" in window.statusBar().currentMessage(), timeout=10000)
    assert window.project.media_by_role("source").path.endswith("vtest_standing_man_crop.mp4")


def test_two_videos_dropped_at_once_become_source_and_target(qtbot, window, tmp_path):
    window.projects.new_project(tmp_path / "both")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(media(rel)))
                  for rel in ("body/vtest_standing_man_crop.mp4", "body/vtest_walker_crop.mp4")])
    window.dropEvent(QDropEvent(window.rect().center().toPointF(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    qtbot.waitUntil(lambda: bool(window.project.media_by_role("target")), timeout=10000)
    assert window.project.media_by_role("source").path.endswith("vtest_standing_man_crop.mp4")
    assert window.project.media_by_role("target").path.endswith("vtest_walker_crop.mp4")


def test_missing_media_opens_with_relink_message(qtbot, window, demo_copy):
    (demo_copy / "media" / "target-vtest_walker_crop.mp4").unlink()
    assert window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    assert "target" not in window.clips.loaders and "source" in window.clips.loaders
    assert "Relink" in window.statusBar().currentMessage()
    assert "missing" in window.views["target"].title.text()


def test_bad_project_is_a_message_not_a_crash(qtbot, window, tmp_path):
    assert not window.projects.open_project(tmp_path / "nothing.avproj")
    assert "does not exist" in window.statusBar().currentMessage()
    assert window.project is None


def test_autosave_and_recovery_on_next_open(qtbot, window, demo_copy, qapp, tmp_path):
    from avstudio.core.tracks import PoseTrack

    window.projects.open_project(demo_copy)
    window.project.add_track(PoseTrack.empty(230, 33, "mediapipe33", name="unsaved work"))
    window.projects.autosave()
    window.project.saved_revision = window.project.revision  # simulate a crash: no save prompt
    window.projects.set_project(None)
    assert window.projects.open_project(demo_copy)  # ask=False: recovery is accepted
    assert [t.name for t in window.project.tracks.values()] == ["unsaved work"] and window.project.dirty


def test_fits_a_1366x768_screen_with_every_panel(window, qtbot):
    """Every dock open (retarget view, pitch editor, training monitor too): the window still fits."""
    window.retarget.show()
    window.show_pitch()
    window.monitor_dock.show()
    qtbot.wait(20)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 40, hint  # 40 px for a taskbar
    assert window.width() <= 1366 and window.height() <= 768


def test_shortcuts_are_listed(window):
    table = dict(window.shortcut_table())
    assert table["Play / Pause"] == "Space" and "Ctrl+O" in table.values()


def test_demo_is_copied_to_user_data_and_opens(qtbot, window, monkeypatch, tmp_path):
    from PySide6.QtCore import QStandardPaths

    from avstudio.gui import app as app_module

    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda *_: str(tmp_path / "data"))
    demo = app_module.user_demo_copy()
    assert demo == tmp_path / "data" / "Demo.avproj" and (demo / "media").is_dir()
    assert window.projects.open_project(demo)
    wait_frames(qtbot, window, 0)
    assert set(window.clips.loaders) == {"source", "target"}
    # A second call reuses the user's copy (their edits survive).
    (demo / "marker").write_text("mine")
    assert app_module.user_demo_copy() == demo and (demo / "marker").exists()


def test_routine_jobs_leave_the_panel_failures_stay(qtbot, window, demo_copy, tmp_path):
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    # The routine jobs (opening the clips, thumbnails, waveform) leave by themselves.
    qtbot.waitUntil(lambda: window.jobs_panel.rows == {}, timeout=10000)
    bad = tmp_path / "Bad.avproj"
    shutil.copytree(demo_copy, bad)
    clip = bad / "media" / "source-sports2d_demo.mp4"
    clip.write_bytes(b"\0" * clip.stat().st_size)  # same size, so it is found, but it is not a video
    window.projects.open_project(bad)
    qtbot.waitUntil(lambda: not window.clips.opening, timeout=20000)
    assert "source" not in window.clips.loaders and "target" in window.clips.loaders
    failed = [r for r in window.jobs_panel.rows.values() if r.handle.state is JobState.FAILED]
    assert len(failed) == 1 and "not a media file" in failed[0].message.text()
    assert "not a media file" in window.views["source"].placeholder.text()


def test_garbage_is_collected_on_the_gui_thread_only(window):
    """Worker threads must never run the cyclic collector (it would free Qt objects there and hang)."""
    import gc

    assert not gc.isenabled()
    junk = []
    junk.append(junk)  # a cycle
    del junk
    from avstudio.gui.jobs import manager as jobs
    assert jobs._gui_gc is not None and jobs._gui_gc.timer.isActive()
