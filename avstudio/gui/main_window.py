"""The main window: source and target clips side by side, transport, jobs and log panels."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QUndoStack
from PySide6.QtWidgets import QUndoView
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QSlider, QSplitter, QStyle, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from avstudio.core.errors import UserError
from avstudio.core.progress import JobState
from avstudio.core.project import Project
from avstudio.core.store import (PROJECT_FILE, autosave_project, find_recovery, load_project, new_project_folder,
                                 recover_project, save_project)
from avstudio.analysis.keypoint_ops import interpolate, move_keypoint, set_hidden, smooth
from avstudio.analysis.project_ops import find_track
from avstudio.core.tracks import Flag
from avstudio.gui.commands import push_edit
from avstudio.gui.shortcuts import SHORTCUTS
from avstudio.gui.clip_view import AUDIO_SUFFIXES, VIDEO_SUFFIXES, ClipView, dropped_paths
from avstudio.gui.export_dialog import ExportDialog
from avstudio.gui.frame_loader import FrameLoader
from avstudio.gui.jobs import JobManager
from avstudio.gui.jobs_panel import JobsPanel
from avstudio.gui.log_panel import LogPanel
from avstudio.gui.playback import AudioClock, Player, SilentClock, audio_output_available
from avstudio.media.audio import load_audio
from avstudio.media.projects import export_project
from avstudio.media.video import VideoSource

log = logging.getLogger("avstudio.gui")

AUTOSAVE_MS = 120_000
MAX_RECENT = 10


def fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m):02d}:{s:05.2f}"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, ask=True):
        super().__init__()
        self.settings = settings or QSettings("AVStudio", "AVStudio")
        self.ask = ask  # False in tests: dialogs that would block take their default answer
        self.project: Project | None = None
        self.loaders: dict[str, FrameLoader] = {}
        self.jobs = JobManager(self)
        self.player = Player(self)
        self.setWindowTitle("AV Studio")
        from avstudio.gui.theme import icon
        self.setWindowIcon(icon("avstudio"))
        self.resize(1280, 800)
        self.setAcceptDrops(True)

        # Clips
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda _: self._update_title())
        self.undo_stack.indexChanged.connect(lambda _: self._update_title())
        self._changed_outside_undo = False  # media added, relinked…: not undoable, still unsaved
        self.views = {role: ClipView(role) for role in ("source", "target")}
        for role, v in self.views.items():
            v.mediaDropped.connect(self.set_media)
            v.skeleton.pointMoved.connect(lambda j, x, y, d, r=role: self._move_point(r, j, x, y, d))
            v.skeleton.pointToggled.connect(lambda j, r=role: self._toggle_point(r, j))
            v.skeleton.skeletonMoved.connect(lambda dx, dy, d, r=role: self._move_skeleton(r, dx, dy, d))
            v.pointPicked.connect(lambda x, y, r=role: self._pick_subject(r, x, y))
        self.subject_points: dict[str, tuple[int, float, float]] = {}
        self._analysis_jobs: dict[str, tuple[str, str]] = {}
        split = QSplitter(Qt.Horizontal)
        for v in self.views.values():
            split.addWidget(v)

        # Transport
        style = self.style()
        self.play_button = QToolButton()
        self.play_button.setIcon(style.standardIcon(QStyle.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.player.toggle)
        back = QToolButton()
        back.setIcon(style.standardIcon(QStyle.SP_MediaSeekBackward))
        back.setToolTip("Previous frame (←); 10 frames with Ctrl+←")
        back.clicked.connect(lambda: self.player.step(-1))
        fwd = QToolButton()
        fwd.setIcon(style.standardIcon(QStyle.SP_MediaSeekForward))
        fwd.setToolTip("Next frame (→); 10 frames with Ctrl+→")
        fwd.clicked.connect(lambda: self.player.step(1))
        self.scrub = QSlider(Qt.Horizontal)
        self.scrub.setToolTip("Scrub through the clip")
        self.scrub.valueChanged.connect(self._scrubbed)
        self.timecode = QLabel("--:--.-- / --:--.--")
        self.timecode.setObjectName("timecode")
        self.clock_label = QLabel("")
        self.clock_label.setObjectName("muted")
        self.soundtrack = QComboBox()
        self.soundtrack.setObjectName("soundtrack")
        self.soundtrack.setMinimumContentsLength(13)
        self.soundtrack.setToolTip("What plays with the video: the clip's own sound, a voice, or the converted voice")
        self.soundtrack.activated.connect(lambda _: self._load_playback_audio())
        transport = QHBoxLayout()
        for w in (back, self.play_button, fwd):
            transport.addWidget(w)
        transport.addWidget(self.scrub, 1)
        transport.addWidget(self.timecode)
        self.right_pane = QComboBox()
        self.right_pane.setObjectName("right_pane")
        self.right_pane.setMinimumContentsLength(14)
        self.right_pane.setToolTip("What the right pane shows: the target clip, or what a trained model generates "
                                   "from the source's motion (G switches A/B)")
        self.right_pane.activated.connect(lambda _: self._pane_changed())
        transport.addWidget(self.right_pane)
        transport.addWidget(self.soundtrack)
        transport.addWidget(self.clock_label)
        from avstudio.gui.timeline import Timeline
        self.timeline = Timeline()
        self.timeline.seekRequested.connect(self._seek_seconds)
        self.active_clip = "source"  # the clip the range operations and flag jumps act on
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        # The clip panes and the retarget view share the big area: one tab each.
        from avstudio.gui.retarget_view import RetargetView
        self.retarget_view = RetargetView()
        self.center_tabs = QTabWidget()
        self.center_tabs.setDocumentMode(True)
        self.center_tabs.addTab(split, "Clips")
        self.center_tabs.addTab(self.retarget_view, "Retarget")
        self.center_tabs.setTabToolTip(1, "Source | normalized pose | generated, with the floor and height lines to drag")
        lay.addWidget(self.center_tabs, 1)
        lay.addLayout(transport)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)

        # Docks: the right column runs the full height, so the bottom tabs only take the clips' width.
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.jobs_panel = JobsPanel(self.jobs)
        self.log_panel = LogPanel()
        self.jobs_dock = self._dock("Jobs", self.jobs_panel, Qt.RightDockWidgetArea)
        self.log_dock = self._dock("Log", self.log_panel, Qt.BottomDockWidgetArea)
        self.history = QUndoView(self.undo_stack)
        self.history.setEmptyLabel("Opened")
        self.history_dock = self._dock("History", self.history, Qt.RightDockWidgetArea)
        from avstudio.gui.training import TrainingMonitor
        self.monitor = TrainingMonitor()
        self.monitor_dock = self._dock("Training", self.monitor, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.history_dock, self.monitor_dock)
        self.history_dock.raise_()
        from avstudio.gui.f0_editor import F0Editor
        from avstudio.gui.voice_player import VoicePlayer
        self.voice_player = VoicePlayer(self)
        self.f0_editor = F0Editor(self)
        self.pitch_dock = self._dock("Pitch", self.f0_editor, Qt.BottomDockWidgetArea)
        self.tabifyDockWidget(self.log_dock, self.pitch_dock)
        self.log_dock.raise_()
        self.monitor.playSample.connect(self.voice_player.play_file)
        self.retarget_view.overrideChosen.connect(lambda over: self.retarget(overrides=over))
        self.retarget_view.resetRequested.connect(lambda: self.retarget(reset=True))
        self.retarget_view.showGenerated.connect(self.toggle_generated)
        # After the switch is laid out: a tab that has just become current is not "on screen" yet.
        self.center_tabs.currentChanged.connect(lambda _: QTimer.singleShot(0, self._retarget_tab_shown))
        self._retarget_job = None
        self._adding: dict[str, tuple[str, str]] = {}  # job id → (role, path) of media being read
        self._face_cache: dict = {}
        from avstudio.gui.preview import GeneratedPreview
        self.preview = GeneratedPreview(self)
        self.preview.updated.connect(self._show_generated)
        self.preview.updated.connect(lambda: self._retarget_view_generated())
        self.preview.updated.connect(self._timeline_generated)
        self.undo_stack.indexChanged.connect(lambda _: self.preview.schedule())
        self._voice_jobs: dict[str, tuple[str, str]] = {}
        self.jobs.progressed.connect(self.monitor.progressed)
        self.jobs.progressed.connect(self._checkpoint_saved)
        self.jobs.finished.connect(self.monitor.finished)
        self.resizeDocks([self.jobs_dock], [340], Qt.Horizontal)
        self.resizeDocks([self.log_dock], [130], Qt.Vertical)
        self.statusBar().showMessage("Open a project, or drop a source and a target video on the two panes.")

        self.player.frameChanged.connect(self._frame_changed)
        self.player.playingChanged.connect(self._playing_changed)
        self.jobs.finished.connect(self._job_finished)
        self._build_menus()
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()
        self._audio_job = None
        self._opening: dict = {}
        self._update_title()

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # ---- menus & shortcuts --------------------------------------------------------------------
    def _action(self, menu, action_id: str, slot) -> QAction:
        """An action from the shortcut registry (gui/shortcuts.py): text, key and tooltip are data."""
        _, text, key, tip = SHORTCUTS[action_id]
        a = QAction(text, self)
        a.setObjectName(action_id)
        a.setShortcut(QKeySequence(key))
        a.setShortcutContext(Qt.WindowShortcut)
        a.setStatusTip(tip)
        a.setToolTip(f"{tip} ({key})")
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _plain_action(self, menu, text: str, slot, tip: str = "") -> QAction:
        a = QAction(text, self)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "new", self.new_project_dialog)
        self._action(f, "open", self.open_project_dialog)
        self.recent_menu = f.addMenu("Open &Recent")
        self._fill_recent()
        self._action(f, "save", self.save)
        self._action(f, "save_as", self.save_as_dialog)
        f.addSeparator()
        for role in ("source", "target"):
            self._plain_action(f, f"Set {role.title()} Clip…", lambda _=False, r=role: self.choose_media(r))
        for role in ("source_voice", "target_voice"):
            self._plain_action(f, f"Set {role.replace('_', ' ').title()}…", lambda _=False, r=role: self.choose_media(r))
        self._plain_action(f, "Relink Missing Media…", self.relink_dialog, "Point moved media files at their new place")
        f.addSeparator()
        self.export_action = self._action(f, "export", self.export_dialog)
        f.addSeparator()
        self._action(f, "quit", self.close)

        e = mb.addMenu("&Edit")
        self._action(e, "undo", self.undo_stack.undo)
        self._action(e, "redo", self.undo_stack.redo)
        e.addSeparator()
        self._action(e, "interpolate", lambda: self.range_operation("interpolate"))
        self._action(e, "smooth", lambda: self.range_operation("smooth"))
        self._action(e, "copy_previous", lambda: self.range_operation("copy_previous"))
        self._action(e, "reanalyse", lambda: self.range_operation("reanalyse"))
        self._action(e, "hide", self.toggle_selected_point)

        p = mb.addMenu("&Playback")
        self._action(p, "play", self.player.toggle)
        self._action(p, "next", lambda: self.player.step(1))
        self._action(p, "prev", lambda: self.player.step(-1))
        self._action(p, "next10", lambda: self.player.step(10))
        self._action(p, "prev10", lambda: self.player.step(-10))
        self._action(p, "first", lambda: self.player.step(-10**9))
        self._action(p, "last", lambda: self.player.step(10**9))
        self._action(p, "next_flag", lambda: self.jump_flagged(1))
        self._action(p, "prev_flag", lambda: self.jump_flagged(-1))

        an = mb.addMenu("&Analysis")
        for clip in ("source", "target"):
            for kind in ("pose", "face"):
                act = self._plain_action(an, f"Analyse {clip.title()} {kind.title()}",
                                         lambda _=False, c=clip, k=kind: self.analyse(c, k),
                                         f"Extract the {clip} clip's {kind} (click the person first to choose who)")
                act.setObjectName(f"analyse_{clip}_{kind}")
        an.addSeparator()
        act = self._plain_action(an, "Retarget Source → Target", lambda: self.retarget(),
                                 "Normalize the source pose into the target's space (Everybody Dance Now)")
        act.setObjectName("retarget")
        act = self._plain_action(an, "Retarget View", self.show_retarget_view,
                                 "Source | normalized pose | generated, with the floor lines to drag")
        act.setObjectName("retarget_view")
        an.addSeparator()
        act = self._plain_action(an, "Train…", self.train_dialog, "Train (or resume) a model of the target person")
        act.setObjectName("train")

        vo = mb.addMenu("V&oice")
        for clip in ("source_voice", "target_voice"):
            act = self._plain_action(vo, f"Analyse {clip.replace('_', ' ').title()}",
                                     lambda _=False, c=clip: self.analyse_voice(c),
                                     "WORLD analysis: pitch (Harvest), spectral envelope, aperiodicity")
            act.setObjectName(f"analyse_{clip}")
        vo.addSeparator()
        act = self._plain_action(vo, "Train Voice Model…", self.train_voice_dialog,
                                 "Train CycleGAN-VC2 from the source voice to the target voice")
        act.setObjectName("train_voice")
        act = self._plain_action(vo, "Convert Source Voice", self.convert_voice,
                                 "Convert the source voice with the newest voice model (its pitch stays editable)")
        act.setObjectName("convert_voice")
        vo.addSeparator()
        self._plain_action(vo, "Pitch Editor", self.show_pitch)
        for tool in ("pen", "line", "smooth", "select"):
            self._action(vo, f"f0_{tool}", lambda _=False, t=tool: (self.f0_editor.set_tool(t), self.show_pitch()))

        v = mb.addMenu("&View")
        self._action(v, "ab", self.toggle_generated)
        self.onion_action = self._action(v, "onion", self.refresh_overlay)
        self.onion_action.setCheckable(True)
        v.addSeparator()
        v.addAction(self.jobs_dock.toggleViewAction())
        v.addAction(self.log_dock.toggleViewAction())
        v.addAction(self.history_dock.toggleViewAction())
        v.addAction(self.monitor_dock.toggleViewAction())
        v.addAction(self.pitch_dock.toggleViewAction())

        h = mb.addMenu("&Help")
        self._action(h, "help", self.show_shortcuts)
        self._plain_action(h, "About AV Studio", lambda: QMessageBox.about(
            self, "AV Studio", "AV Studio — see, fix and convert the poses, faces and voices your models learn from."))

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(text, key) of every registered shortcut that has an action in this window."""
        rows = []
        for action_id, (_, text, key, _) in SHORTCUTS.items():
            if self.findChild(QAction, action_id) is not None:
                rows.append((text.replace("&", ""), key))
        return rows

    def show_shortcuts(self) -> None:
        text = "\n".join(f"{k:<14} {name}" for name, k in self.shortcut_table())
        box = QMessageBox(QMessageBox.Information, "Keyboard Shortcuts", "Keyboard shortcuts", parent=self)
        box.setInformativeText(f"<pre>{text}</pre>")
        box.exec() if self.ask else None

    # ---- recent files -------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def _remember(self, folder: Path) -> None:
        items = [str(folder)] + [r for r in self.recent() if r != str(folder)]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent():
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(self.recent()))

    # ---- errors -------------------------------------------------------------------------------
    def show_error(self, title: str, exc: Exception | str, details: str | None = None, logged: bool = False) -> None:
        message = exc.message if isinstance(exc, UserError) else str(exc)
        details = details or (exc.details if isinstance(exc, UserError) else None)
        if not logged:
            log.error("%s: %s", title, message)
        self.statusBar().showMessage(message, 10000)
        if self.ask:
            box = QMessageBox(QMessageBox.Warning, title, message, parent=self)
            if details:
                box.setDetailedText(details)
            box.exec()

    # ---- project ------------------------------------------------------------------------------
    def new_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getSaveFileName(self, "New project", str(Path.home() / "Untitled.avproj"),
                                              "AV Studio project (*.avproj)")
        if path:
            self.new_project(path)

    def new_project(self, path: str | Path) -> None:
        folder = new_project_folder(path)
        try:
            project = Project(folder.stem, folder)
            save_project(project, folder)
        except UserError as exc:
            self.show_error("Cannot create the project", exc)
            return
        self.set_project(project)
        self._remember(folder)

    def open_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path = QFileDialog.getExistingDirectory(self, "Open project (.avproj folder)", str(Path.home()))
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        folder = Path(path)
        if folder.name == PROJECT_FILE:
            folder = folder.parent
        try:
            copy = find_recovery(folder)
            project = None
            if copy is not None and self._confirm_recovery(copy):
                project = recover_project(folder, copy)
            if project is None:
                project = load_project(folder)
        except UserError as exc:
            self.show_error("Cannot open the project", exc)
            return False
        self.set_project(project)
        self._remember(folder)
        missing = project.missing_media()
        if missing:
            names = ", ".join(Path(m.path).name for m in missing)
            self.show_error("Media not found", f"Some media of this project was not found: {names}. "
                            "Use File ▸ Relink Missing Media… to point at the files' new location.")
        return True

    def _confirm_recovery(self, copy: Path) -> bool:
        when = datetime.strptime(copy.name, "%Y%m%d-%H%M%S-%f")
        if not self.ask:
            return True
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            f"This project has unsaved changes from an autosave at {when:%Y-%m-%d %H:%M:%S} UTC (the app may "
            "have closed unexpectedly). Recover them? (Choosing No opens the last saved version; the autosave "
            "copy is kept.)", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        return answer == QMessageBox.Yes

    def set_project(self, project: Project | None) -> None:
        from avstudio.gui.jobs import collect_garbage_on_gui_thread

        self.player.pause()
        for loader in self.loaders.values():
            loader.close()
        self.loaders.clear()
        self.project = project
        self.undo_stack.clear()
        self._changed_outside_undo = bool(project is not None and project.dirty)  # e.g. recovered
        self._reload_media()
        self.refresh_timeline()
        self.voice_player.stop_clock()
        self.f0_editor.fill_clips()
        self.soundtrack.clear()
        self.preview.set_model(None)
        self._fill_right_pane()
        self._update_title()
        collect_garbage_on_gui_thread().full()  # the old project's cycles go now, not mid-playback

    def _reload_media(self) -> None:
        """Close the clips and open the project's source and target again. Opening indexes every
        packet of the file, which takes a while on long clips, so it runs as a job per clip."""
        self.player.pause()
        for loader in self.loaders.values():
            loader.close()
        self.loaders.clear()
        self._opening = {}
        self.player.set_clock(SilentClock())
        self.player.set_timebase(None)
        self._set_scrub_range(None)
        self.export_action.setEnabled(False)
        self.clock_label.setText("")
        self.timeline.set_thumbnails(None)
        for role, view in self.views.items():
            ref = self.project.media_by_role(role) if self.project else None
            if ref is None:
                view.set_clip(None, None)
                continue
            name = Path(ref.path).name
            try:
                path = self.project.media_path(ref.id)
            except UserError as exc:
                view.set_clip(name, None, missing=True)
                log.error("%s", exc)
                continue
            view.set_clip(name, None)
            view.placeholder.setText(f"Opening {name}…")
            handle = self.jobs.run(_open_clip_job, path, name=f"Open {name}", quiet=True)
            self._opening[handle.id] = (role, handle)

    def _clip_opened(self, role: str, source: VideoSource) -> None:
        if self.project is None or role not in self.views:
            source.close()
            return
        view = self.views[role]
        view.set_clip(source.path.name, source.size)
        loader = FrameLoader(source, self)
        loader.frameReady.connect(view.show_frame)
        loader.frameReady.connect(lambda i, img, r=role: self.retarget_view.show_clip_frame(r, i, img))
        loader.frameReady.connect(lambda *_a, r=role: self.refresh_overlay(roles=(r,)))  # only the view that changed
        loader.failed.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
        self.loaders[role] = loader
        self.export_action.setEnabled(True)
        # Playback runs on the source's time axis; the target drives it only when there is no source.
        if role == "source" or self.player.timebase is None:
            self.player.set_timebase(source.timebase)
            self._set_scrub_range(source.timebase)
            self._load_playback_audio()
            self.timeline.set_duration(source.timebase.duration)
            from avstudio.media.thumbnails import thumbnail_strip
            self._thumbs_job = self.jobs.run(thumbnail_strip, source.path, name=f"Thumbnails of {source.path.name}",
                                             quiet=True)
        self._frame_changed(self.player.frame)

    def _set_scrub_range(self, timebase) -> None:
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, max(0, (timebase.frame_count - 1) if timebase else 0))
        self.scrub.setValue(0)
        self.scrub.blockSignals(False)

    def _playback_media(self):
        """The clip that drives playback (source, else target) and its audio, if any."""
        for role in ("source", "target"):
            ref = self.project.media_by_role(role) if self.project else None
            if ref is not None and role in self.loaders:
                return ref
        return None

    def soundtracks(self) -> list[tuple[str, str, Path]]:
        """(key, label, file) of every sound the video can play with."""
        out = []
        if self.project is None:
            return out
        ref = self._playback_media()
        if ref is not None and ref.probe.get("audio"):
            out.append(("clip", "Clip sound", self.project.media_path(ref.id)))
        for role, label in (("source_voice", "Source voice"), ("target_voice", "Target voice")):
            r = self.project.media_by_role(role)
            if r is not None and self.project.locate_media(r.id) is not None:
                out.append((role, label, self.project.media_path(r.id)))
        conv = self.f0_editor.audio_path("converted")
        if conv is not None and conv.is_file():
            out.append(("converted", "Converted voice", conv))
        return out

    def _fill_soundtracks(self) -> None:
        current = self.soundtrack.currentData()
        self.soundtrack.blockSignals(True)
        self.soundtrack.clear()
        for key, label, _ in self.soundtracks():
            self.soundtrack.addItem(label, key)
        i = self.soundtrack.findData(current)
        self.soundtrack.setCurrentIndex(i if i >= 0 else 0)
        self.soundtrack.blockSignals(False)

    def _load_playback_audio(self) -> None:
        """Load the chosen soundtrack: its waveform for the timeline, and the audio clock when a device
        exists (the audio is then the master clock of playback)."""
        if self.soundtrack.count() == 0:
            self._fill_soundtracks()
        self.clock_label.setText("")
        tracks = {k: path for k, _, path in self.soundtracks()}
        key = self.soundtrack.currentData()
        path = tracks.get(key)
        self.player.set_clock(SilentClock())
        if path is None:
            self.timeline.set_waveform(None)
            self.clock_label.setText("no soundtrack")
            return
        self._wave_job = self.jobs.run(_waveform_job, str(path), name=f"Waveform of {path.name}", quiet=True)
        if not audio_output_available():
            self.clock_label.setText("no audio device: silent clock")
            log.info("No audio output device: playback uses a silent clock")
            return
        self._audio_job = self.jobs.run(_load_playback_audio_job, path, name=f"Load audio of {path.name}",
                                       quiet=True)

    def _job_finished(self, handle) -> None:
        adding = self._adding.pop(handle.id, None)
        if adding is not None:
            self._media_read(*adding, handle)
            return
        if handle is self._retarget_job:
            self._retargeted(handle)
            return
        voice = self._voice_jobs.pop(handle.id, None)
        if voice is not None and handle.state is JobState.DONE and self.project is not None:
            self._voice_done(voice, handle.result)
            return
        analysis = self._analysis_jobs.pop(handle.id, None)
        if analysis is not None and handle.state is JobState.DONE and self.project is not None:
            from avstudio.analysis.project_ops import extraction_edit
            clip, kind = analysis
            push_edit(self.undo_stack, self.project, extraction_edit(self.project, clip, kind, handle.result),
                      self._track_edited)
            found = int((handle.result.flags[:, 0] != Flag.MISSING).sum())
            self.statusBar().showMessage(f"{clip.title()} {kind}: the subject was found in {found}/"
                                         f"{len(handle.result.flags)} frames.", 10000)
            return
        opening = getattr(self, "_opening", {}).pop(handle.id, None)
        if opening is not None:
            role, _ = opening
            if handle.state is JobState.DONE:
                self._clip_opened(role, handle.result)
            elif handle.state is JobState.FAILED:
                self.views[role].placeholder.setText(handle.error or "Cannot open this clip.")
                self.show_error(handle.name, handle.error or "Failed", handle.error_details, logged=True)
            return
        if handle is self.monitor.handle and handle.state is JobState.DONE and self.project is not None:
            self._evaluate_run(handle)
            self._fill_right_pane()
        if getattr(handle, "is_eval", False):
            if handle.state is JobState.DONE:
                self.monitor.show_metrics(handle.result)
            return
        if handle is getattr(self, "_thumbs_job", None):
            if handle.state is JobState.DONE:
                self.timeline.set_thumbnails(*handle.result)
            return
        if handle is getattr(self, "_wave_job", None):
            if handle.state is JobState.DONE:
                self.timeline.set_waveform(*handle.result, label=self.soundtrack.currentText().lower())
            return
        if handle is self._audio_job and handle.state is JobState.DONE and handle.result is not None:
            try:
                clock = AudioClock(handle.result, self)
                self.player.set_clock(clock)
                self.clock_label.setText("audio clock")
            except Exception as exc:  # noqa: BLE001 - a broken audio device must not stop playback
                log.warning("Audio output unavailable (%s); using a silent clock", exc)
        elif handle.state is JobState.FAILED:
            self.show_error(handle.name, handle.error or "Failed", handle.error_details, logged=True)
        elif getattr(handle, "open_folder", None) and handle.state is JobState.DONE:
            out = handle.result["out"] if isinstance(handle.result, dict) else handle.result
            self.statusBar().showMessage(f"Exported {out}", 15000)
            if self.ask:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(out).parent)))

    def save(self) -> bool:
        if self.project is None:
            return True
        if self.project.folder is None:
            return self.save_as_dialog()
        try:
            save_project(self.project)
        except UserError as exc:
            self.show_error("Could not save", exc)
            return False
        self.statusBar().showMessage(f"Saved {self.project.folder}", 5000)
        self.undo_stack.setClean()
        self._changed_outside_undo = False
        self._update_title()
        return True

    def save_as_dialog(self) -> bool:
        if self.project is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", str(Path.home() / f"{self.project.name}.avproj"),
                                              "AV Studio project (*.avproj)")
        if not path:
            return False
        try:
            save_project(self.project, new_project_folder(path))
        except UserError as exc:
            self.show_error("Could not save", exc)
            return False
        self._remember(self.project.folder)
        self.undo_stack.setClean()
        self._changed_outside_undo = False
        self._update_title()
        return True

    def autosave(self) -> None:
        if self.project is None or self.project.folder is None or not self.project.dirty:
            return
        try:
            autosave_project(self.project)
            log.info("Autosaved")
        except (UserError, OSError) as exc:
            log.warning("Autosave failed: %s", exc)

    def maybe_save(self) -> bool:
        """Ask about unsaved changes. True when it is fine to go on."""
        if self.project is None or not self.unsaved or not self.ask:
            return True
        answer = QMessageBox.question(self, "Unsaved changes", f"Save the changes to {self.project.name}?",
                                      QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    @property
    def unsaved(self) -> bool:
        """Unsaved changes: the undo stack is away from its saved position, or something that is not
        undoable (media added, a recovered project) changed since the last save."""
        try:
            clean = self.undo_stack.isClean()
        except RuntimeError:  # the window is being destroyed
            return False
        return self.project is not None and (not clean or self._changed_outside_undo)

    def _update_title(self) -> None:
        if self.project is None:
            self.setWindowTitle("AV Studio")
        else:
            self.setWindowTitle(f"{self.project.name}{' *' if self.unsaved else ''} — AV Studio")

    # ---- media --------------------------------------------------------------------------------
    def choose_media(self, role: str) -> None:
        filt = ("Video (*.mp4 *.mov *.mkv *.webm *.avi *.m4v)" if role in ("source", "target")
                else "Audio (*.wav *.flac *.mp3 *.ogg *.m4a *.aac *.opus);;Video with sound (*.mp4 *.mov *.mkv *.webm)")
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {role.replace('_', ' ')}", str(Path.home()), filt)
        if path:
            self.set_media(role, path)

    def set_media(self, role: str, path: str):
        """Use a file as ``role``: it is probed in a job, then added (the GUI stays live on slow disks)."""
        from avstudio.media.projects import media_summary_job

        handle = self.jobs.run(media_summary_job, str(path), role, name=f"Read {Path(path).name}", quiet=True)
        self._adding[handle.id] = (role, str(path))
        return handle

    def _role_taken(self, role: str) -> bool:
        """The project has media in ``role``, or a file for it is being read (two files dropped at once)."""
        return bool(self.project and self.project.media_by_role(role)) or \
            any(r == role for r, _ in self._adding.values())

    def _media_read(self, role: str, path: str, handle) -> None:
        what = role.replace("_", " ")
        if handle.state is JobState.FAILED:
            self.show_error(f"Cannot use this file as the {what}", handle.error or "Failed", handle.error_details)
            return
        if handle.state is not JobState.DONE:
            return
        if self.project is None:
            self.project = Project("Untitled")
        try:
            self.project.add_media(path, role, handle.result)
        except UserError as exc:
            self.show_error(f"Cannot use this file as the {what}", exc)
            return
        log.info("%s set to %s", role, path)
        self._changed_outside_undo = True
        if role in self.views:
            self._reload_media()
        self._update_title()

    def relink_dialog(self) -> None:
        if self.project is None:
            return
        for ref in self.project.missing_media():
            path, _ = QFileDialog.getOpenFileName(self, f"Where is {Path(ref.path).name}?", str(Path.home()))
            if not path:
                continue
            try:
                self.project.relink_media(ref.id, path)
            except UserError as exc:
                self.show_error("Cannot relink", exc)
        self._reload_media()
        self._update_title()

    # ---- export -------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.project is None or not self.loaders:
            return
        motion = [m for m in self.models() if m not in self.voice_models()]
        dialog = ExportDialog(self.project, self.player.frame_count, self, models=motion)
        if dialog.exec():
            render = dialog.render_request()
            self.start_render(render) if render else self.start_export(dialog.request())

    def start_render(self, kwargs: dict):
        """Export a model's generated video (rendering only the frames not in the cache yet)."""
        from avstudio.ml.infer import render

        if (self.unsaved or self.project.folder is None) and not self.save():
            return None
        handle = self.jobs.run(render, **kwargs, name=f"Export {Path(kwargs['out']).name}")
        handle.open_folder = True
        return handle

    def start_export(self, request):
        handle = self.jobs.run(export_project, self.project, request, name=f"Export {Path(request.out).name}")
        handle.open_folder = True
        return handle

    # ---- playback -----------------------------------------------------------------------------
    def _scrubbed(self, value: int) -> None:
        if value != self.player.frame:
            self.player.seek(value)

    def _playing_changed(self, playing: bool) -> None:
        icon = QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    # ---- keypoints on the canvas -----------------------------------------------------------------
    def _pose_track(self, role: str):
        return find_track(self.project, role, "pose") if self.project is not None else None

    def refresh_overlay(self, *_args, roles=("source", "target")) -> None:
        if "source" in roles:
            self._retarget_view_source_pose()
        for role in roles:
            view = self.views[role]
            if role == "target" and self.preview.active:
                view.face.set_face(None, None)
                continue
            self._draw_face(role)
            track = self._pose_track(role)
            f = view.frame_index
            if track is None or f is None or f >= track.length:
                view.skeleton.set_pose(None, None)
                continue
            if view.skeleton.skel.name != track.meta["skeleton"]:
                view.set_skeleton(track.meta["skeleton"])
            view.skeleton.set_pose(track.points[f], track.flags[f])
            if self.onion_action.isChecked():
                view.skeleton.set_onion((track.points[f - 1], track.flags[f - 1]) if f > 0 else None,
                                        (track.points[f + 1], track.flags[f + 1]) if f + 1 < track.length else None)
            else:
                view.skeleton.set_onion()

    def _draw_face(self, role: str) -> None:
        """The clip's face landmarks (iBUG 68 derived from the stored mesh, cached per undo position)."""
        from avstudio.analysis.landmarks import face68

        view, f = self.views[role], self.views[role].frame_index
        track = find_track(self.project, role, "face") if self.project is not None else None
        if track is None or f is None or f >= track.length:
            view.face.set_face(None, None)
            return
        key = (track.id, self.undo_stack.index(), id(track.points))
        cached = self._face_cache.get(role)
        if cached is None or cached[0] != key:
            try:
                cached = (key, face68(track))
            except ValueError:  # a layout with no face68 mapping
                cached = (key, None)
            self._face_cache[role] = cached
        pts = cached[1]
        view.face.set_face(*((pts[0][f], pts[1][f]) if pts is not None else (None, None)))

    def refresh_timeline(self) -> None:
        from avstudio.analysis.landmarks import body25
        from avstudio.analysis.review import review

        for role in ("source", "target"):
            track = self._pose_track(role)
            ref = self.project.media_by_role(role) if self.project else None
            if track is None or ref is None:
                self.timeline.set_track(role, None, None, 1.0)
                continue
            fps = ref.probe["video"]["fps"]
            fps = fps[0] / fps[1]
            try:
                flagged = [it.frame for it in review(*body25(track)) if it.score >= 1.0]
            except ValueError:
                flagged = []
            self.timeline.set_track(role, track.points, track.flags, fps, flagged)
            face = find_track(self.project, role, "face")
            self.timeline.set_face(role, *((face.points, face.flags, fps) if face is not None else (None, None, fps)))

    def _seek_seconds(self, seconds: float) -> None:
        if self.player.timebase is not None:
            self.player.seek(self.player.timebase.seconds_to_frame(seconds))

    def range_operation(self, op: str) -> None:
        """Interpolate, smooth, copy-previous or re-analyse the timeline's selected range of the active
        clip's pose track (copy previous without a range: onto the current frame)."""
        track = self._pose_track(self.active_clip)
        frames = self.timeline.selected_frames(self.active_clip)
        here = self.views[self.active_clip].frame_index
        if op == "copy_previous" and frames is None and here is not None:
            frames = (here, here + 1)
        if track is None or frames is None:
            self.statusBar().showMessage("Select a range on the timeline first (drag the blue region).", 5000)
            return
        if op == "reanalyse":
            self.reanalyse_range(self.active_clip, *frames)
            return
        from avstudio.analysis.keypoint_ops import copy_previous
        try:
            if op == "interpolate":
                edit = interpolate(self.project, track.id, *frames)
            elif op == "smooth":
                edit = smooth(self.project, track.id, *frames, fps=self.timeline.fps.get(self.active_clip, 30.0))
            else:
                edit = copy_previous(self.project, track.id, frames[0], stop=frames[1])
        except UserError as exc:
            self.show_error("Cannot do that", exc)
            return
        if edit is None:
            self.statusBar().showMessage("Nothing to change in that range.", 5000)
            return
        push_edit(self.undo_stack, self.project, edit, self._track_edited)

    def reanalyse_range(self, clip: str, start: int, stop: int) -> list:
        """Run the detector again on frames [start, stop) of the clip's pose (and face) track; the new
        points merge into the track as one undo step each, keeping every anchor."""
        from avstudio.analysis.project_ops import analyze_clip

        handles = []
        for kind in ("pose", "face"):
            if find_track(self.project, clip, kind) is None:
                continue
            handle = self.jobs.run(analyze_clip, self.project, clip, kind, start=start, stop=stop,
                                   name=f"Re-analyse {clip} {kind} {start + 1}–{stop}")
            self._analysis_jobs[handle.id] = (clip, kind)
            handles.append(handle)
        return handles

    def toggle_selected_point(self) -> None:
        """H: hide (or show again) the keypoint last touched on the active clip."""
        joint = self.views[self.active_clip].skeleton.selected
        if joint is None:
            self.statusBar().showMessage("Click or drag a keypoint first; H then hides it (or shows it again).", 5000)
            return
        self._toggle_point(self.active_clip, joint)

    def _track_edited(self, *_args) -> None:
        self.refresh_overlay()
        self.refresh_timeline()
        self.refresh_retarget_view()

    def jump_flagged(self, direction: int) -> None:
        view = self.views[self.active_clip]
        ref = self.project.media_by_role(self.active_clip) if self.project else None
        if view.frame_index is None or ref is None or self.player.timebase is None:
            return
        target = self.timeline.next_flagged(self.active_clip, view.frame_index, direction)
        if target is None:
            self.statusBar().showMessage("No more flagged frames that way.", 3000)
            return
        fps = ref.probe["video"]["fps"]
        self.player.pause()
        self.player.seek(self.player.timebase.seconds_to_frame(target * fps[1] / fps[0]))

    def _pick_subject(self, role: str, x: float, y: float) -> None:
        f = self.views[role].frame_index
        if f is None:
            return
        self.subject_points[role] = (f, x, y)
        self.active_clip = role
        self.statusBar().showMessage(f"Analysis of the {role} clip will follow the person at ({x:.0f}, {y:.0f}) "
                                     f"on frame {f + 1}.", 8000)

    def analyse(self, clip: str, kind: str):
        """Run pose or face extraction of a clip as a job; its result lands on the undo stack."""
        from avstudio.analysis.project_ops import analyze_clip

        if self.project is None or self.project.media_by_role(clip) is None:
            self.show_error("Nothing to analyse", f"The project has no {clip} clip yet.")
            return None
        seed = self.subject_points.get(clip) if kind == "pose" else None
        handle = self.jobs.run(analyze_clip, self.project, clip, kind, seed=seed,
                               name=f"Analyse {clip} {kind}")
        self._analysis_jobs[handle.id] = (clip, kind)
        return handle

    def models(self) -> list[str]:
        if self.project is None or self.project.folder is None:
            return []
        folder = Path(self.project.folder) / "models"
        return sorted(p.name for p in folder.iterdir() if (p / "latest.json").is_file()) if folder.is_dir() else []

    def train_dialog(self) -> None:
        from avstudio.gui.training import TrainDialog

        if self.project is None:
            return
        dialog = TrainDialog(self.motion_models(), self)
        if dialog.exec():
            self.start_training(**dialog.request())

    def start_training(self, preset: str = "preview", device: str = "auto", steps: int | None = None,
                       model_id: str | None = None, resume: bool = False):
        """Save (training reads the project from disk), then train in a child process."""
        if self.project is None:
            return None
        if self.unsaved or self.project.folder is None:
            if not self.save():
                return None
        from avstudio.ml.train import new_model_id

        model_id = model_id or new_model_id()
        handle = self.jobs.run_process("avstudio.ml.train:train", str(self.project.folder), preset, steps, model_id,
                                       resume, device, name=f"Train {model_id}")
        handle.model_id = model_id
        log = Path(self.project.folder) / "models" / model_id / "losses.jsonl"
        self.monitor.watch(handle, log if resume else None)
        self.monitor_dock.raise_()
        return handle

    # ---- voice ---------------------------------------------------------------------------------
    def push(self, edit, on_change=None) -> None:
        """Apply a core edit through the undo stack (widgets outside the window use this)."""
        push_edit(self.undo_stack, self.project, edit, on_change)

    def analyse_voice(self, clip: str):
        from avstudio.analysis.voice_ops import analyze_voice

        if self.project is None or self.project.media_by_role(clip) is None:
            self.show_error("Nothing to analyse", f"The project has no {clip.replace('_', ' ')} yet "
                                                  f"(File ▸ Set {clip.replace('_', ' ').title()}…).")
            return None
        if self.project.folder is None and not self.save():
            return None
        handle = self.jobs.run(analyze_voice, self.project, clip, name=f"Analyse {clip.replace('_', ' ')}")
        self._voice_jobs[handle.id] = ("analyse", clip)
        return handle

    def _voice_done(self, what: tuple[str, str], result) -> None:
        from avstudio.analysis.voice_ops import voice_edit

        kind, clip = what
        if kind == "analyse":
            self.push(voice_edit(self.project, result), lambda _e: self.f0_editor.fill_clips())
            for w in result.warnings:
                log.warning(w)
            self.statusBar().showMessage(f"Analysed the {clip.replace('_', ' ')}: "
                                         f"{(result.f0 > 0).mean():.0%} voiced.", 10000)
        elif kind == "convert":
            from avstudio.ml.vc.project_ops import conversion_edit
            analysis, wav = result
            self.push(conversion_edit(self.project, analysis, wav), lambda _e: self.f0_editor.fill_clips())
            self.statusBar().showMessage("Converted the source voice: choose “Converted voice” as the export's "
                                         "audio, or edit its pitch in the Pitch editor.", 15000)
        self.f0_editor.fill_clips()
        self._fill_soundtracks()
        self.show_pitch()

    def show_pitch(self) -> None:
        self.pitch_dock.show()
        self.pitch_dock.raise_()
        if self.pitch_dock.height() < 240:
            self.resizeDocks([self.pitch_dock], [260], Qt.Vertical)

    def voice_models(self) -> list[str]:
        import json
        out = []
        for m in self.models():
            latest = Path(self.project.folder) / "models" / m / "latest.json"
            try:
                ck = json.loads(latest.read_text())["checkpoint"]
                doc = json.loads((latest.parent / ck / "config.json").read_text())
            except (OSError, ValueError, KeyError):
                continue
            if doc.get("config", {}).get("kind") == "cyclegan-vc2":
                out.append(m)
        return out

    def train_voice_dialog(self) -> None:
        from avstudio.gui.training import TrainDialog
        from avstudio.ml.vc.presets import VC_PRESETS

        if self.project is None:
            return
        dialog = TrainDialog(self.voice_models(), self, presets=VC_PRESETS, title="Train a voice model",
                             tip="vc-preview: a quarter of the channels, a CPU-bounded run · vc: CycleGAN-VC2 as "
                                 "published (days on a GPU)")
        if dialog.exec():
            self.start_voice_training(**dialog.request())

    def start_voice_training(self, preset: str = "vc-preview", device: str = "auto", steps: int | None = None,
                             model_id: str | None = None, resume: bool = False):
        """Train CycleGAN-VC2 on the project's source and target voices, in a child process."""
        if self.project is None:
            return None
        if (self.unsaved or self.project.folder is None) and not self.save():
            return None
        speakers = []
        for role in ("source_voice", "target_voice"):
            ref = self.project.media_by_role(role)
            if ref is None and not resume:
                self.show_error("Cannot train a voice model", f"The project has no {role.replace('_', ' ')}: "
                                                              f"File ▸ Set {role.replace('_', ' ').title()}….")
                return None
            speakers.append([str(self.project.media_path(ref.id))] if ref is not None else [])
        from avstudio.ml.train import new_model_id

        model_id = model_id or new_model_id()
        handle = self.jobs.run_process("avstudio.ml.vc.train:train_voice", str(self.project.folder), speakers[0],
                                       speakers[1], preset, steps, model_id, resume, device,
                                       name=f"Train voice {model_id}")
        log_path = Path(self.project.folder) / "models" / model_id / "losses.jsonl"
        self.monitor.watch(handle, log_path if resume else None)
        self.monitor_dock.raise_()
        return handle

    def convert_voice(self, model_id: str | None = None):
        from avstudio.ml.vc.project_ops import convert_project

        if self.project is None:
            return None
        models = self.voice_models()
        model_id = model_id or (models[-1] if models else None)
        if model_id is None:
            self.show_error("No voice model", "Train a voice model first (Voice ▸ Train Voice Model…).")
            return None
        if (self.unsaved or self.project.folder is None) and not self.save():
            return None
        handle = self.jobs.run(convert_project, str(self.project.folder), model_id, "source_voice",
                               name=f"Convert the source voice ({model_id})")
        self._voice_jobs[handle.id] = ("convert", "source_voice")
        return handle

    # ---- the generated result (right pane) -------------------------------------------------------
    def motion_models(self) -> list[str]:
        voice = set(self.voice_models())
        return [m for m in self.models() if m not in voice]

    def _fill_right_pane(self) -> None:
        current = self.right_pane.currentData()
        self.right_pane.blockSignals(True)
        self.right_pane.clear()
        self.right_pane.addItem("Target clip", None)
        if self.project is not None and self.project.folder is not None:
            for m in self.motion_models():
                self.right_pane.addItem(f"Generated — {m}", m)
        i = self.right_pane.findData(current)
        self.right_pane.setCurrentIndex(max(0, i))
        self.right_pane.blockSignals(False)

    def show_generated(self, model_id: str | None) -> None:
        """Right pane: the target clip (None) or the frames ``model_id`` generates (rendered as needed)."""
        self._fill_right_pane()
        i = self.right_pane.findData(model_id)
        self.right_pane.setCurrentIndex(max(0, i))
        self._pane_changed()

    def toggle_generated(self) -> None:
        """A/B: the target clip ⇄ the newest generated result."""
        models = self.motion_models()
        if self.preview.active or not models:
            self.show_generated(None)
        else:
            last = self._last_generated if getattr(self, "_last_generated", None) in models else models[-1]
            self.show_generated(last)

    def _pane_changed(self) -> None:
        model = self.right_pane.currentData()
        view = self.views["target"]
        if model is not None:
            self._last_generated = model
            if self.project is None or find_track(self.project, "source", "normalized") is None:
                self.show_error("Nothing to generate from", "Retarget the source first (Analysis ▸ Retarget).")
                self.right_pane.setCurrentIndex(0)
                model = None
        self.preview.set_model(model)
        if model is None:
            view.title.setText(view.title.text().split("  ·")[0])
            self._frame_changed(self.player.frame)
            self.refresh_overlay()
        else:
            view.skeleton.set_pose(None, None)
            view.skeleton.set_onion()

    def _show_generated(self) -> None:
        if not self.preview.active:
            return
        view = self.views["target"]
        frame = self.player.frame
        img = self.preview.image(frame)
        waiting = img is None
        if waiting:
            img = self.preview.stand_in(frame)
        if img is not None:
            view.stack.setCurrentWidget(view.graphics)
            view.frame_index = None  # generated frames are not edited
            view.image.setImage(img, autoLevels=False, levels=None)
        base = view.title.text().split("  ·")[0]
        view.title.setText(f"{base}  · generated by {self.preview.model_id}" +
                           (f" (generating {self.preview.missing()} frames…)" if self.preview.rendering else ""))

    def _timeline_generated(self) -> None:
        tb = self.player.timebase
        if not self.preview.active or tb is None:
            self.timeline.set_generated(None)
            return
        done = int(self.preview.rendered.sum())
        self.timeline.set_generated(self.preview.rendered, float(tb.fps),
                                    f"generated — {self.preview.model_id}: {done}/{len(self.preview.rendered)}")

    def _checkpoint_saved(self, handle, progress) -> None:
        """A motion run saved a checkpoint: score it on the held-out block while training goes on (the
        training process runs niced, so this costs it little). One at a time; a busy scorer skips."""
        path = (progress.data or {}).get("checkpoint")
        model_id = getattr(handle, "model_id", None)
        if not path or handle is not self.monitor.handle or model_id is None or self.project is None:
            return
        job = getattr(self, "_eval_job", None)
        if job is not None and not job.state.finished:
            return
        # In a child process (niced, like the training): MediaPipe and torch here would hold the GIL
        # long enough to stall the GUI thread for 100 ms and more.
        self._eval_job = self.jobs.run_process("avstudio.ml.evaluate:evaluate", str(self.project.folder), model_id,
                                               "cpu", path, name=f"Evaluate {model_id} at step {progress.data.get('step')}",
                                               quiet=True)
        self._eval_job.is_eval = True

    def _evaluate_run(self, handle) -> None:
        """Score the checkpoint a run ended on (held-out data vs a baseline) and show it in the monitor."""
        result = handle.result or {}
        model_id = result.get("model_id")
        if not model_id or self.project.folder is None:
            return
        if model_id in self.voice_models():
            from avstudio.ml.vc.evaluate import evaluate_voice
            self._eval_job = self.jobs.run(evaluate_voice, str(self.project.folder), model_id, device="cpu",
                                           name=f"Evaluate {model_id}")
        else:
            self._eval_job = self.jobs.run_process("avstudio.ml.evaluate:evaluate", str(self.project.folder),
                                                   model_id, "cpu", name=f"Evaluate {model_id}")
        self._eval_job.is_eval = True

    def retarget(self, overrides: dict | None = None, reset: bool = False):
        """Normalize the source pose into the target (a job; the result is one undo step).
        ``overrides`` are statistics the user set by dragging lines; ``reset`` forgets them."""
        from avstudio.retarget.project_ops import retarget_job

        if self.project is None:
            return None
        if self._retarget_job is not None and not self._retarget_job.state.finished:
            self._retarget_job.cancel()
        handle = self.jobs.run(retarget_job, self.project, overrides=overrides, reset=reset, name="Retarget",
                               quiet=True)
        self._retarget_job = handle
        return handle

    def _retargeted(self, handle) -> None:
        if handle.state is JobState.FAILED:
            self.show_error("Cannot retarget", handle.error or "Failed", handle.error_details)
            self.refresh_retarget_view()  # the lines go back to what the project holds
            return
        if handle.state is not JobState.DONE:
            return
        push_edit(self.undo_stack, self.project, handle.result, self._track_edited)
        fb = self.project.settings["retarget"]["fallback_frames"]
        self.statusBar().showMessage(f"Retargeted: {fb['ankles']} frames from the ankles, {fb['nose']} from the nose, "
                                     f"{fb['torso']} from the torso, {fb['none']} without a person.", 10000)

    def _retarget_tab_shown(self) -> None:
        if self.retarget_view.on_screen():
            self.refresh_retarget_view()
            self.refresh_overlay(roles=("source",))

    def show_retarget_view(self) -> None:
        self.center_tabs.setCurrentWidget(self.retarget_view)
        self.refresh_retarget_view()
        self.refresh_overlay()

    def _retarget_view_source_pose(self) -> None:
        if not self.retarget_view.on_screen():
            return
        track, f = self._pose_track("source"), self.retarget_view.frame
        if track is None or f is None or f >= track.length:
            self.retarget_view.set_source_pose(None, None, "mediapipe33")
        else:
            self.retarget_view.set_source_pose(track.points[f], track.flags[f], track.meta["skeleton"])

    def refresh_retarget_view(self) -> None:
        """Statistics and source pose for the retarget view (only while it is on screen)."""
        from avstudio.analysis.landmarks import body25
        from avstudio.retarget.project_ops import retarget_stats

        if not self.retarget_view.on_screen():
            return
        rv = self.retarget_view
        src = self._pose_track("source")
        if self.project is None or src is None or self._pose_track("target") is None:
            rv.set_data(None, None, "Analyse the pose of both clips to retarget.")
            return
        try:
            stats, _ = retarget_stats(self.project)
        except UserError as exc:
            rv.set_data(None, None, str(exc))
            return
        rv.set_data(stats, body25(src))
        self._retarget_view_generated()

    def _retarget_view_generated(self) -> None:
        if not self.retarget_view.on_screen():
            return
        if not self.preview.active:
            note = "Show generated: the newest model's frame" if self.motion_models() else \
                "Train a model (Analysis ▸ Train…) to see the generated frame"
            self.retarget_view.set_generated(None, note)
            self.retarget_view.generate_button.setEnabled(bool(self.motion_models()))
            return
        frame = self.player.frame
        img = self.preview.image(frame)
        self.retarget_view.set_generated(img if img is not None else self.preview.stand_in(frame),
                                         self.preview.model_id if img is not None else "generating…")

    def _move_point(self, role: str, joint: int, x: float, y: float, drag_id: int) -> None:
        track, f = self._pose_track(role), self.views[role].frame_index
        if track is None or f is None:
            return
        self.active_clip = role
        push_edit(self.undo_stack, self.project, move_keypoint(self.project, track.id, f, joint, x, y, drag_id),
                  self.refresh_overlay)

    def _move_skeleton(self, role: str, dx: float, dy: float, drag_id: int) -> None:
        from avstudio.analysis.keypoint_ops import move_skeleton

        track, f = self._pose_track(role), self.views[role].frame_index
        if track is None or f is None:
            return
        self.active_clip = role
        push_edit(self.undo_stack, self.project, move_skeleton(self.project, track.id, f, dx, dy, drag_id),
                  self.refresh_overlay)

    def _toggle_point(self, role: str, joint: int) -> None:
        track, f = self._pose_track(role), self.views[role].frame_index
        if track is None or f is None:
            return
        hidden = track.flags[f, joint] != Flag.MISSING
        push_edit(self.undo_stack, self.project, set_hidden(self.project, track.id, f, [joint], hidden),
                  self.refresh_overlay)

    def _frame_changed(self, frame: int) -> None:
        tb = self.player.timebase
        if tb is None:
            self.timecode.setText("--:--.-- / --:--.--")
            return
        t = tb.frame_to_seconds(frame)
        self.timeline.set_time(t)
        self.timecode.setText(f"{fmt_time(t)} / {fmt_time(tb.duration)}   frame {frame + 1}/{tb.frame_count}")
        self.scrub.blockSignals(True)
        self.scrub.setValue(frame)
        self.scrub.blockSignals(False)
        for role, loader in self.loaders.items():
            if role == "target" and self.preview.active:
                continue  # the right pane shows generated frames
            # The other clip follows by time (it may have another frame rate), held on its last frame.
            src_tb = loader.source.timebase
            loader.request(src_tb.seconds_to_frame(t))
        if self.preview.active:
            self._show_generated()
            self._retarget_view_generated()

    # ---- drag & drop of projects and media anywhere in the window -------------------------------
    def dragEnterEvent(self, event) -> None:
        paths = dropped_paths(event)
        if paths and (paths[0].is_dir() or paths[0].suffix.lower() in VIDEO_SUFFIXES | AUDIO_SUFFIXES):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for path in dropped_paths(event):
            if path.is_dir() or path.name == PROJECT_FILE:
                if self.maybe_save():
                    self.open_project(path)
                return
            first, second = ("source_voice", "target_voice") if path.suffix.lower() in AUDIO_SUFFIXES \
                else ("source", "target")
            self.set_media(second if self._role_taken(first) else first, str(path))
        event.acceptProposedAction()

    # ---- closing ------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.player.pause()
        self.jobs.cancel_all(wait=5)
        for loader in self.loaders.values():
            loader.close()
        self.loaders.clear()
        self.player.clock.close()
        self.log_panel.detach()
        self.undo_stack.cleanChanged.disconnect()
        self.undo_stack.indexChanged.disconnect()
        event.accept()


def _open_clip_job(path):
    """Job: open a video for random access (probes it and indexes every packet)."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Indexing frames")
    return VideoSource(path)


def _waveform_job(path):
    """Job: the peak envelope of a sound file, 100 points per second, for the timeline."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Reading audio")
    a = load_audio(path, 8000)
    n = len(a.samples) // 80 * 80
    peaks = np.abs(a.samples[:n]).reshape(-1, 80).max(1) if n else np.zeros(0, np.float32)
    return np.arange(len(peaks)) / 100.0, peaks


def _load_playback_audio_job(path):
    """Job: decode a clip's soundtrack for playback (48 kHz, up to stereo)."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Decoding audio")
    return load_audio(path, 48000, mono=False)
