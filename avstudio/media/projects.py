"""Project operations that need media: create a project from clips, export a project's clips.

Both the CLI and the GUI call these; export is a job (generator of Progress).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core.errors import MediaError, ProjectError
from avstudio.core.project import Project
from avstudio.core.store import new_project_folder, save_project
from avstudio.core.progress import Progress
from avstudio.media.audio import Audio, load_audio
from avstudio.media.export import ExportSettings, export_video
from avstudio.media.probe import probe, require_video
from avstudio.media.video import VideoSource

VIDEO_ROLES = ("source", "target")
VOICE_ROLES = ("source_voice", "target_voice")


def media_summary(path: str | os.PathLike, role: str) -> dict:
    """Probe a media file for ``role`` (video roles need a video stream, voices audio): the summary
    the project keeps. Raises MediaError with a message for the user."""
    info = probe(path)
    if role in VIDEO_ROLES:
        require_video(info)
    elif role in VOICE_ROLES and not info.audio:
        raise MediaError(f"{path} has no audio stream, so it cannot be the {role.replace('_', ' ')}.",
                         path=str(path))
    summary = info.to_json()
    summary.pop("path", None)  # the reference keeps the (relative) path; no machine path in the project
    return summary


def media_summary_job(path: str | os.PathLike, role: str) -> Iterator[Progress]:
    """Job: :func:`media_summary` (probing a long or remote file takes a while)."""
    yield Progress(0, None, "Reading the file")
    return media_summary(path, role)


def add_media(project: Project, path: str | os.PathLike, role: str):
    """Probe and add a media file in ``role``."""
    return project.add_media(path, role, media_summary(path, role))


def create_project(folder: str | os.PathLike, *, source=None, target=None, source_voice=None,
                   target_voice=None, name: str | None = None) -> Project:
    """Make and save a new project folder from media files (all optional)."""
    folder = new_project_folder(folder)
    if (folder / "project.json").exists():
        raise ProjectError(f"{folder} already is a project. Open it, or choose another name.", path=str(folder))
    project = Project(name or folder.stem, folder)
    for role, path in (("source", source), ("target", target), ("source_voice", source_voice),
                       ("target_voice", target_voice)):
        if path:
            add_media(project, path, role)
    save_project(project, folder)
    return project


@dataclass
class ExportRequest:
    out: str
    clip: str = "source"          # source | target | side_by_side
    audio: str = "clip"           # clip (the clip's own soundtrack) | none | source_voice | target_voice | converted | a file
    start: int = 0                # first frame (of the source clip, or of both side by side)
    end: int | None = None        # one past the last frame
    height: int | None = None     # output height (width follows the aspect); None keeps the size
    fps: float | None = None      # output frame rate (frames are picked by time); None keeps the clip's
    crf: int = 18
    preset: str = "medium"


def _resize(frame: np.ndarray, height: int) -> np.ndarray:
    import cv2  # opencv is a runtime dependency; imported lazily to keep startup quick

    h, w = frame.shape[:2]
    if h == height:
        return frame
    width = max(2, int(round(w * height / h / 2)) * 2)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if height < h else cv2.INTER_LINEAR)


def _open_clip(project: Project, role: str) -> VideoSource:
    ref = project.media_by_role(role)
    if ref is None:
        raise ProjectError(f"The project has no {role} clip. Add one first (File ▸ Set {role.title()} Clip).")
    return VideoSource(project.media_path(ref.id), prefetch=0, cache_mb=64)


def _export_audio(project: Project, req: ExportRequest, clip_path: Path) -> Audio | None:
    if req.audio == "none":
        return None
    if req.audio == "clip":
        info = probe(clip_path)
        return load_audio(clip_path, 48000, mono=False) if info.audio else None
    if req.audio == "converted":
        track = next((t for t in project.tracks.values()
                      if t.kind == "audio" and t.meta.get("clip") == "converted" and t.meta.get("file")), None)
        if track is None or project.folder is None:
            raise ProjectError("The project has no converted voice yet: train a voice model and convert the source "
                               "voice first (Voice ▸ Convert).")
        return load_audio(Path(project.folder) / track.meta["file"], 48000, mono=False)
    if req.audio in VOICE_ROLES:
        ref = project.media_by_role(req.audio)
        if ref is None:
            raise ProjectError(f"The project has no {req.audio.replace('_', ' ')} to use as audio.")
        return load_audio(project.media_path(ref.id), 48000, mono=False)
    return load_audio(req.audio, 48000, mono=False)


def export_project(project: Project, req: ExportRequest) -> Iterator[Progress]:
    """Job: export the source or target clip, or both side by side, with the chosen audio."""
    roles = ["source", "target"] if req.clip == "side_by_side" else [req.clip]
    if any(r not in VIDEO_ROLES for r in roles):
        raise MediaError(f"Unknown clip {req.clip!r}: use source, target or side_by_side.")
    yield Progress(0, None, "Opening clips")
    sources = [_open_clip(project, r) for r in roles]
    try:
        main = sources[0]
        end = main.frame_count if req.end is None else min(int(req.end), main.frame_count)
        start = max(0, int(req.start))
        if start >= end:
            raise MediaError(f"The range {start}..{end} holds no frames (the clip has {main.frame_count}).")
        fps = main.fps
        out_fps = Fraction(req.fps).limit_denominator(1001) if req.fps else Fraction(fps)
        if out_fps <= 0:
            raise MediaError(f"The frame rate {req.fps} is not a positive number.")
        # Frames are picked by time: at a lower rate some are skipped, at a higher one repeated.
        count = end - start if out_fps == Fraction(fps) else max(1, round((end - start) / Fraction(fps) * out_fps))
        height = req.height or max(s.size[1] for s in sources)
        audio = _export_audio(project, req, main.path)
        if audio is not None:
            # Audio of the exported range, aligned to the first exported frame.
            t0 = main.frame_time(start) + (audio.start_time if req.audio == "clip" else 0.0)
            t0 -= main.info.timebase().frame_to_seconds(0)
            audio = Audio(audio.slice_seconds(max(0.0, t0), t0 + count / float(out_fps)), audio.sample_rate)
        iters = [s.iter_frames(start, end) if s is main else None for s in sources]

        def picked():
            """(source index, frame) for each output frame, reading the clip once, in order."""
            t_start = main.frame_time(start)
            current = None
            for k in range(count):
                want = min(end - 1, max(start, main.timebase.seconds_to_frame(t_start + k / float(out_fps))))
                while current is None or current[0] < want:
                    nxt = next(iters[0], None)
                    if nxt is None:
                        break
                    current = nxt
                yield current

        def frames():
            for (i, frame) in picked():
                parts = [_resize(frame, height)]
                for other in sources[1:]:
                    # The other clip follows in time (its own frame rate), held on its last frame.
                    j = min(other.frame_count - 1, other.timebase.seconds_to_frame(main.frame_time(i)))
                    parts.append(_resize(other.get_frame(j, prefetch=False), height))
                yield np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

        settings = ExportSettings(fps=out_fps, crf=req.crf, preset=req.preset)
        result = yield from export_video(req.out, frames(), count, settings, audio)
        return str(result)
    finally:
        for s in sources:
            s.close()
