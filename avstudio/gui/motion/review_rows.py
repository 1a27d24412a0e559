"""The clips' rows of the timeline: pose confidence per frame with the user's anchors, the review list's
flagged frames, and the face landmarks' strip under it. Drawn when a track changes — only that
track's row — with the review list computed in a job (a 10-minute track takes a while) and kept
per track revision, so an edit never waits for it on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from avstudio.core import layers, roles
from avstudio.core.progress import JobState, Progress


def review_job(points, flags, skeleton_name: str):
    """Job: the frames of a pose track the review list flags."""
    from avstudio.analysis.landmarks.layouts import body25_of
    from avstudio.analysis.landmarks.review import flagged_frames

    yield Progress(0, None, "Reviewing the poses")
    try:
        return flagged_frames(*body25_of(points, flags, skeleton_name))
    except ValueError:  # a layout without a BODY_25 mapping: nothing to review
        return []


class ReviewRows(QObject):
    def __init__(self, ctx, timeline, parent=None):
        super().__init__(parent)
        self.ctx, self.timeline = ctx, timeline
        self.flagged: dict[str, tuple[tuple, list[int]]] = {}  # clip → ((track id, revision), frames)
        self._jobs: dict[str, object] = {}
        self._due: dict[str, QTimer] = {}  # a drag changes the track many times a second: review once it rests
        ctx.projectChanged.connect(self.refresh)
        ctx.events.trackChanged.connect(self._track_changed)

    def _track_changed(self, _tid: str, clip: str, layer: str) -> None:
        if clip in roles.VIDEO_ROLES and layer in (layers.POSE, layers.FACE):
            self.refresh(clips=(clip,), review=layer == layers.POSE)

    def refresh(self, clips=roles.VIDEO_ROLES, review: bool = True) -> None:
        p = self.ctx.project
        for clip in clips:
            ref = p.media_by_role(clip) if p is not None else None
            track = p.find_track(clip, layers.POSE) if ref is not None else None
            fps = float(ref.fps) if ref is not None and ref.fps else 1.0
            if track is None:
                self.timeline.set_track(clip, None, None, fps)
            else:
                self.timeline.set_track(clip, track.points, track.flags, fps)
                if review:
                    self._review(clip, track)
            face = p.find_track(clip, layers.FACE) if ref is not None else None
            self.timeline.set_face(clip, *((face.points, face.flags, fps) if face is not None else (None, None, fps)))

    def _review(self, clip: str, track) -> None:
        key = (track.id, self.ctx.project.track_revision(track.id))
        known = self.flagged.get(clip)
        if known is not None and known[0] == key:
            self.timeline.set_flagged(clip, known[1])
            return
        timer = self._due.get(clip)
        if timer is None:
            timer = self._due[clip] = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(150)
            timer.timeout.connect(lambda c=clip: self._start_review(c))
        timer.start()

    def _start_review(self, clip: str) -> None:
        p = self.ctx.project
        track = p.find_track(clip, layers.POSE) if p is not None else None
        if track is None:
            return
        key = (track.id, p.track_revision(track.id))
        old = self._jobs.get(clip)
        if old is not None and not old.state.finished:
            old.cancel()
        project = self.ctx.project
        self._jobs[clip] = self.ctx.jobs.run(
            review_job, track.points.copy(), track.flags.copy(), track.meta["skeleton"], quiet=True,
            name=f"Review the {roles.short(clip)} pose", on_finished=lambda h: self._reviewed(clip, key, project, h))

    def _reviewed(self, clip: str, key, project, handle) -> None:
        if self._jobs.get(clip) is handle:
            del self._jobs[clip]
        if handle.state is not JobState.DONE or self.ctx.project is not project:
            return
        track = project.find_track(clip, layers.POSE)
        if track is None or (track.id, project.track_revision(track.id)) != key:
            return  # edited meanwhile: the newer job says
        self.flagged[clip] = (key, handle.result)
        self.timeline.set_flagged(clip, handle.result)

    def pending(self) -> bool:
        """A review is due or running (its result not drawn yet)."""
        return any(t.isActive() for t in self._due.values()) or bool(self._jobs)
