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
from fractions import Fraction
from pathlib import Path

from avstudio.core import layers, roles
from avstudio.core.errors import MissingMediaError, ProjectError
from avstudio.core.roles import MEDIA_ROLES
from avstudio.core.tracks import Track

# What makes the track of a layer, for the message when it is missing: (what to do, the action's id).
_MAKES = {layers.POSE: ("analyse its pose", "analyse_{clip}_pose"),
          layers.FACE: ("analyse its face", "analyse_{clip}_face"),
          layers.NORMALIZED: ("retarget the source", "retarget"),
          layers.F0: ("analyse the voice", "analyse_{clip}"),
          **{layer: ("analyse its face", "analyse_{clip}_face") for layer in layers.FACE_ANALYSIS_LAYERS},
          layers.DRIVEN: ("drive the target's face", "lipsync_drive"),
          layers.SCHEDULE: ("drive the target's face", "lipsync_drive"),
          **{layer: ("analyse its speech", "lipsync_speech") for layer in layers.SPEECH_LAYERS}}

_FINGERPRINT_CHUNK = 1 << 20
_ABSENT = object()


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

    @property
    def fps(self) -> Fraction | None:
        """The video's exact frame rate (None: no video stream)."""
        fps = (self.probe.get("video") or {}).get("fps")
        return Fraction(int(fps[0]), int(fps[1])) if fps else None

    @property
    def frame_count(self) -> int:
        return int((self.probe.get("video") or {}).get("frame_count") or 0)

    @property
    def has_audio(self) -> bool:
        return bool(self.probe.get("audio"))

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


@dataclass(frozen=True)
class Changes:
    """What changed in a project since a :meth:`Project.snapshot`: tracks made, replaced, edited or
    removed ({id: (clip, layer)}), settings keys, and the roles whose media reference changed."""

    tracks: dict
    settings: frozenset
    media: frozenset

    def __bool__(self) -> bool:
        return bool(self.tracks or self.settings or self.media)


