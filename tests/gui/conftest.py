import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from avstudio.gui.qtenv import sanitize_qt_env  # noqa: E402

sanitize_qt_env()

from PySide6.QtCore import QSettings  # noqa: E402

from avstudio.gui.app import DEMO  # noqa: E402
from avstudio.gui.widgets.theme import apply_theme  # noqa: E402


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    dest = tmp_path / "Demo.avproj"
    shutil.copytree(DEMO, dest)
    return dest


@pytest.fixture
def window(qtbot, qapp, tmp_path):
    from avstudio.gui.main_window import MainWindow

    apply_theme(qapp)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings, ask=False)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def save_screenshot(widget, name: str) -> Path:
    out = Path(__file__).resolve().parents[1] / "_artifacts" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(out)), f"could not save {out}"
    return out
