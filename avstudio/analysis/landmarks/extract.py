"""Landmark extraction over a clip as a job: body pose or face, one subject, MISSING where absent.

Frames stream from the decoder (bounded memory). Long clips are split over worker processes (one per
core); each worker starts a little before its range to warm up tracking, and the ranges are stitched
only where both sides followed the same subject — otherwise the range is redone from the previous
range's subject, so a worker that latched onto another person never leaks into the track.
"""

from __future__ import annotations

import multiprocessing as mp_proc
import os
import queue
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from avstudio.core.errors import Cancelled, MediaError, UserError
from avstudio.core.progress import Progress
from avstudio.core.tracks import Flag
from avstudio.media.video import VideoSource

PARALLEL_MIN_FRAMES = 600   # below this, one process is faster than starting workers
WARMUP = 24                 # frames a worker runs before its range, to settle tracking
BACKWARD_CHUNK = 24         # frames decoded at a time when following a subject backwards


@dataclass
class ExtractRequest:
    path: str
    kind: str = "pose"                  # pose | face
    start: int = 0
    stop: int | None = None
    seed: tuple[int, float, float] | None = None  # (frame, x, y): follow the subject at this point
    hint: tuple[float, float, float] | None = None  # (cx, cy, size) of the subject at frame start-1
    workers: int | None = None          # None: one per core for long ranges
    crop_px: int = 384


@dataclass
class ExtractResult:
    start: int
    points: np.ndarray    # (n, J, 3) float32 in frame pixels
    flags: np.ndarray     # (n, J) uint8
    subject_lost_frames: int
    switches_refused: int
    depth: np.ndarray | None = None  # (n, J) float32 faces: each point's depth in frame pixels (nearer < 0)


def _columns(kind: str) -> tuple[int, int]:
    """(points, columns) a model gives per frame: x, y, confidence (and depth, for faces)."""
    return (33, 3) if kind == "pose" else (478, 4)


def _result(start: int, pts: np.ndarray, flags: np.ndarray, lost: int, refused: int) -> ExtractResult:
    depth = pts[..., 3].copy() if pts.shape[-1] > 3 else None
    return ExtractResult(start, np.ascontiguousarray(pts[..., :3]), flags, lost, refused, depth)


def _model(kind: str):
    from avstudio.analysis.landmarks.mediapipe import FaceModel, PoseModel

    if kind == "pose":
        return PoseModel()
    if kind == "face":
        return FaceModel()
    raise UserError(f"Unknown analysis {kind!r}: use pose or face.")


