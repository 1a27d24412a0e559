"""Rendering the driven face into the target's frames, in tiers that share the crop, the mask, the
colour match and the paste-back (ml/lipsync/crop.py) and the cache (ml/lipsync/cache.py):

* retrieval — the nearest mouth among the target's frames, warped onto the wanted landmarks;
* learned — a generator trained on the target's own frames (ml/lipsync/learned.py, torch);
* reference — the baseline: one reference frame's lower face pasted unchanged.

Output frames are made in the order of the target frames under them (one decoding pass, however the
schedule loops or bounces) and cached by the hash of their inputs; an export then reads them in
output order. A frame without a driven mouth, or whose target frame has no usable face, is the target
frame as filmed.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.ml.lipsync import cache as lcache
from avstudio.ml.lipsync.crop import compose, match_colour, repaint_mask, to_crop, warp

SEEK_GAP = 48   # target frames: a gap larger than this between needed frames is seeked over
WRITERS = 2     # threads compressing finished frames into the cache


class Painter(Protocol):
    key: str     # what the cache keys on: the renderer (and its checkpoint)

    def paint(self, frame: np.ndarray, m: np.ndarray, wanted: np.ndarray, frontal: np.ndarray) -> np.ndarray:
        """The R×R crop (float32 RGB) of the wanted face (68, 2 crop pixels; ``frontal`` its frontal
        shape) on the frame ``frame`` whose crop map is ``m``."""


class RetrievalPainter:
    def __init__(self, faces, rows=None):
        from avstudio.ml.lipsync.retrieval import Retrieval

        self.faces = faces
        self.retrieval = Retrieval(faces, faces.train_rows if rows is None else rows)
        self.key = lcache.painter_key(lcache.RETRIEVAL, None, faces.key)

    def paint(self, frame, m, wanted, frontal):
        return self.retrieval.paint(self.retrieval.nearest(frontal), wanted)


class ReferencePainter:
    """The baseline: one frame's crop, not warped."""

    def __init__(self, faces, row: int):
        self.faces, self.row = faces, int(row)
        self.key = lcache.painter_key(lcache.REFERENCE, None, f"{faces.key}/{row}")

    def paint(self, frame, m, wanted, frontal):
        return np.asarray(self.faces.crops[self.row], np.float32)


def paint_frame(painter: Painter, frame: np.ndarray, m: np.ndarray, size: int, wanted: np.ndarray,
                filmed: np.ndarray, frontal: np.ndarray) -> np.ndarray:
    """One output frame: the painted crop laid into the frame through the lower-face mask of both the
    wanted and the filmed face (68 × 3 frame pixels each)."""
    w, f = to_crop(wanted, m), to_crop(filmed, m)
    painted = painter.paint(frame, m, w, frontal)
    mask = repaint_mask([w, f], size)
    matched = np.clip(match_colour(painted, warp(frame, m, size).astype(np.float32), mask), 0, 255).astype(np.uint8)
    return compose(frame, matched, mask, m)


def clusters(frames, gap: int = SEEK_GAP) -> list[tuple[int, int]]:
    """[a, b] runs of sorted frames no further apart than ``gap`` (decoded in one pass each)."""
    out = []
    for f in frames:
        if out and f - out[-1][1] <= gap:
            out[-1][1] = f
        else:
            out.append([f, f])
    return [(a, b) for a, b in out]


