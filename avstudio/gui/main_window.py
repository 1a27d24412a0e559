"""The main window: the frame the panels live in — the clip panes and the retarget view as tabs, the
transport and the timeline under them, the docks (jobs, log, history, training, pitch), the menus
built from every panel's actions, drag and drop, and closing. What the editor does lives in the
panels, which share an EditorContext (gui/context.py) instead of reaching into this window."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QTabWidget, QUndoView, QVBoxLayout, QWidget

from avstudio.gui.actions import ActionSpec, build_menus, shortcut_rows
from avstudio.gui.context import EditorContext
from avstudio.gui.jobs.log_panel import LogPanel
from avstudio.gui.jobs.panel import JobsPanel
from avstudio.gui.lipsync.curves import FaceCurves
from avstudio.gui.lipsync.panel import LipSyncPanel
from avstudio.gui.lipsync.speech import SpeechPanel
from avstudio.gui.motion.generated_pane import GeneratedPane
from avstudio.gui.motion.pose_panel import PosePanel
from avstudio.gui.motion.retarget_panel import RetargetPanel
from avstudio.gui.motion.review_rows import ReviewRows
from avstudio.gui.project.clips import ClipsPanel
from avstudio.gui.project.controller import ProjectController
from avstudio.gui.project.soundtrack import SoundtrackPanel
from avstudio.gui.training.controller import TrainingController
from avstudio.gui.training.monitor import TrainingMonitor
from avstudio.gui.voice.pitch_editor import PitchEditor
from avstudio.gui.voice.voice_panel import VoicePanel
from avstudio.gui.voice.voice_player import VoicePlayer
from avstudio.gui.widgets.clip_view import dropped_paths
from avstudio.gui.widgets.theme import icon
from avstudio.gui.widgets.timeline import Timeline
from avstudio.gui.widgets.transport import Transport

ABOUT = "AV Studio — see, fix and convert the poses, faces and voices your models learn from."


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, ask: bool = True):
        super().__init__()
        self.ctx = EditorContext(self, settings or QSettings("AVStudio", "AVStudio"), ask)
        self.setWindowTitle("AV Studio")
        self.setWindowIcon(icon("avstudio"))
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.projects = ProjectController(self.ctx, self)
        self._build_centre()
        self._build_docks()
        self._build_menus()
        self.statusBar().showMessage("Open a project, or drop a source and a target video on the two panes.")
        self.projects.update_title()

    # ---- what the tests and the panels reach most ------------------------------------------------
    @property
    def project(self):
        return self.ctx.project

    @property
    def undo_stack(self):
        return self.ctx.undo_stack

    @property
    def jobs(self):
        return self.ctx.jobs

    @property
    def player(self):
        return self.ctx.player

    @property
    def views(self):
        return self.clips.views

    # ---- building --------------------------------------------------------------------------------
    def _build_centre(self) -> None:
        ctx = self.ctx
        self.timeline = Timeline()
        self.clips = ClipsPanel(ctx, self.timeline, self)
        self.transport = Transport(ctx.player, self.timeline)
        self.soundtrack = SoundtrackPanel(ctx, self.clips, self.transport, self.timeline, self)
        self.review_rows = ReviewRows(ctx, self.timeline, self)
        self.pose = PosePanel(ctx, self.clips, self.timeline, self.review_rows, self)
        self.generated = GeneratedPane(ctx, self.clips, self.pose, self.transport.right_pane, self.timeline, self)
        self.retarget = RetargetPanel(ctx, self.clips, self.generated, self)
        self.lipsync = LipSyncPanel(ctx, self.clips, self)
        for view in self.clips.views.values():
            view.mediaDropped.connect(self.projects.set_media)
        # The clip panes and the retarget view share the big area: one tab each.
        self.center_tabs = QTabWidget()
        self.center_tabs.setDocumentMode(True)
        self.center_tabs.addTab(self.clips.widget, "Clips")
        self.center_tabs.addTab(self.retarget.view, "Retarget")
        self.center_tabs.setTabToolTip(1, "Source | normalized pose | generated, with the floor and height lines to drag")
        self.center_tabs.addTab(self.lipsync.view, "Lip Sync")
        self.center_tabs.setTabToolTip(2, "Source face | the driven face over the target | rendered")
        self.center_tabs.currentChanged.connect(lambda _: self.retarget.tab_shown())
        self.center_tabs.currentChanged.connect(lambda _: self.lipsync.show() if self.lipsync.view.isVisible() else None)
        self.retarget.show_tab = lambda: self.center_tabs.setCurrentWidget(self.retarget.view)
        self.lipsync.show_tab = lambda: self.center_tabs.setCurrentWidget(self.lipsync.view)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.center_tabs, 1)
        lay.addWidget(self.transport)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        ctx = self.ctx
        # The right column runs the full height, so the bottom tabs only take the clips' width.
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.jobs_panel = JobsPanel(ctx.jobs)
        self.log_panel = LogPanel()
        self.jobs_dock = self._dock("Jobs", self.jobs_panel, Qt.RightDockWidgetArea)
        self.log_dock = self._dock("Log", self.log_panel, Qt.BottomDockWidgetArea)
        self.history = QUndoView(ctx.undo_stack)
        self.history.setEmptyLabel("Opened")
        self.history_dock = self._dock("History", self.history, Qt.RightDockWidgetArea)
        self.monitor = TrainingMonitor()
        self.monitor_dock = self._dock("Training", self.monitor, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.history_dock, self.monitor_dock)
        self.history_dock.raise_()
        self.training = TrainingController(ctx, self.monitor, self)
        self.training.show_monitor = self.monitor_dock.raise_
        self.voice_player = VoicePlayer(ctx, self)
        self.pitch = PitchEditor(ctx, self.voice_player)
        self.voice = VoicePanel(ctx, self.pitch, self)
        self.voice.show_dock = self.show_pitch
        self.monitor.playSample.connect(self.voice_player.play_file)
        self.pitch_dock = self._dock("Pitch", self.pitch, Qt.BottomDockWidgetArea)
        self.tabifyDockWidget(self.log_dock, self.pitch_dock)
        self.face_curves = FaceCurves(ctx)
        self.face_dock = self._dock("Face Curves", self.face_curves, Qt.BottomDockWidgetArea)
        self.tabifyDockWidget(self.pitch_dock, self.face_dock)
        self.lipsync.selected_frames = self.face_curves.selected_frames
        self.speech = SpeechPanel(ctx, self.face_curves, self.lipsync, self)
        self.speech.show_curves = self.show_face_curves
        self.log_dock.raise_()
        self.resizeDocks([self.jobs_dock], [340], Qt.Horizontal)
        self.resizeDocks([self.log_dock], [130], Qt.Vertical)

    def _build_menus(self) -> None:
        ctx = self.ctx
        entries = [*self.projects.actions(),
                   (ActionSpec("undo", "Edit", "undo", "&Undo", "Undo the last edit"), ctx.undo_stack.undo),
                   (ActionSpec("redo", "Edit", "undo", "&Redo", "Redo the edit undone last"), ctx.undo_stack.redo),
                   *self.pose.actions(), *self.transport.actions(), *self.retarget.actions(),
                   *self.training.actions(), *self.voice.actions(), *self.generated.actions(), *self.lipsync.actions(),
                   *self.speech.actions(),
                   (ActionSpec("face_curves", "Lip Sync", "view", "Face Curves", "Show the mouth curves, head pose and "
                               "frame schedule of the driven face"), self.show_face_curves),
                   (ActionSpec("help", "Help", "help", "Keyboard Shortcuts", "List every shortcut"), self.show_shortcuts),
                   (ActionSpec("about", "Help", "help", "About AV Studio"), self.show_about)]
        ctx.actions, self.menus = build_menus(self, entries)
        self.menus["File"].insertMenu(ctx.actions["save"], self.projects.recent_menu)
        self.menus["View"].addSeparator()
        for dock in (self.jobs_dock, self.log_dock, self.history_dock, self.monitor_dock, self.pitch_dock,
                     self.face_dock):
            self.menus["View"].addAction(dock.toggleViewAction())

    # ---- views and help ----------------------------------------------------------------------------
    def show_pitch(self) -> None:
        self.pitch_dock.show()
        self.pitch_dock.raise_()
        if self.pitch_dock.height() < 240:
            self.resizeDocks([self.pitch_dock], [260], Qt.Vertical)

    def show_face_curves(self) -> None:
        self.face_dock.show()
        self.face_dock.raise_()
        if self.face_dock.height() < 220:
            self.resizeDocks([self.face_dock], [240], Qt.Vertical)

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(text, key) of every action with a shortcut."""
        return shortcut_rows(self.ctx.actions)

    def show_shortcuts(self) -> None:
        text = "\n".join(f"{k:<14} {name}" for name, k in self.shortcut_table())
        box = QMessageBox(QMessageBox.Information, "Keyboard Shortcuts", "Keyboard shortcuts", parent=self)
        box.setInformativeText(f"<pre>{text}</pre>")
        box.exec() if self.ctx.ask else None

    def show_about(self) -> None:
        if self.ctx.ask:
            QMessageBox.about(self, "AV Studio", ABOUT)

    # ---- drag & drop of projects and media anywhere in the window ----------------------------------
    def dragEnterEvent(self, event) -> None:
        if self.projects.accepts(dropped_paths(event)):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.projects.drop(dropped_paths(event))
        event.acceptProposedAction()

    # ---- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if not self.projects.maybe_save():
            event.ignore()
            return
        self.ctx.player.pause()
        self.ctx.jobs.cancel_all(wait=5)
        self.clips.close()
        self.lipsync.close()
        self.ctx.player.clock.close()
        self.voice_player.stop_clock()
        self.log_panel.detach()
        self.ctx.undo_stack.cleanChanged.disconnect()
        self.ctx.undo_stack.indexChanged.disconnect()
        event.accept()
