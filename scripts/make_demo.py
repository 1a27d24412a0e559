"""Rebuild resources/demo/Demo.avproj from ../shared/media (run from the repository root).

The media sits inside the project folder (media/) and is referenced by relative path only, so the
folder can be copied anywhere — the app copies it to the user's data folder on first start.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "media"
DEMO = ROOT / "resources" / "demo" / "Demo.avproj"

FILES = {
    "source": "body/sports2d_demo.mp4",
    "target": "body/vtest_walker_crop.mp4",
    "source_voice": "speech/asterisk_g722_allison_en_female/demo-echotest.flac",
    "target_voice": "speech/asterisk_g722_carlo_it_male/demo-echotest.flac",
}


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from avstudio.core.project import Project
    from avstudio.core.store import save_project
    from avstudio.workflows.project import add_media

    if DEMO.exists():
        shutil.rmtree(DEMO)
    (DEMO / "media").mkdir(parents=True)
    project = Project("Demo", DEMO)
    for role, rel in FILES.items():
        name = f"{role}-{Path(rel).name}"
        shutil.copy(SHARED / rel, DEMO / "media" / name)
        add_media(project, DEMO / "media" / name, role)
    for ref in project.media.values():
        ref.abs_path = ""  # machine-specific: the relative path is the reference
    project.settings["description"] = ("Motion: a walker in a park (source) onto a walker on grass (target). "
                                       "Voice: an English female speaker onto an Italian male speaker.")
    save_project(project, DEMO)
    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    print(f"Wrote {DEMO} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
