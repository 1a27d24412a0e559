"""Start the editor."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from avstudio.gui.qtenv import sanitize_qt_env

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "Demo.avproj"


def user_demo_copy() -> Path:
    """The bundled demo, copied once to the user's data folder so edits never touch the install."""
    from PySide6.QtCore import QStandardPaths

    base = Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or Path.home() / ".avstudio")
    dest = base / "Demo.avproj"
    if not (dest / "project.json").is_file():
        if not (DEMO / "project.json").is_file():
            from avstudio.core.errors import ProjectError
            raise ProjectError(f"The demo project is missing from this installation ({DEMO}).")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(DEMO, dest, dirs_exist_ok=True)
    return dest


def create_app():
    sanitize_qt_env()
    from PySide6.QtWidgets import QApplication

    from avstudio.gui.widgets.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AVStudio")
    app.setOrganizationName("AVStudio")
    app.setApplicationDisplayName("AV Studio")
    apply_theme(app)
    return app


def _unexpected(window, kind, exc, tb) -> None:
    """An error no layer turned into a message: shown and logged, and the editor goes on (exiting
    would lose the user's unsaved work; the next autosave still keeps it)."""
    import traceback

    text = "".join(traceback.format_exception(kind, exc, tb))
    logging.getLogger("avstudio.gui").error("Unexpected error:\n%s", text)
    if issubclass(kind, KeyboardInterrupt):
        return
    try:
        window.ctx.error("Unexpected error", f"AV Studio hit an unexpected error ({kind.__name__}: {exc}). Your work "
                         "is still open: save it. This is a bug; the details say where.", text, logged=True)
    except Exception:  # noqa: BLE001 - the window itself may be what failed
        pass


def run_app(project: str | None = None, demo: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app()
    from avstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    sys.excepthook = lambda kind, exc, tb: _unexpected(window, kind, exc, tb)
    if demo:
        from avstudio.core.errors import UserError
        try:
            project = str(user_demo_copy())
        except UserError as exc:
            window.ctx.error("Cannot open the demo", exc)
    if project:
        window.projects.open_project(project)
    return app.exec()
