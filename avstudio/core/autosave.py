"""Autosave and crash recovery: self-contained copies of a project in ``autosave/<stamp>/``.

A copy is written into a temporary folder and renamed into place, so it appears whole or not at all;
old copies are renamed out of the list before they are deleted, so a kill halfway through deleting
one never leaves a half copy that recovery would offer. Only folders named as AV Studio names them
count as copies; an unreadable one is passed over for the next.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from avstudio.core import document
from avstudio.core.atomic import TEMP_PREFIX, atomic_write_bytes, fsync_dir, remove_temp_files
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.files import read_json, user_os_error
from avstudio.core.project import Project
from avstudio.core.store import (AUTOSAVE_DIR, PROJECT_FILE, TRACKS_DIR, check_own_entries, document_bytes,
                                 load_project, project_document)
from avstudio.core.trackfile import sha256, track_bytes

AUTOSAVE_KEEP = 5
AUTOSAVE_STAMP = "%Y%m%d-%H%M%S-%f"
_AUTOSAVE_NAME = re.compile(r"\d{8}-\d{6}-\d{6}")


def _write_autosave(project: Project, root: Path) -> Path:
    tmp = root / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
    (tmp / TRACKS_DIR).mkdir(parents=True)
    entries = {}
    for tid, track in project.tracks.items():
        entry = track.index_entry()
        if track.schema:
            data = track_bytes(track)
            entry["file"], entry["sha256"] = f"{TRACKS_DIR}/{document.check_id(tid, 'track id', root)}.npz", sha256(data)
            atomic_write_bytes(tmp / entry["file"], data)
        entries[tid] = entry
    now = datetime.now(timezone.utc)
    doc = project_document(project, entries, now.isoformat())
    doc["autosave_of_revision"] = project.revision
    doc["autosave_base_digest"] = project.disk_digest  # the project.json the copy's work was based on
    atomic_write_bytes(tmp / PROJECT_FILE, document_bytes(doc))
    final = root / now.strftime(AUTOSAVE_STAMP)
    os.replace(tmp, final)  # the copy appears whole or not at all
    fsync_dir(root)
    return final


def autosave_project(project: Project, *, keep: int = AUTOSAVE_KEEP) -> Path:
    """Write a self-contained copy to ``autosave/<stamp>/`` and keep the newest ``keep`` copies.
    Never touches the project's own files."""
    if project.folder is None:
        raise ProjectError("An unsaved project cannot be autosaved: save it once first.")
    root = Path(project.folder) / AUTOSAVE_DIR
    try:
        check_own_entries(Path(project.folder))
        root.mkdir(exist_ok=True)  # never re-creates a project folder that was moved away
        remove_temp_files(root)
        final = _write_autosave(project, root)
        copies = list_autosaves(project.folder)
        for old in copies[keep:] if keep > 0 else copies:
            # Renamed out of the list first: a kill halfway through deleting a copy must not leave a
            # half-deleted one that recovery would offer.
            doomed = root / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
            os.replace(old, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    except OSError as exc:
        raise user_os_error(exc, "autosave into", root, cls=ProjectError) from exc
    return final


def list_autosaves(folder: str | os.PathLike) -> list[Path]:
    """The project's autosave copies, newest first (only folders AV Studio named; nothing else there counts)."""
    root = Path(folder) / AUTOSAVE_DIR
    try:
        if not root.is_dir():
            return []
        return sorted((p for p in root.iterdir() if _AUTOSAVE_NAME.fullmatch(p.name) and p.is_dir()
                       and not p.is_symlink() and (p / PROJECT_FILE).is_file()), reverse=True)
    except OSError:
        return []


def autosave_time(copy: Path) -> datetime:
    return datetime.strptime(copy.name, AUTOSAVE_STAMP)


def _saved_at(folder: Path) -> str:
    value = _read_json(folder).get("saved_at")
    return value if isinstance(value, str) else ""


def find_recovery(folder: str | os.PathLike) -> Path | None:
    """The newest autosave copy that is newer than the last save, if any (offered on open)."""
    folder = Path(folder)
    saved_at = _saved_at(folder)
    for copy in list_autosaves(folder):
        copy_at = _saved_at(copy)
        if copy_at:  # an unreadable copy is passed over for the next one
            return copy if copy_at > saved_at else None
    return None


def recover_project(folder: str | os.PathLike, copy: str | os.PathLike) -> Project:
    """Load an autosave copy as the project in ``folder``; it is unsaved until the user saves."""
    folder = Path(folder)
    project = load_project(copy, media_root=folder)
    project.folder = folder
    project._track_saved.clear()
    project.touch()
    # Saving the recovered work replaces the project.json its work was based on — and is refused
    # (core/store.check_unchanged) when another process saved the project after that.
    base = _read_json(Path(copy)).get("autosave_base_digest")
    project.disk_digest = base if isinstance(base, str) and document.SHA256.fullmatch(base) else None
    return project


def _read_json(folder: Path) -> dict:
    try:
        doc = read_json(folder / PROJECT_FILE, "project file", document.PROJECT_JSON_LIMIT)
        return doc if isinstance(doc, dict) else {}
    except UserError:
        return {}
