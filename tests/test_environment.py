"""The dependency set installs and imports together, the traps in DESIGN.md stay fixed, and the
layer rules hold."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_runtime_dependencies_import_together():
    code = (
        "import torch, librosa, pyworld, soundfile, cv2, av, numpy, safetensors, qasync, pyqtgraph\n"
        "import mediapipe as mp\n"
        "from PySide6 import QtWidgets, QtMultimedia\n"
        "assert numpy.__version__.startswith('1.'), numpy.__version__\n"
        "import PySide6; assert PySide6.__version__ == '6.11.3', PySide6.__version__\n"
        "p = mp.solutions.pose.Pose(model_complexity=1); p.close()\n"      # the model ships in the wheel
        "f = mp.solutions.face_mesh.FaceMesh(refine_landmarks=True); f.close()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_cv2_qt_plugin_path_is_scrubbed():
    code = (
        "import cv2, os\n"
        "assert 'cv2' in os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', ''), 'cv2 no longer sets it: trap gone?'\n"
        "from avstudio.gui.qtenv import sanitize_qt_env; sanitize_qt_env()\n"
        "assert 'QT_QPA_PLATFORM_PLUGIN_PATH' not in os.environ\n"
        "from PySide6.QtWidgets import QApplication; app = QApplication([]); print('ok')\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]


def test_pyqtgraph_survives_hundreds_of_redraws():
    """PySide6 6.12.0 + pyqtgraph 0.14 abort ("none_dealloc") after ~80 redraws. Run in a child so an
    upgrade that brings the bug back fails this test loudly instead of killing the whole run."""
    code = (
        "import numpy as np, pyqtgraph as pg\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "w = pg.PlotWidget(); w.resize(400, 300); w.show()\n"
        "c = w.plot(np.zeros(1000))\n"
        "img = pg.ImageItem(np.zeros((64, 64))); w.addItem(img)\n"
        "for i in range(400):\n"
        "    c.setData(np.sin(np.linspace(0, 10, 1000) + i)); img.setImage(np.random.rand(64, 64))\n"
        "    w.grab(); app.processEvents()\n"
        "print('redraws ok')\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0 and "redraws ok" in out.stdout, (
        f"pyqtgraph redraw loop died (exit {out.returncode}): {out.stderr[-2000:]}")


def test_layer_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    declared = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert declared >= 5 and f"{declared} kept, 0 broken" in out.stdout
