"""Issue 4's quality criterion, reproducible: the `preview` preset trained on the CPU for ≈9 minutes
(5,000 steps) on a body target from ../shared/media, then scored on the held-out block beside the
mean-frame baseline (`avstudio evaluate`). Each target gets its own project under benchmarks/out/.

    python benchmarks/motion_quality.py                      # pose2sim and the walker, 5,000 steps
    python benchmarks/motion_quality.py --targets body/vtest_walker_crop.mp4 --steps 1000

Prints one JSON line per target (train wall seconds + the metrics.json of the final checkpoint)
and writes them to benchmarks/out/motion_quality.json. Takes ≈10 minutes per target on 2 cores;
run it on an otherwise idle machine (the wall time is part of the criterion).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
OUT = ROOT / "benchmarks" / "out"
TARGETS = ("body/pose2sim_single_cam01.mp4", "body/vtest_walker_crop.mp4")


def cli(*args) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True, env=env)
    if p.returncode:
        raise SystemExit(f"avstudio {' '.join(map(str, args[:2]))} failed:\n{p.stderr[-3000:]}")
    return p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=list(TARGETS), help="paths under ../shared/media")
    ap.add_argument("--steps", type=int, default=5000)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for target in args.targets:
        name = Path(target).stem
        folder = OUT / f"quality-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        proj = folder / "Q.avproj"
        # The target is also the source: only the target's pose matters for training and evaluation.
        cli("new", folder / "Q", "--source", MEDIA / target, "--target", MEDIA / target)
        cli("analyze", "pose", proj, "--clip", "target", "-q")
        t0 = time.monotonic()
        cli("train", proj, "--preset", "preview", "--steps", args.steps, "--model", "q", "--device", "cpu", "-q")
        wall = time.monotonic() - t0
        cli("evaluate", proj, "--model", "q", "--device", "cpu", "-q")
        metrics_path = sorted((proj / "models" / "q").glob("ckpt-*"))[-1] / "metrics.json"
        row = {"target": target, "steps": args.steps, "train_wall_s": round(wall, 1),
               **json.loads(metrics_path.read_text())}
        print(json.dumps(row), flush=True)
        results.append(row)
    (OUT / "motion_quality.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
