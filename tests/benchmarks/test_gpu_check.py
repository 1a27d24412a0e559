"""benchmarks/gpu.py cannot rot: its data is prepared by the whole stack into a file small enough to
travel (≤ 20 MiB), and the check runs on the CPU (--tiny) where only torch, numpy and safetensors can
be imported — as on the bare GPU machine."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_prepare_then_the_check_with_nothing_but_torch(tmp_path):
    data = tmp_path / "gpu_data.npz"
    p = subprocess.run([sys.executable, "benchmarks/gpu.py", "--prepare", "--data", str(data)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    assert data.stat().st_size <= 20 * 2**20
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "benchmarks/bare_python.py", "benchmarks/gpu.py", "--device", "cpu", "--tiny",
                        "--data", str(data), "--out-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=900, check=False)
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-3000:])
    report = json.loads((tmp_path / "gpu_results_tiny.json").read_text())
    done = {(r["section"], r["preset"], r["path"]) for r in report["results"] if "error" not in r}
    for section, presets in (("motion-train", ("preview", "standard", "hd")), ("motion-render", ("preview", "standard", "hd")),
                             ("voice-train", ("vc-preview", "vc")), ("voice-convert", ("vc-preview", "vc")),
                             ("face-train", ("face-128", "face-256")), ("face-render", ("face-128", "face-256"))):
        for preset in presets:
            assert {(section, preset, "plain"), (section, preset, "ours")} <= done, (section, preset, report["results"])
    assert ("motion-train", "standard", "compile") in done
    q = report["quality"]
    assert q["heldout_frames"] == 13 and 0 < q["mean_frame"]["ssim"] < 1 and q["steps"] >= 2
    assert "| motion-train (steps/s) | hd | 1 |" in (tmp_path / "gpu_results_tiny.md").read_text()
    # …and it really ran without the editor's stack: there, these cannot be imported.
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib\nfor m in ('av', 'cv2', 'mediapipe', 'PySide6', 'pyworld', 'soundfile'):\n"
                     "    try:\n        importlib.import_module(m)\n    except ImportError:\n        continue\n"
                     "    raise SystemExit(f'{m} imported')\nimport torch, numpy, safetensors\nprint('bare')\n")
    p = subprocess.run([sys.executable, "benchmarks/bare_python.py", str(probe)], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert p.returncode == 0 and "bare" in p.stdout, p.stdout + p.stderr