def _threaded(iterable, depth: int = 4):
    """Decode in a background thread (PyAV releases the GIL) while the model runs here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def feed():
        try:
            for item in iterable:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the consumer side
            q.put(exc)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


def _follower(kind: str, size, crop_px: int):
    from avstudio.analysis.landmarks.follow import SubjectFollower

    model = _model(kind)
    if kind == "face":
        return SubjectFollower(model, size, crop_px=crop_px, margin=1.8, min_conf=0.0)
    return SubjectFollower(model, size, crop_px=crop_px)


def _run_forward(vs: VideoSource, follower, start: int, stop: int, out_pts, out_flags, offset: int) -> Iterator[int]:
    """Follow forward over [start, stop), writing rows (frame - offset). Yields frames done."""
    frames = _threaded(vs.iter_frames(start, stop))
    try:
        for i, frame in frames:
            pts = follower.process(frame)
            if pts is not None and i - offset >= 0:
                out_pts[i - offset] = pts
                out_flags[i - offset] = Flag.AUTO
            yield i
    finally:
        frames.close()  # stops the decoding thread


def _run_backward(vs: VideoSource, follower, start: int, stop: int, out_pts, out_flags, offset: int):
    """Follow backward over [start, stop) (decoding small chunks forward, processing them reversed)."""
    b = stop
    while b > start:
        a = max(start, b - BACKWARD_CHUNK)
        chunk = [(i, f.copy()) for i, f in vs.iter_frames(a, b)]
        for i, frame in reversed(chunk):
            pts = follower.process(frame)
            if pts is not None:
                out_pts[i - offset] = pts
                out_flags[i - offset] = Flag.AUTO
            yield i
        b = a


def extract_range(req: ExtractRequest, progress_cb=None) -> ExtractResult:
    """Extraction in this process (no job protocol): used by workers and by short ranges."""
    vs = VideoSource(req.path, prefetch=0, cache_mb=0)
    try:
        stop = vs.frame_count if req.stop is None else min(req.stop, vs.frame_count)
        start = max(0, req.start)
        n = stop - start
        joints, cols = _columns(req.kind)
        pts = np.zeros((n, joints, cols), np.float32)
        flags = np.full((n, joints), Flag.MISSING, np.uint8)
        follower = _follower(req.kind, vs.size, req.crop_px)
        steps = []
        if req.seed is not None:
            f0, x, y = int(req.seed[0]), float(req.seed[1]), float(req.seed[2])
            if not start <= f0 < stop:
                raise UserError(f"The subject point is on frame {f0}, outside the range {start}..{stop - 1}.")
            found = follower.seed_point(x, y, np.asarray(vs.get_frame(f0, prefetch=False)))
            if found is None:
                raise UserError(f"No person was found at ({x:.0f}, {y:.0f}) on frame {f0}. Click closer to "
                                "the person's body, or pick a frame where they are clearly visible.")
            pts[f0 - start], flags[f0 - start] = found, Flag.AUTO
            seed_state = (follower.subject, follower.lost_for)
            steps.append(_run_forward(vs, follower, f0 + 1, stop, pts, flags, start))
            back = _follower(req.kind, vs.size, req.crop_px)
            back.subject, back.lost_for = seed_state[0], 0
            steps.append(_run_backward(vs, back, start, f0, pts, flags, start))
            followers = [follower, back]
        else:
            if req.hint is not None:
                from avstudio.analysis.landmarks.follow import Subject
                follower.subject = Subject(*req.hint)
                follower.lost_for = 1  # re-acquire near the hint on the first frame
            warm = max(0, start - (WARMUP if req.hint is None and start > 0 else 0))
            steps.append(_run_forward(vs, follower, warm, stop, pts, flags, start))
            followers = [follower]
        done = 0
        try:
            for step in steps:
                for _ in step:
                    done += 1
                    if progress_cb is not None:
                        progress_cb(done)
        finally:
            # Also on cancel or error: stop the decoding threads and free the MediaPipe graphs now,
            # rather than whenever the traceback that references them is dropped.
            for step in steps:
                step.close()
            for f in followers:
                f.model.close()
        lost = int((flags[:, 0] == Flag.MISSING).sum())
        return _result(start, pts, flags, lost, sum(f.switches_refused for f in followers))
    finally:
        vs.close()


# ---- parallel workers ----------------------------------------------------------------------------

def _worker(req_dict: dict, out_file: str, wid: int, q) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from avstudio.core.priority import lower_priority
    lower_priority()
    try:
        last = [0.0]

        def cb(done):
            now = time.monotonic()
            if now - last[0] > 0.2:
                q.put(("progress", wid, done))
                last[0] = now
        res = extract_range(ExtractRequest(**req_dict), cb)
        points = res.points if res.depth is None else np.concatenate([res.points, res.depth[..., None]], -1)
        np.savez(out_file, points=points, flags=res.flags,
                 stats=np.array([res.start, res.subject_lost_frames, res.switches_refused]))
        q.put(("done", wid, None))
    except UserError as exc:
        q.put(("error", wid, exc.message))
    except BaseException as exc:  # noqa: BLE001
        q.put(("error", wid, f"Extraction failed: {exc!r}"))


def _same_subject(a_pts, a_flags, b_pts, b_flags) -> bool:
    """Did two runs follow the same person over the frames both processed?"""
    from avstudio.analysis.landmarks.follow import subject_box

    both = (a_flags[:, 0] != Flag.MISSING) & (b_flags[:, 0] != Flag.MISSING)
    if not both.any():
        # Neither or only one found somebody: the same only if neither did.
        return not (a_flags[:, 0] != Flag.MISSING).any() and not (b_flags[:, 0] != Flag.MISSING).any()
    agree = 0
    for i in np.flatnonzero(both):
        ba, bb = subject_box(a_pts[i]), subject_box(b_pts[i])
        if np.hypot(ba[0] - bb[0], ba[1] - bb[1]) <= 0.25 * max(ba[2], bb[2]):
            agree += 1
    return agree >= 0.5 * both.sum()


def extract(req: ExtractRequest) -> Iterator[Progress]:
    """Job: extract landmarks over the request's range. Returns an :class:`ExtractResult`."""
    vs = VideoSource(req.path, prefetch=0, cache_mb=0)
    total = vs.frame_count
    vs.close()
    stop = total if req.stop is None else min(req.stop, total)
    start = max(0, req.start)
    if stop <= start:
        raise MediaError(f"The range {start}..{stop} of {req.path} holds no frames.")
    n = stop - start
    workers = req.workers or (min(os.cpu_count() or 1, 4) if n >= PARALLEL_MIN_FRAMES else 1)
    label = "pose" if req.kind == "pose" else "face landmarks"
    yield Progress(0, n, f"Loading the {label} model")
    if workers <= 1 or req.seed is not None:
        result_box: dict = {}
        progress: list[int] = [0]
        err: list[BaseException] = []
        cancelled = threading.Event()

        def report(done: int) -> None:
            progress[0] = done
            if cancelled.is_set():  # the job was cancelled: end the helper thread at the next frame
                raise Cancelled()

        def run():
            try:
                result_box["r"] = extract_range(req, report)
            except BaseException as exc:  # noqa: BLE001
                err.append(exc)
        # The model runs on a helper thread so this generator can keep yielding progress (and the
        # runner can cancel between yields); MediaPipe releases the GIL while it computes.
        t = threading.Thread(target=run, daemon=True, name="extract")
        t.start()
        try:
            while t.is_alive():
                t.join(0.1)
                yield Progress(progress[0], n, f"Analysing {label}: frame {min(progress[0], n)}/{n}")
        finally:
            cancelled.set()  # on cancel (GeneratorExit here) the helper stops too
        if err:
            raise err[0]
        result = result_box["r"]
    else:
        result = yield from _extract_parallel(req, start, stop, workers, label)
    found = int((result.flags[:, 0] != Flag.MISSING).sum())
    yield Progress(n, n, f"Found the subject in {found}/{n} frames")
    return result


