"""The project model: media references, tracks, settings.

A project knows the folder it lives in; media paths are stored relative to that folder (plus the
absolute path as a fallback), so a project moved together with its media still finds it, and one
moved without it still finds media that stayed put.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from avstudio.core.errors import MissingMediaError, ProjectError
from avstudio.core.tracks import Track

#: Roles a media file plays in a project.
MEDIA_ROLES = ("source", "target", "source_voice", "target_voice", "other")

_FINGERPRINT_CHUNK = 1 << 20


def fingerprint(path: Path) -> str:
    """A fast identity for a media file: sha256 of its size, first and last MiB.

    Hashing whole multi-GB videos on every open would make opening slow; size + head + tail
    catches a different or re-encoded file, which is what relinking needs.
    """
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_FINGERPRINT_CHUNK))
        if size > 2 * _FINGERPRINT_CHUNK:
            f.seek(size - _FINGERPRINT_CHUNK)
            h.update(f.read(_FINGERPRINT_CHUNK))
    return h.hexdigest()


@dataclass
class MediaRef:
    id: str
    role: str
    path: str                  # relative to the project folder (posix), or absolute if not below it
    abs_path: str              # where it was when last saved: a fallback when the project moved alone
    size: int
    fingerprint: str
    probe: dict = field(default_factory=dict)  # media.probe summary (JSON)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> MediaRef:
        try:
            return cls(
                id=str(data["id"]), role=str(data.get("role", "other")), path=str(data["path"]),
                abs_path=str(data.get("abs_path", "")), size=int(data.get("size", -1)),
                fingerprint=str(data.get("fingerprint", "")), probe=dict(data.get("probe", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProjectError(f"A media entry in project.json is malformed ({exc}).") from exc


def _relative_or_absolute(path: Path, folder: Path | None) -> str:
    path = path.resolve()
    if folder is None:
        return str(path)
    try:
        return Path(os.path.relpath(path, folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


class Project:
    """In-memory project. Mutations go through methods or edits so ``revision`` tracks changes."""

    def __init__(self, name: str = "Untitled", folder: Path | None = None):
        self.name = name
        self.folder: Path | None = Path(folder) if folder else None
        self.media: dict[str, MediaRef] = {}
        self.tracks: dict[str, Track] = {}
        self.settings: dict = {}
        self.revision = 0                        # bumps on every change
        self.saved_revision = 0                  # revision at the last save
        self.saved_at: str | None = None         # ISO time of the last save (from project.json)
        self._track_revision: dict[str, int] = {}  # revision at which each track last changed
        self._track_saved: dict[str, int] = {}     # revision at which each track file was written

    # ---- change tracking ------------------------------------------------------------------------
    def touch(self) -> None:
        self.revision += 1

    def mark_track_changed(self, track_id: str) -> None:
        self.touch()
        self._track_revision[track_id] = self.revision

    @property
    def dirty(self) -> bool:
        return self.revision != self.saved_revision

    def track_needs_write(self, track_id: str) -> bool:
        return self._track_saved.get(track_id, -1) < self._track_revision.get(track_id, 0)

    def mark_saved(self, written_tracks: list[str] | None = None) -> None:
        for tid in written_tracks if written_tracks is not None else self.tracks:
            self._track_saved[tid] = self._track_revision.get(tid, 0)
        self.saved_revision = self.revision

    # ---- media --------------------------------------------------------------------------------
    def add_media(self, path: str | os.PathLike, role: str, probe: dict | None = None) -> MediaRef:
        if role not in MEDIA_ROLES:
            raise ValueError(f"unknown media role {role!r}")
        p = Path(path)
        if not p.is_file():
            raise MissingMediaError(f"Cannot add {p}: the file does not exist.", path=str(p))
        # One file per role (other roles may have several): replace the old one.
        if role != "other":
            for mid in [m.id for m in self.media.values() if m.role == role]:
                del self.media[mid]
        ref = MediaRef(uuid.uuid4().hex[:12], role, _relative_or_absolute(p, self.folder),
                       str(p.resolve()), p.stat().st_size, fingerprint(p), probe or {})
        self.media[ref.id] = ref
        self.touch()
        return ref

    def media_by_role(self, role: str) -> MediaRef | None:
        return next((m for m in self.media.values() if m.role == role), None)

    def _candidates(self, ref: MediaRef) -> list[Path]:
        out = []
        p = Path(ref.path)
        if p.is_absolute():
            out.append(p)
        elif self.folder is not None:
            out.append(Path(os.path.normpath(self.folder / p)))
        if ref.abs_path:
            out.append(Path(ref.abs_path))
        return out

    def locate_media(self, media_id: str) -> Path | None:
        """Where the media file is now, or None. Checks the size to avoid picking up another file."""
        ref = self.media[media_id]
        for cand in self._candidates(ref):
            try:
                if cand.is_file() and (ref.size < 0 or cand.stat().st_size == ref.size):
                    return cand
            except OSError:
                continue
        return None

    def media_path(self, media_id: str) -> Path:
        """The media file's path, or a MissingMediaError telling the user to relink it."""
        if media_id not in self.media:
            raise ProjectError(f"The project has no media with id {media_id}.")
        found = self.locate_media(media_id)
        if found is None:
            ref = self.media[media_id]
            where = self._candidates(ref)
            raise MissingMediaError(
                f"The {ref.role} media '{Path(ref.path).name}' was not found (looked at "
                f"{', '.join(str(w) for w in where)}). It may have been moved, renamed or deleted: "
                f"relink it to the file's new location (File ▸ Relink Media, or `avstudio relink`).",
                path=str(where[0]) if where else ref.path, media_id=media_id)
        return found

    def missing_media(self) -> list[MediaRef]:
        return [m for m in self.media.values() if self.locate_media(m.id) is None]

    def relink_media(self, media_id: str, new_path: str | os.PathLike, *, check_identity: bool = True) -> MediaRef:
        """Point a media reference at a new file. By default the file must be the same content
        (size and fingerprint); pass ``check_identity=False`` to accept a replacement."""
        ref = self.media[media_id]
        p = Path(new_path)
        if not p.is_file():
            raise MissingMediaError(f"Cannot relink to {p}: the file does not exist.", path=str(p))
        fp = fingerprint(p)
        if check_identity and ref.fingerprint and fp != ref.fingerprint:
            raise ProjectError(
                f"{p} is not the same file as the missing '{Path(ref.path).name}' (its content differs). "
                "Choose the original file, or replace the media if you mean to use a different one.",
                path=str(p))
        ref.path = _relative_or_absolute(p, self.folder)
        ref.abs_path = str(p.resolve())
        ref.size = p.stat().st_size
        ref.fingerprint = fp
        self.touch()
        return ref

    def rebase(self, new_folder: Path) -> None:
        """Re-express media paths relative to ``new_folder`` (Save As)."""
        old = self.folder
        self.folder = Path(new_folder)
        for ref in self.media.values():
            found = None
            if old is not None:
                tmp_folder, self.folder = self.folder, old
                found = self.locate_media(ref.id)
                self.folder = tmp_folder
            if found is not None:
                ref.path = _relative_or_absolute(found, self.folder)
                ref.abs_path = str(found.resolve())

    # ---- tracks -------------------------------------------------------------------------------
    def add_track(self, track: Track) -> Track:
        self.tracks[track.id] = track
        self.mark_track_changed(track.id)
        return track

    def replace_track(self, track: Track) -> None:
        self.tracks[track.id] = track
        self.mark_track_changed(track.id)

    def remove_track(self, track_id: str) -> Track:
        track = self.tracks.pop(track_id)
        self._track_revision.pop(track_id, None)
        self._track_saved.pop(track_id, None)
        self.touch()
        return track

    def track(self, track_id: str) -> Track:
        try:
            return self.tracks[track_id]
        except KeyError:
            raise ProjectError(f"The project has no track {track_id}.") from None

    def tracks_of(self, kind: str) -> list[Track]:
        return [t for t in self.tracks.values() if t.kind == kind]
