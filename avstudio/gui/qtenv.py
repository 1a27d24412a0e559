"""Process environment fixes that must run before the QApplication exists.

opencv-contrib-python (required by mediapipe 0.10.21) ships its own Qt 5 plugins and, on import,
points QT_QPA_PLATFORM_PLUGIN_PATH and QT_QPA_FONTDIR at them; PySide6 would then load Qt 5 plugins
and fail. We drop those variables when they point into cv2.
"""

from __future__ import annotations

import os


def sanitize_qt_env() -> None:
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR", "QT_PLUGIN_PATH"):
        value = os.environ.get(var, "")
        if "cv2" in value.replace("\\", "/").split("/"):
            del os.environ[var]