def stitch_ranges(req: ExtractRequest, bounds: list[int], pts: np.ndarray, flags: np.ndarray) -> list[int]:
    """Make ranges extracted independently (bounds[k]..bounds[k+1]) follow one subject, in place.

    For each border, a short run from the previous range's last subject position is compared with
    the next range's first frames; where they followed different people, the whole next range is
    extracted again from that position. Returns the starts of the ranges redone."""
    from avstudio.analysis.landmarks.follow import subject_box

    start = bounds[0]
    redone = []
    for k in range(1, len(bounds) - 1):
        a, b = bounds[k] - start, bounds[k + 1] - start
        check = min(WARMUP, b - a)
        seen = np.flatnonzero(flags[:a, 0] != Flag.MISSING)
        hint = subject_box(pts[seen[-1]]) if len(seen) else None
        if hint is None:
            continue  # nobody before the border: the next range's subject stands
        ref = extract_range(ExtractRequest(req.path, req.kind, bounds[k], bounds[k] + check, hint=hint,
                                           crop_px=req.crop_px))
        if _same_subject(ref.points, ref.flags, pts[a:a + check], flags[a:a + check]):
            continue
        redo = extract_range(ExtractRequest(req.path, req.kind, bounds[k], bounds[k + 1], hint=hint,
                                            crop_px=req.crop_px))
        pts[a:b, :, :3] = redo.points
        if redo.depth is not None:
            pts[a:b, :, 3] = redo.depth
        flags[a:b] = redo.flags
        redone.append(bounds[k])
    return redone


