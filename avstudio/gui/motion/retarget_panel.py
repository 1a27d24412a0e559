"""Retargeting in the editor: the Retarget action (a job, one undo step) and the retarget view — source
frame | the source pose normalized into the target | the generated frame, with Everybody Dance Now's
floor and height lines to drag. The view is fed only while it is on screen (it costs nothing hidden),
and refreshed after the tab switch is laid out."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from avstudio.core import layers, roles
from avstudio.core.errors import UserError
from avstudio.gui.actions import ActionSpec
from avstudio.gui.motion.retarget_view import RetargetView
from avstudio.workflows import motion


class RetargetPanel(QObject):
    def __init__(self, ctx, clips, generated, parent=None):
        super().__init__(parent)
        self.ctx, self.clips, self.generated = ctx, clips, generated
        self.view = RetargetView()
        self.show_tab = lambda: None  # set by the window: bring the view's tab to the front
        self._job = None
        self.view.overrideChosen.connect(lambda over: self.retarget(overrides=over))
        self.view.resetRequested.connect(lambda: self.retarget(reset=True))
        self.view.showGenerated.connect(generated.toggle)
        clips.frameShown.connect(self._frame_shown)
        generated.shown.connect(self.show_generated)
        ctx.events.trackChanged.connect(self._track_changed)
        ctx.events.settingChanged.connect(lambda key: key == "retarget" and self.refresh())
        ctx.projectChanged.connect(self.refresh)

    def actions(self) -> list:
        a = "Analysis"
        return [(ActionSpec("retarget", a, "retarget", "Retarget Source → Target", "Normalize the source pose into "
                            "the target's space (Everybody Dance Now)"), self.retarget),
                (ActionSpec("retarget_view", a, "retarget", "Retarget View", "Source | normalized pose | generated, "
                            "with the floor lines to drag"), self.show)]

    def retarget(self, overrides: dict | None = None, reset: bool = False):
        """Normalize the source pose into the target (a job; one undo step). ``overrides`` are statistics
        the user set by dragging lines; ``reset`` forgets them. A failure puts the lines back."""
        if self._job is not None and not self._job.state.finished:
            self._job.cancel()
        self._job = self.ctx.run(motion.retarget, overrides=overrides, reset=reset, on_end=lambda _h: self.refresh())
        return self._job

    def show(self) -> None:
        self.show_tab()
        self.refresh()

    def tab_shown(self) -> None:
        # After the switch is laid out: a tab that has just become current is not "on screen" yet.
        QTimer.singleShot(0, self.refresh)

    def _track_changed(self, _tid: str, clip: str, layer: str) -> None:
        if clip in roles.VIDEO_ROLES and layer in (layers.POSE, layers.NORMALIZED):
            self.refresh()

    def _frame_shown(self, role: str, index: int, rgb) -> None:
        # Always kept current, also while the tab is hidden: showing a picture is cheap.
        self.view.show_clip_frame(role, index, rgb)
        if role == roles.SOURCE and self.view.on_screen():
            self._source_pose()

    def _source_pose(self) -> None:
        p, f = self.ctx.project, self.view.frame
        track = p.find_track(roles.SOURCE, layers.POSE) if p is not None else None
        if track is None or f is None or f >= track.length:
            self.view.set_source_pose(None, None, "mediapipe33")
        else:
            self.view.set_source_pose(track.points[f], track.flags[f], track.meta["skeleton"])

    def refresh(self) -> None:
        """Statistics and source pose for the view (only while it is on screen)."""
        from avstudio.analysis.landmarks.layouts import body25

        if not self.view.on_screen():
            return
        p = self.ctx.project
        src = p.find_track(roles.SOURCE, layers.POSE) if p is not None else None
        if src is None or p.find_track(roles.TARGET, layers.POSE) is None:
            self.view.set_data(None, None, "Analyse the pose of both clips to retarget.")
            return
        try:
            stats, _ = motion.retarget_stats(p)
        except UserError as exc:
            self.view.set_data(None, None, str(exc))
            return
        self.view.set_data(stats, body25(src))
        self._source_pose()
        self.show_generated()

    def show_generated(self) -> None:
        if not self.view.on_screen():
            return
        if not self.generated.frames.active:
            has = bool(self.generated.motion_models())
            self.view.set_generated(None, "Show generated: the newest model's frame" if has else
                                    f"Train a model{self.ctx.hint_text('train')} to see the generated frame")
            self.view.generate_button.setEnabled(has)
            return
        img, real = self.generated.current()
        self.view.set_generated(img, self.generated.frames.model_id if real else "generating…")
