"""The two clip panes (source | target): each clip opens in a job (indexing every packet takes a while on
long clips), gets a frame loader, and shows the frame the player is on — the other clip follows by
time (it may have another frame rate). Playback runs on the source's time axis; the target drives
it only when there is no source."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QSplitter

from avstudio.core import roles
from avstudio.core.errors import UserError
from avstudio.core.progress import JobState
from avstudio.gui.widgets.clip_view import ClipView
from avstudio.gui.widgets.frame_loader import FrameLoader
from avstudio.gui.widgets.playback import SilentClock
from avstudio.media.video import VideoSource

log = logging.getLogger("avstudio.gui")


class ClipsPanel(QObject):
    frameShown = Signal(str, int, object)  # role, frame index, RGB picture
    playbackClipChanged = Signal(str)      # the clip whose time axis (and sound) playback follows ("" for none)

    def __init__(self, ctx, timeline, parent=None):
        super().__init__(parent)
        self.ctx, self.timeline = ctx, timeline
        self.views = {role: ClipView(role) for role in roles.VIDEO_ROLES}
        self.widget = QSplitter(Qt.Horizontal)
        for v in self.views.values():
            self.widget.addWidget(v)
        self.loaders: dict[str, FrameLoader] = {}
        self.opening: dict[str, str] = {}  # job id → role of clips being opened
        self.paused_roles: set[str] = set()  # roles whose pane shows something else (generated frames)
        self.playback_clip = ""
        self._thumbs_job = None
        ctx.projectChanged.connect(self.reload)
        ctx.events.mediaChanged.connect(lambda role: role in roles.VIDEO_ROLES and self.reload())
        ctx.player.frameChanged.connect(self.follow)

    def close(self) -> None:
        for loader in self.loaders.values():
            loader.close()
        self.loaders.clear()

    def reload(self) -> None:
        """Close the clips and open the project's source and target again, each in a job."""
        self.ctx.player.pause()
        self.close()
        self.opening = {}
        self._thumbs_job = None
        self.ctx.player.set_clock(SilentClock())
        self.ctx.player.set_timebase(None)
        self.timeline.set_thumbnails(None)
        self._set_playback_clip("")
        project = self.ctx.project
        for role, view in self.views.items():
            ref = project.media_by_role(role) if project else None
            if ref is None:
                view.set_clip(None, None)
                continue
            name = Path(ref.path).name
            try:
                path = project.media_path(ref.id)
            except UserError as exc:
                view.set_clip(name, None, missing=True)
                log.error("%s", exc)
                continue
            view.set_clip(name, None)
            view.placeholder.setText(f"Opening {name}…")
            from avstudio.media.video import open_video_job
            handle = self.ctx.jobs.run(open_video_job, path, name=f"Open {name}", quiet=True,
                                       on_finished=lambda h, r=role, p=project: self._opened(r, p, h))
            self.opening[handle.id] = role

    def _opened(self, role: str, project, handle) -> None:
        current = self.opening.pop(handle.id, None) is not None and self.ctx.project is project
        if not current:  # the clips were reopened meanwhile (other media, another project)
            if handle.state is JobState.DONE:
                handle.result.close()
            return
        if handle.state is JobState.FAILED:
            self.views[role].placeholder.setText(handle.error or "Cannot open this clip.")
            self.ctx.error(handle.name, handle.error or "Failed", handle.error_details, logged=True)
        if handle.state is not JobState.DONE:
            return
        source: VideoSource = handle.result
        view = self.views[role]
        view.set_clip(source.path.name, source.size)
        loader = FrameLoader(source, self)
        loader.frameReady.connect(view.show_frame)
        loader.frameReady.connect(lambda i, img, r=role: self.frameShown.emit(r, i, img))
        loader.failed.connect(lambda msg: self.ctx.status(msg))
        self.loaders[role] = loader
        if role == roles.SOURCE or self.ctx.player.timebase is None:
            self.ctx.player.set_timebase(source.timebase)
            self.timeline.set_duration(source.timebase.duration)
            from avstudio.media.thumbnails import thumbnail_strip
            self._thumbs_job = self.ctx.jobs.run(thumbnail_strip, source.path, name=f"Thumbnails of {source.path.name}",
                                                 quiet=True, on_finished=self._thumbnails)
            self._set_playback_clip(role)
        self.follow(self.ctx.player.frame)

    def _thumbnails(self, handle) -> None:
        if handle is self._thumbs_job and handle.state is JobState.DONE:
            self.timeline.set_thumbnails(*handle.result)

    def _set_playback_clip(self, role: str) -> None:
        self.playback_clip = role
        self.playbackClipChanged.emit(role)

    def follow(self, frame: int) -> None:
        """Show the player's frame: each clip at the same time, held on its last frame."""
        tb = self.ctx.player.timebase
        if tb is None:
            return
        t = tb.frame_to_seconds(frame)
        for role, loader in self.loaders.items():
            if role not in self.paused_roles:
                loader.request(loader.source.timebase.seconds_to_frame(t))

    def frame_of(self, role: str) -> int | None:
        """The frame the clip's pane shows (None: no picture of that clip on screen)."""
        return self.views[role].frame_index

    def picture(self, role: str) -> np.ndarray | None:
        return self.views[role].image.image
