"""The log panel: Python logging records shown in the window (thread-safe via a signal)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPlainTextEdit


class _Bridge(QObject):
    record = Signal(str)


class QtLogHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.bridge = _Bridge()
        self.setFormatter(logging.Formatter("%(asctime)s  %(levelname)-7s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bridge.record.emit(self.format(record))
        except RuntimeError:  # the panel is gone (app closing)
            pass


class LogPanel(QPlainTextEdit):
    MAX_LINES = 5000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(self.MAX_LINES)
        self.handler = QtLogHandler()
        self.handler.bridge.record.connect(self.appendPlainText)
        logging.getLogger("avstudio").addHandler(self.handler)
        logging.getLogger("avstudio").setLevel(logging.INFO)

    def detach(self) -> None:
        logging.getLogger("avstudio").removeHandler(self.handler)
