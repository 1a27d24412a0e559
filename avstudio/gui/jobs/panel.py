"""The jobs panel: one row per job with progress, ETA, cancel, and the error with details on demand."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from avstudio.core import textfmt
from avstudio.core.progress import JobState
from avstudio.gui.jobs.manager import JobManager
from avstudio.jobs.handle import JobHandle


class JobRow(QFrame):
    def __init__(self, handle: JobHandle, parent=None):
        super().__init__(parent)
        self.handle = handle
        self.setObjectName("jobRow")
        self.name = QLabel(handle.name)
        self.message = QLabel("")
        self.message.setObjectName("muted")
        # Long progress messages wrap inside the panel instead of widening the window.
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.name.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # indeterminate until the first progress
        self.eta = QLabel("")
        self.eta.setObjectName("muted")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job and discard its result")
        self.cancel_button.clicked.connect(self._cancel)
        self.details_button = QPushButton("Details…")
        self.details_button.setToolTip("Show the technical details of the failure")
        self.details_button.clicked.connect(self._show_details)
        self.details_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.name, 1)
        top.addWidget(self.eta)
        top.addWidget(self.cancel_button)
        top.addWidget(self.details_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addLayout(top)
        lay.addWidget(self.bar)
        lay.addWidget(self.message)

    def _cancel(self) -> None:
        self.handle.cancel()
        self.cancel_button.setEnabled(False)
        self.message.setText("Cancelling…")

    def update_progress(self, progress) -> None:
        frac = progress.fraction
        if frac is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(frac * 1000))
        self.message.setText(progress.message)
        self.eta.setText(textfmt.eta(self.handle.eta))

    def update_finished(self) -> None:
        h = self.handle
        self.cancel_button.hide()
        self.eta.setText(f"{h.elapsed:.1f} s")
        self.bar.setRange(0, 1000)
        stopped = h.state is JobState.DONE and isinstance(h.result, dict) and h.result.get("stopped")
        if stopped:  # finished early on request: keep the real fraction
            frac = h.progress.fraction if h.progress is not None else None
            self.bar.setValue(int((frac or 0) * 1000))
            self.message.setText(f"Stopped at step {h.result.get('step')}: saved")
        elif h.state is JobState.DONE:
            self.bar.setValue(1000)
            self.message.setText("Done")
        elif h.state is JobState.CANCELLED:
            self.message.setText("Cancelled")
        else:
            self.message.setObjectName("error")
            self.message.style().unpolish(self.message)  # apply the error style now
            self.message.style().polish(self.message)
            self.message.setText(h.error or "Failed")
            self.message.setWordWrap(True)
            self.details_button.setVisible(bool(h.error_details))

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Warning, self.handle.name, self.handle.error or "Failed", parent=self)
        box.setDetailedText(self.handle.error_details or "")
        box.exec()


class JobsPanel(QWidget):
    def __init__(self, manager: JobManager, parent=None):
        super().__init__(parent)
        self.manager = manager
        self.rows: dict[str, JobRow] = {}
        self._list = QVBoxLayout()
        self._list.addStretch(1)
        inner = QWidget()
        inner.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setMinimumWidth(320)
        self.empty = QLabel("No jobs yet. Analysis, training and export run here, with progress and Cancel.")
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        clear = QPushButton("Clear finished")
        clear.setToolTip("Remove finished, failed and cancelled jobs from the list")
        clear.clicked.connect(self.clear_finished)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(clear)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.empty)
        lay.addWidget(scroll, 1)
        lay.addLayout(bottom)
        manager.added.connect(self._added)
        manager.progressed.connect(self._progressed)
        manager.finished.connect(self._finished)

    def _added(self, handle: JobHandle) -> None:
        row = JobRow(handle)
        self.rows[handle.id] = row
        self._list.insertWidget(0, row)
        self.empty.hide()
        if handle.state.finished:
            row.update_finished()

    def _progressed(self, handle: JobHandle, progress) -> None:
        row = self.rows.get(handle.id)
        if row is not None and not handle.state.finished:
            row.update_progress(progress)

    def _finished(self, handle: JobHandle) -> None:
        row = self.rows.get(handle.id)
        if row is None:
            return
        if self.manager.is_quiet(handle) and handle.state in (JobState.DONE, JobState.CANCELLED):
            self._remove(handle.id)
        else:
            row.update_finished()

    def _remove(self, job_id: str) -> None:
        row = self.rows.pop(job_id)
        row.setParent(None)
        row.deleteLater()
        self.empty.setVisible(not self.rows)

    def clear_finished(self) -> None:
        for jid, row in list(self.rows.items()):
            if row.handle.state.finished:
                self._remove(jid)
