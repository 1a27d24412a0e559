"""The project's life in the editor: new, open (with crash recovery), save, save as, autosave, recent
projects, the title and its unsaved mark, media set by menu or drop, relinking, export.

Unsaved means the undo stack is away from its saved position (OpenUtau's DocManager), or the project
came from a recovery copy. Setting and relinking media are undoable edits like any other.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMenu

from avstudio.core import layers, roles
from avstudio.core.errors import UserError
from avstudio.core.autosave import autosave_project, autosave_time, find_recovery, recover_project
from avstudio.core.lock import acquire
from avstudio.core.project import Project
from avstudio.core.store import PROJECT_FILE, load_project, new_project_folder, save_project
from avstudio.gui.actions import ActionSpec
from avstudio.gui.widgets.clip_view import AUDIO_SUFFIXES, VIDEO_SUFFIXES
from avstudio.workflows import project as project_ops

log = logging.getLogger("avstudio.gui")
EDITOR = "the AV Studio editor"
AUTOSAVE_MS = 120_000
MAX_RECENT = 10
VIDEO_FILTER = "Video (*.mp4 *.mov *.mkv *.webm *.avi *.m4v)"
AUDIO_FILTER = "Audio (*.wav *.flac *.mp3 *.ogg *.m4a *.aac *.opus);;Video with sound (*.mp4 *.mov *.mkv *.webm)"


class ProjectController(QObject):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.recovered = False  # opened from an autosave copy: unsaved although the undo stack is clean
        self.reading: dict[str, str] = {}  # job id → role of media files being read
        self.recent_menu = QMenu("Open &Recent")
        ctx.save_for_job = self.save_if_needed
        ctx.jobs.finished.connect(lambda h: self.reading.pop(h.id, None))
        ctx.undo_stack.cleanChanged.connect(lambda _: self.update_title())
        ctx.undo_stack.indexChanged.connect(lambda _: self.update_title())
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()
        self.fill_recent()

    def actions(self) -> list:
        f = "File"
        out = [(ActionSpec("new", f, "project", "&New Project…", "Create a project folder"), self.new_project_dialog),
               (ActionSpec("open", f, "project", "&Open Project…", "Open an .avproj folder"), self.open_project_dialog),
               (ActionSpec("save", f, "project", "&Save", "Save the project"), self.save),
               (ActionSpec("save_as", f, "project", "Save &As…", "Save the project in a new folder"), self.save_as_dialog)]
        for role in roles.VIDEO_ROLES + roles.VOICE_ROLES:
            text = f"Set {roles.title(role)} Clip…" if roles.is_video(role) else f"Set {roles.title(role)}…"
            out.append((ActionSpec(f"set_{role}", f, "media", text, f"Choose the {roles.label(role)}"),
                        lambda r=role: self.choose_media(r)))
        out += [(ActionSpec("relink", f, "media", "Relink Missing Media…", "Point moved media files at their new place"),
                 self.relink_dialog),
                (ActionSpec("export", f, "export", "&Export Video…", "Render an MP4"), self.export_dialog),
                (ActionSpec("quit", f, "quit", "&Quit", "Quit AV Studio"), self.ctx.window.close)]
        return out

    # ---- new, open, recover --------------------------------------------------------------------
    def new_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getSaveFileName(self.ctx.window, "New project", str(Path.home() / "Untitled.avproj"),
                                              "AV Studio project (*.avproj)")
        if path:
            self.new_project(path)

    def new_project(self, path: str | Path) -> None:
        folder = new_project_folder(path)
        try:
            project = Project(folder.stem, folder)
            save_project(project, folder)
        except UserError as exc:
            self.ctx.error("Cannot create the project", exc)
            return
        self.set_project(project)
        self.remember(folder)

    def open_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path = QFileDialog.getExistingDirectory(self.ctx.window, "Open project (.avproj folder)", str(Path.home()))
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        folder = Path(path)
        if folder.name == PROJECT_FILE:
            folder = folder.parent
        lock = None
        try:
            # Locked before it is read: another process changing it now would be refused a save later.
            lock = acquire(folder, EDITOR) if folder.is_dir() else None
            project = self._recover(folder) or load_project(folder)
        except BaseException as exc:
            if lock is not None:
                lock.release()
            if not isinstance(exc, UserError):
                raise
            self.ctx.error("Cannot open the project", exc)
            return False
        project.lock = lock
        self.set_project(project)
        self.remember(folder)
        missing = project.missing_media()
        if missing:
            names = ", ".join(Path(m.path).name for m in missing)
            self.ctx.error("Media not found", f"Some media of this project was not found: {names}. Point at the "
                           "files' new location", hint="relink")
        return True

    def _recover(self, folder: Path) -> Project | None:
        """The newest autosave copy when the user wants it; a damaged one is a message, then the
        last saved version opens."""
        copy = find_recovery(folder)
        if copy is None or not self._confirm_recovery(copy):
            return None
        try:
            return recover_project(folder, copy)
        except UserError as exc:
            self.ctx.error("Could not recover the autosave copy", exc)
            return None

    def _confirm_recovery(self, copy: Path) -> bool:
        when = autosave_time(copy)
        return self.ctx.confirm(
            "Recover unsaved work?", f"This project has unsaved changes from an autosave at {when:%Y-%m-%d %H:%M:%S} "
            "UTC (the app may have closed unexpectedly). Recover them? (Choosing No opens the last saved version; the "
            "autosave copy is kept.)")

    def set_project(self, project: Project | None) -> None:
        from avstudio.gui.jobs.manager import collect_garbage_on_gui_thread

        self.ctx.player.pause()
        old = self.ctx.project
        if old is not None and old is not project and old.lock is not None:
            old.lock.release()
        self._hold(project)
        self.recovered = bool(project is not None and project.dirty)
        self.ctx.set_project(project)
        self.update_title()
        collect_garbage_on_gui_thread().full()  # the old project's cycles go now, not mid-playback

    def _hold(self, project: Project | None) -> None:
        """Lock the folder of the project the editor shows (a new or saved-as one too): commands that
        would change it meanwhile are refused, naming the editor."""
        if project is None or project.folder is None or (project.lock is not None and project.lock.held):
            return
        try:
            project.lock = acquire(project.folder, EDITOR)
        except UserError as exc:
            self.ctx.status(str(exc), 10000)

    # ---- save ----------------------------------------------------------------------------------
    def save(self) -> bool:
        project = self.ctx.project
        if project is None:
            return True
        if project.folder is None:
            return self.save_as_dialog()
        try:
            save_project(project)
        except UserError as exc:
            self.ctx.error("Could not save", exc)
            return False
        self.ctx.status(f"Saved {project.folder}", 5000)
        self._saved()
        return True

    def save_as_dialog(self) -> bool:
        project = self.ctx.project
        if project is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self.ctx.window, "Save project as",
                                              str(Path.home() / f"{project.name}.avproj"), "AV Studio project (*.avproj)")
        if not path:
            return False
        try:
            save_project(project, new_project_folder(path))
        except UserError as exc:
            self.ctx.error("Could not save", exc)
            return False
        self._hold(project)
        self.remember(project.folder)
        self._saved()
        return True

    def _saved(self) -> None:
        self.ctx.undo_stack.setClean()
        self.recovered = False
        self.update_title()

    def save_if_needed(self) -> bool:
        """Before a job reads the project from disk: save unsaved changes (or ask where to)."""
        project = self.ctx.project
        return project is not None and (not (self.unsaved or project.folder is None) or self.save())

    def autosave(self) -> None:
        project = self.ctx.project
        if project is None or project.folder is None or not project.dirty:
            return
        try:
            autosave_project(project)
            log.info("Autosaved")
        except (UserError, OSError) as exc:
            log.warning("Autosave failed: %s", exc)
            self.ctx.status(f"Autosave failed: {exc}", 10000)

    def maybe_save(self) -> bool:
        """Ask about unsaved changes. True when it is fine to go on."""
        from PySide6.QtWidgets import QMessageBox

        if self.ctx.project is None or not self.unsaved or not self.ctx.ask:
            return True
        answer = QMessageBox.question(self.ctx.window, "Unsaved changes", f"Save the changes to {self.ctx.project.name}?",
                                      QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    @property
    def unsaved(self) -> bool:
        try:
            clean = self.ctx.undo_stack.isClean()
        except RuntimeError:  # the window is being destroyed
            return False
        return self.ctx.project is not None and (not clean or self.recovered)

    def update_title(self) -> None:
        p = self.ctx.project
        self.ctx.window.setWindowTitle("AV Studio" if p is None else f"{p.name}{' *' if self.unsaved else ''} — AV Studio")

    # ---- recent projects -------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.ctx.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def remember(self, folder: Path) -> None:
        items = [str(folder)] + [r for r in self.recent() if r != str(folder)]
        self.ctx.settings.setValue("recent", items[:MAX_RECENT])
        self.fill_recent()

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent():
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.maybe_save() and self.open_project(p))
        self.recent_menu.setEnabled(bool(self.recent()))

    # ---- media ---------------------------------------------------------------------------------
    def choose_media(self, role: str) -> None:
        filt = VIDEO_FILTER if roles.is_video(role) else AUDIO_FILTER
        path, _ = QFileDialog.getOpenFileName(self.ctx.window, f"Choose the {roles.label(role)}", str(Path.home()), filt)
        if path:
            self.set_media(role, path)

    def set_media(self, role: str, path: str):
        """Use a file as ``role``: it is read in a job, then set (one undo step); a new window's first
        file makes an untitled project."""
        if self.ctx.project is None:
            self.set_project(Project("Untitled"))
        handle = self.ctx.run(project_ops.set_media, role, str(path))
        if handle is not None:
            self.reading[handle.id] = role
        return handle

    def role_taken(self, role: str) -> bool:
        """The project has media in ``role``, or a file for it is being read (two files dropped at once)."""
        p = self.ctx.project
        return bool(p and p.media_by_role(role)) or role in self.reading.values()

    def drop(self, paths: list[Path]) -> None:
        for path in paths:
            if path.is_dir() or path.name == PROJECT_FILE:
                if self.maybe_save():
                    self.open_project(path)
                return
            first, second = (roles.VOICE_ROLES if path.suffix.lower() in AUDIO_SUFFIXES else roles.VIDEO_ROLES)
            self.set_media(second if self.role_taken(first) else first, str(path))

    @staticmethod
    def accepts(paths: list[Path]) -> bool:
        return bool(paths) and (paths[0].is_dir() or paths[0].suffix.lower() in VIDEO_SUFFIXES | AUDIO_SUFFIXES)

    def relink_dialog(self) -> None:
        p = self.ctx.project
        if p is None:
            return
        for ref in p.missing_media():
            path, _ = QFileDialog.getOpenFileName(self.ctx.window, f"Where is {Path(ref.path).name}?", str(Path.home()))
            if path:
                self.ctx.run(project_ops.relink, ref.role, path)

    # ---- export --------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        from avstudio.core import models
        from avstudio.gui.project.export_dialog import ExportDialog

        p = self.ctx.project
        if p is None or not any(p.media_by_role(r) for r in roles.VIDEO_ROLES):
            self.ctx.error("Nothing to export", "Add a source or a target clip first.", hint="set_source")
            return
        if self.ctx.player.timebase is None:
            self.ctx.error("Nothing to export yet", "The clips are still opening (or could not be opened): "
                           "export once a clip shows its frames.")
            return
        faces = (["retrieval"] + models.model_ids(p.folder, models.LIPSYNC)) \
            if p.find_track(roles.DRIVEN, layers.DRIVEN) is not None else []
        dialog = ExportDialog(p, self.ctx.player.frame_count, self.ctx.window,
                              models=models.model_ids(p.folder, models.MOTION), face_renderers=faces)
        if dialog.exec():
            render = dialog.render_request()
            self.start_render(**render) if render else self.start_export(dialog.request())

    def _open_folder(self, result) -> None:
        out = result["out"] if isinstance(result, dict) else result
        if out and self.ctx.ask:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(out).parent)))

    def start_render(self, model_id: str, out: str, kind: str = "motion", **options):
        """Export a model's generated video, or the lip-synced target (rendering only the frames not in
        the cache yet)."""
        if kind == "lipsync":
            from avstudio.workflows.lipsync.models import render_video as render_face
            return self.ctx.run(render_face, model_id, out, on_done=self._open_folder, **options)
        from avstudio.workflows.motion import render_video

        return self.ctx.run(render_video, model_id, out, on_done=self._open_folder, **options)

    def start_export(self, request):
        return self.ctx.run(project_ops.export, request, on_done=self._open_folder)