def _extract_parallel(req: ExtractRequest, start: int, stop: int, workers: int, label: str):
    n = stop - start
    bounds = [start + (n * k) // workers for k in range(workers + 1)]
    ctx = mp_proc.get_context("spawn")
    q = ctx.Queue()
    tmp = tempfile.TemporaryDirectory(prefix="avstudio-extract-")
    procs = []
    done_counts = [0] * workers
    try:
        for k in range(workers):
            r = ExtractRequest(**{**asdict(req), "start": bounds[k], "stop": bounds[k + 1], "workers": 1})
            p = ctx.Process(target=_worker, args=(asdict(r), f"{tmp.name}/{k}.npz", k, q), daemon=True)
            p.start()
            procs.append(p)
        finished = 0
        while finished < workers:
            try:
                kind, wid, value = q.get(timeout=0.2)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise UserError("An analysis worker process died unexpectedly (out of memory?).")
                yield Progress(sum(done_counts), n, f"Analysing {label} on {workers} cores")
                continue
            if kind == "progress":
                done_counts[wid] = value
            elif kind == "done":
                finished += 1
                done_counts[wid] = bounds[wid + 1] - bounds[wid]
            else:
                raise UserError(value)
            yield Progress(min(sum(done_counts), n), n, f"Analysing {label} on {workers} cores")
        parts = []
        for k in range(workers):
            with np.load(f"{tmp.name}/{k}.npz", allow_pickle=False) as z:
                parts.append([z["points"], z["flags"], z["stats"]])
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(1)
        tmp.cleanup()
    pts = np.concatenate([p[0] for p in parts])
    flags = np.concatenate([p[1] for p in parts])
    refused = int(sum(p[2][2] for p in parts))
    redone = stitch_ranges(req, bounds, pts, flags)
    if redone:
        yield Progress(n, n, f"Re-ran {len(redone)} range(s) where a worker had followed another person")
    lost = int((flags[:, 0] == Flag.MISSING).sum())
    return _result(start, pts, flags, lost, refused)


def extract_frames(frames, kind: str = "pose", upscale: float = 1.0, crop_px: int = 384,
                   hints=None) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of one subject over in-memory RGB frames (e.g. generated ones), in the frames'
    pixels. ``upscale`` enlarges small frames first (MediaPipe needs a person of some size).
    ``hints`` (one (cx, cy, size) or None per frame, frame pixels) says where the person should be:
    each such frame is searched around its hint only, independently of the others, and a person of
    another size or elsewhere counts as not found."""
    import cv2

    frames = list(frames)
    if not frames:
        return np.zeros((0, 33, 3), np.float32), np.zeros((0, 33), np.uint8)
    h, w = frames[0].shape[:2]
    size = (int(round(w * upscale)), int(round(h * upscale)))
    follower = _follower(kind, size, crop_px)
    joints, _ = _columns(kind)
    pts = np.zeros((len(frames), joints, 3), np.float32)
    flags = np.full((len(frames), joints), Flag.MISSING, np.uint8)
    try:
        for i, f in enumerate(frames):
            img = cv2.resize(np.ascontiguousarray(f), size, interpolation=cv2.INTER_CUBIC) if upscale != 1 else f
            if hints is not None:
                if hints[i] is None:
                    continue
                from avstudio.analysis.landmarks.follow import Subject
                cx, cy, side = hints[i]
                follower.subject = Subject(cx * upscale, cy * upscale, side * upscale)
                follower.lost_for, follower.tracking = 0, False
            found = follower.process(np.ascontiguousarray(img))
            if found is not None:
                found = found[:, :3].copy()
                found[:, :2] /= upscale
                pts[i], flags[i] = found, Flag.AUTO
    finally:
        follower.model.close()
    return pts, flags