@dataclass(frozen=True)
class Snapshot:
    revision: int
    tracks: dict    # id -> (clip, layer)
    settings: dict  # key -> value object (compared by identity: edits replace, they never mutate)
    media: dict     # id -> MediaRef object


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
        # What project.json held when this project was loaded or last saved (core/store.py refuses to
        # save over a document another process wrote since), and this process's lock on the folder.
        self.disk_digest: str | None = None
        self.lock = None

    # ---- change tracking ------------------------------------------------------------------------
    def touch(self) -> None:
        self.revision += 1

    def mark_track_changed(self, track_id: str) -> None:
        self.touch()
        self._track_revision[track_id] = self.revision

    def snapshot(self) -> Snapshot:
        return Snapshot(self.revision, {t.id: (t.meta.get("clip"), t.meta.get("layer")) for t in self.tracks.values()},
                        dict(self.settings), dict(self.media))

    def changes_since(self, snap: Snapshot) -> Changes:
        tracks = {tid: (t.meta.get("clip"), t.meta.get("layer")) for tid, t in self.tracks.items()
                  if self._track_revision.get(tid, 0) > snap.revision or tid not in snap.tracks}
        tracks.update({tid: where for tid, where in snap.tracks.items() if tid not in self.tracks})
        keys = set(snap.settings) | set(self.settings)
        settings = frozenset(k for k in keys if snap.settings.get(k, _ABSENT) is not self.settings.get(k, _ABSENT))
        gone = [v for k, v in snap.media.items() if self.media.get(k) is not v]
        new = [v for k, v in self.media.items() if snap.media.get(k) is not v]
        return Changes(tracks, settings, frozenset(ref.role for ref in gone + new))

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
    def new_media_ref(self, path: str | os.PathLike, role: str, probe: dict | None = None,
                      fp: str | None = None) -> MediaRef:
        """A reference to a media file for ``role`` (not added yet); ``fp`` is its fingerprint when
        already computed (reading a big file takes a moment, so callers may do it in a job)."""
        if role not in MEDIA_ROLES:
            raise ValueError(f"unknown media role {role!r}")
        p = Path(path)
        if not p.is_file():
            raise MissingMediaError(f"Cannot add {p}: the file does not exist.", path=str(p), hint=None)
        return MediaRef(uuid.uuid4().hex[:12], role, _relative_or_absolute(p, self.folder),
                        str(p.resolve()), p.stat().st_size, fp or fingerprint(p), probe or {})

    def put_media(self, ref: MediaRef) -> list[MediaRef]:
        """Put a reference in; it replaces the one with its id and (but for "other" media, of which
        there may be several) the one of its role. Returns the references it replaced."""
        gone = [m for m in self.media.values() if m.id == ref.id or (ref.role != roles.OTHER and m.role == ref.role)]
        for m in gone:
            del self.media[m.id]
        self.media[ref.id] = ref
        self.touch()
        return gone

    def remove_media(self, media_id: str) -> None:
        self.media.pop(media_id, None)
        self.touch()

    def add_media(self, path: str | os.PathLike, role: str, probe: dict | None = None) -> MediaRef:
        ref = self.new_media_ref(path, role, probe)
        self.put_media(ref)
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
                "relink it to the file's new location.",
                path=str(where[0]) if where else ref.path, media_id=media_id)
        return found

    def missing_media(self) -> list[MediaRef]:
        return [m for m in self.media.values() if self.locate_media(m.id) is None]

    def relinked_ref(self, media_id: str, new_path: str | os.PathLike, *, check_identity: bool = True,
                     fp: str | None = None) -> MediaRef:
        """The reference ``media_id`` pointing at a new file (not put in yet). By default the file must
        be the same content (size and fingerprint); ``check_identity=False`` accepts a replacement."""
        if media_id not in self.media:
            raise ProjectError(f"The project has no media with id {media_id}.")
        ref = self.media[media_id]
        p = Path(new_path)
        if not p.is_file():
            raise MissingMediaError(f"Cannot relink to {p}: the file does not exist.", path=str(p), hint=None)
        fp = fp or fingerprint(p)
        if check_identity and ref.fingerprint and fp != ref.fingerprint:
            raise ProjectError(
                f"{p} is not the same file as the missing '{Path(ref.path).name}' (its content differs). "
                "Choose the original file, or replace the media if you mean to use a different one.",
                path=str(p))
        return MediaRef(ref.id, ref.role, _relative_or_absolute(p, self.folder), str(p.resolve()), p.stat().st_size,
                        fp, dict(ref.probe))

    def relink_media(self, media_id: str, new_path: str | os.PathLike, *, check_identity: bool = True) -> MediaRef:
        ref = self.relinked_ref(media_id, new_path, check_identity=check_identity)
        self.put_media(ref)
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

    def find_track(self, clip: str, layer: str) -> Track | None:
        """The track of ``layer`` (core.layers) of ``clip`` (core.roles), or None."""
        for t in self.tracks.values():
            if t.meta.get("clip") == clip and t.meta.get("layer") == layer:
                return t
        return None

    def require_track(self, clip: str, layer: str) -> Track:
        t = self.find_track(clip, layer)
        if t is None:
            todo, hint = _MAKES.get(layer, (f"make its {layer} track", None))
            raise ProjectError(f"The {roles.label(clip)} has no {layer} track yet: {todo} first.",
                               hint=hint.format(clip=clip) if hint else None)
        return t

    def clip_media(self, role: str) -> tuple[MediaRef, Path]:
        """(reference, file) of the media in ``role``; a message when there is none or it is missing."""
        ref = self.media_by_role(role)
        if ref is None:
            raise ProjectError(f"The project has no {roles.label(role)} yet.", hint=f"set_{role}")
        return ref, self.media_path(ref.id)

    def track_revision(self, track_id: str) -> int:
        """The project revision at which the track last changed (caches key derived data on it)."""
        return self._track_revision.get(track_id, 0)
