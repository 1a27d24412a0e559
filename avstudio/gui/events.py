"""Typed change notifications of the open project (Glue's hub, OpenUtau's ICmdSubscriber): every edit,
undo and redo says which tracks, settings and media changed, so each panel refreshes what it shows
of them — and nothing else — without asking other widgets."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from avstudio.core.project import Changes


class ProjectEvents(QObject):
    trackChanged = Signal(str, str, str)  # track id, clip, layer (made, edited, replaced or removed)
    settingChanged = Signal(str)          # settings key
    mediaChanged = Signal(str)            # role: its media reference was set, relinked or undone
    modelsChanged = Signal()              # a training run saved a model, or one was removed

    def emit_changes(self, changes: Changes) -> None:
        for tid, (clip, layer) in changes.tracks.items():
            self.trackChanged.emit(tid, clip or "", layer or "")
        for key in changes.settings:
            self.settingChanged.emit(key)
        for role in sorted(changes.media):
            self.mediaChanged.emit(role)
