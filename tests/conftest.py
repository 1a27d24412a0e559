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
