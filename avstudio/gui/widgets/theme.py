"""One dark theme for the whole app (palette + a small stylesheet) and pyqtgraph's matching colours."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

BG = "#1e1f22"
PANEL = "#2b2d31"
BORDER = "#3c3f45"
TEXT = "#dcdde1"
MUTED = "#8e9297"
ACCENT = "#4c9eeb"
ERROR = "#e5534b"
OK = "#57ab5a"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BG}; }}
QDockWidget {{ color: {TEXT}; }}
QDockWidget::title {{ background: {PANEL}; padding: 4px 8px; border-bottom: 1px solid {BORDER}; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px; }}
QPushButton, QToolButton {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 4px;
    padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed, QToolButton:pressed, QToolButton:checked {{ background: {ACCENT}; color: white; }}
QPushButton:disabled, QToolButton:disabled {{ color: {MUTED}; }}
QProgressBar {{ background: {BG}; border: 1px solid {BORDER}; border-radius: 3px; text-align: center;
    color: {TEXT}; height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::groove:horizontal {{ height: 6px; background: {PANEL}; border: 1px solid {BORDER}; border-radius: 3px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 3px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 12px; margin: -5px 0; border-radius: 6px; }}
QPlainTextEdit, QListWidget, QTreeWidget {{ background: {BG}; color: {TEXT}; border: 1px solid {BORDER}; }}
QLabel#clipTitle {{ color: {TEXT}; font-weight: bold; padding: 2px 4px; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#error {{ color: {ERROR}; }}
QLabel#timecode {{ color: {TEXT}; font-family: monospace; padding: 0 8px; }}
QFrame#jobRow {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 4px; }}
QMenuBar, QMenu {{ background: {PANEL}; color: {TEXT}; }}
QMenu::item:selected, QMenuBar::item:selected {{ background: {ACCENT}; color: white; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in ((QPalette.Window, BG), (QPalette.WindowText, TEXT), (QPalette.Base, BG),
                         (QPalette.AlternateBase, PANEL), (QPalette.Text, TEXT), (QPalette.Button, PANEL),
                         (QPalette.ButtonText, TEXT), (QPalette.Highlight, ACCENT),
                         (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, PANEL),
                         (QPalette.ToolTipText, TEXT), (QPalette.PlaceholderText, MUTED)):
        pal.setColor(role, QColor(colour))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor(MUTED))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(MUTED))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
    pg.setConfigOptions(background=BG, foreground=TEXT, imageAxisOrder="row-major", antialias=True)


ICONS = Path(__file__).resolve().parents[3] / "resources" / "icons"


def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name>.svg (an empty icon if the file is missing)."""
    p = ICONS / f"{name}.svg"
    return QIcon(str(p)) if p.is_file() else QIcon()