def make_frames(target_path, painter: Painter, faces, under, wanted, ok, frontal, filmed, keys, folder: Path,
                todo: list[int]) -> Iterator[Progress]:
    """Job: the output frames ``todo`` into the cache, decoding the target once in frame order."""
    import cv2

    from avstudio.media.video import VideoSource

    def write(img: np.ndarray, key: str) -> None:
        tmp = folder / f".tmp-{key}-{threading.get_ident()}.png"
        cv2.imwrite(str(tmp), np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        tmp.replace(lcache.frame_path(folder, key))

    by_frame: dict[int, list[int]] = defaultdict(list)
    for i in todo:
        by_frame[int(under[i])].append(i)
    done = 0
    vs = VideoSource(target_path, prefetch=0, cache_mb=0)
    # PNG compression takes as long as painting a frame and lets go of the GIL: it runs beside it.
    writers, pending = ThreadPoolExecutor(WRITERS), deque()
    try:
        for a, b in clusters(sorted(by_frame)):
            for u, rgb in vs.iter_frames(a, b + 1):
                for i in by_frame.get(u, ()):
                    if ok[i]:
                        img = paint_frame(painter, rgb, faces.matrix(u), faces.size, wanted[i], filmed[i], frontal[i])
                    else:
                        img = rgb
                    pending.append(writers.submit(write, img, keys[i]))
                    while len(pending) > 2 * WRITERS:
                        pending.popleft().result()
                    done += 1
                    if done % 10 == 0 or done == len(todo):
                        yield Progress(done, len(todo), f"Rendered {done}/{len(todo)} frames")
        for f in pending:
            f.result()
    finally:
        writers.shutdown(wait=True)
        vs.close()
    return done


def usable_mask(faces, under: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Output frames that can be painted: driven, on a target frame with a usable face."""
    usable = np.zeros(len(faces.boxes), bool)
    usable[faces.frames] = True
    return ok & usable[under]


def painter_for(project_path: str, renderer: str, faces, device: str = "auto") -> Painter:
    """The painter a renderer name stands for: "retrieval" (from every usable frame), or a model."""
    if renderer == lcache.RETRIEVAL:
        return RetrievalPainter(faces, np.arange(len(faces.frames)))
    from avstudio.ml.lipsync.learned import LearnedPainter
    return LearnedPainter.load(project_path, renderer, faces, device)


def render(project_path: str, renderer: str = lcache.RETRIEVAL, out: str | None = None, audio: str | None = None,
           height: int | None = None, crf: int = 18, preset: str = "medium", layout: str = "generated",
           driven: tuple | None = None, device: str = "auto") -> Iterator[Progress]:
    """Job: the driven face rendered into the target's frames (cache filled; ``out`` written when
    given, with the sound of ``audio``). ``driven`` (points, flags, schedule) replaces the saved driven
    face (the editor passes its unsaved one). Returns {"out", "rendered", "cached", "frames", "cache",
    "left_as_filmed"}."""
    from avstudio.core import roles
    from avstudio.core.store import load_project
    from avstudio.ml.lipsync.target import load_target
    from avstudio.retarget.face import output_faces

    if layout not in LAYOUTS:
        raise UserError(f"Unknown layout {layout!r}: use {', '.join(LAYOUTS)}.")
    project = load_project(project_path)
    if driven is not None:
        _use_driven(project, driven)
    faces = yield from load_target(project)
    yield Progress(0, None, "Loading the renderer")
    painter = painter_for(project_path, renderer, faces, device)
    under, wanted, _, ok = output_faces(project)
    ok = usable_mask(faces, under, ok)
    folder = lcache.renderer_folder(project_path, painter.key)
    folder.mkdir(parents=True, exist_ok=True)
    keys = lcache.frame_keys(painter.key, under, faces.boxes, wanted, ok)
    # one render per distinct key: output frames that show the same target frame with the same mouth
    # (a held or ping-ponged silence) share one cached picture
    first = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    todo = [i for k, i in first.items() if not lcache.frame_path(folder, k).is_file()]
    from avstudio.analysis.face.analyse import clip_face
    from avstudio.core import layers
    target = clip_face(project, roles.TARGET)
    frontal = project.require_track(roles.DRIVEN, layers.DRIVEN).points[..., :2]
    _, tpath = project.clip_media(roles.TARGET)
    made = yield from make_frames(tpath, painter, faces, under, wanted, ok, frontal, target.face68[under], keys,
                                  folder, todo)
    result = {"out": None, "rendered": made, "cached": len(keys) - len(todo), "frames": len(keys),
              "cache": str(folder), "left_as_filmed": int((~ok).sum())}
    if out is not None:
        yield from export(project, folder, keys, out, audio, height, crf, preset, layout)
        result["out"] = str(out)
    return result


LAYOUTS = ("generated", "side_by_side")


def _use_driven(project, driven: tuple) -> None:
    """Put the editor's driven face (points, flags, schedule, face meta, schedule meta) into the project
    read from disk in place of the saved one, which may be older, shorter or absent."""
    from avstudio.core import layers, roles
    from avstudio.core.tracks import CurveTrack, LandmarkTrack

    points, flags, schedule, face_meta, sched_meta = driven
    try:
        face = LandmarkTrack({"points": points, "flags": flags}, dict(face_meta), name="driven face")
        sched = CurveTrack({"values": schedule, "flags": np.zeros(schedule.shape, np.uint8)}, dict(sched_meta),
                           name="frame schedule")
    except ValueError as exc:
        raise UserError(f"The driven face cannot be rendered ({exc}): drive the target's face again.") from None
    if len(schedule) != len(points):
        raise UserError("The driven face and its schedule differ in length: drive the target's face again.")
    for new, layer in ((face, layers.DRIVEN), (sched, layers.SCHEDULE)):
        old = project.find_track(roles.DRIVEN, layer)
        if old is not None:
            new.id = old.id
        project.replace_track(new)


def export(project, folder: Path, keys: list[str], out: str, audio: str | None, height: int | None, crf: int,
           preset: str, layout: str) -> Iterator[Progress]:
    """Job: the cached output frames (in output order) to an MP4, beside the driver's frames when
    ``layout`` is side_by_side."""
    from fractions import Fraction

    import cv2

    from avstudio.core import layers, roles
    from avstudio.media.audio import load_audio
    from avstudio.media.export import ExportSettings, export_video

    face = project.require_track(roles.DRIVEN, layers.DRIVEN)
    fps = Fraction(*face.meta["fps"])
    first = cv2.imread(str(lcache.frame_path(folder, keys[0])))
    if first is None:
        raise UserError(f"A rendered frame in {folder} cannot be read; render again.", path=str(folder))
    h = int(height or first.shape[0]) // 2 * 2
    w = int(round(first.shape[1] * h / first.shape[0])) // 2 * 2

    shown = _driver_video(face.meta) if layout == "side_by_side" else None

    def frames():
        driver = _driver_frames(project, shown, h) if shown is not None else None
        for k in keys:
            img = cv2.imread(str(lcache.frame_path(folder, k)))
            if img is None:
                raise UserError(f"A rendered frame in {folder} cannot be read; render again.", path=str(folder))
            img = cv2.resize(img[..., ::-1], (w, h), interpolation=cv2.INTER_AREA if h < img.shape[0] else cv2.INTER_CUBIC)
            yield img if driver is None else np.concatenate([next(driver), img], 1)
    track_audio = load_audio(audio, 48000, mono=False) if audio else None
    yield from export_video(out, frames(), len(keys), ExportSettings(fps=fps, crf=crf, preset=preset), track_audio)


def _driver_video(meta: dict) -> str:
    """The video shown beside the render: the driver clip, or the clip whose speech drives it."""
    from avstudio.core import roles
    from avstudio.retarget.face import driver_clip

    clip = driver_clip(meta)
    if clip not in roles.VIDEO_ROLES:
        raise UserError(f"The face is driven by the {roles.label(clip)}, which has no picture to show beside it: "
                        "export the generated frames alone.")
    return clip


def _driver_frames(project, driver: str | None, height: int):
    """The driver clip's frames at ``height`` (held on its last frame)."""
    import cv2

    from avstudio.media.video import VideoSource

    _, path = project.clip_media(driver or "source")
    vs = VideoSource(path, prefetch=0, cache_mb=0)
    try:
        last = None
        for _, rgb in vs.iter_frames(0, vs.frame_count):
            w = int(round(rgb.shape[1] * height / rgb.shape[0])) // 2 * 2
            last = cv2.resize(rgb, (w, height), interpolation=cv2.INTER_AREA)
            yield last
        while last is not None:
            yield last
    finally:
        vs.close()
