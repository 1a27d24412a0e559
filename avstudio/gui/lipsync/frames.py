"""The rendered face frames the editor shows: what a face renderer (the retrieval tier or a trained
model) makes of each output frame, read from the render cache (ml/lipsync/cache.py). Frames not in it
yet — after driving, or after an edit changed some mouths — are rendered in a child process from the
editor's unsaved driven face; they appear as they are written. Until then the pane shows the target
frame with the face it will get drawn over it."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from avstudio.core import layers, models, roles
from avstudio.core.progress import JobState, Progress
from avstudio.ml.lipsync import cache as lcache

TARGET_LAYERS = (layers.FACE, layers.HEAD_POSE, layers.FRONTAL)


def snapshot(project):
    """A copy of what rendering reads (the target's face analysis, the driven face, the media), so a
    job can plan on it while the user goes on editing."""
    from avstudio.core.project import Project

    copy = Project(project.name, project.folder)
    copy.media = dict(project.media)
    for clip, layer in [(roles.TARGET, layer) for layer in TARGET_LAYERS] + [(roles.DRIVEN, layers.DRIVEN),
                                                                            (roles.DRIVEN, layers.SCHEDULE)]:
        t = project.find_track(clip, layer)
        if t is not None:
            copy.tracks[t.id] = t.copy()
    return copy


def plan_job(project, renderer: str, checkpoint: str | None):
    """Job: every output frame's cache key and whether it is rendered, for a renderer."""
    from avstudio.ml.lipsync.render import usable_mask
    from avstudio.ml.lipsync.target import load_target
    from avstudio.retarget.face import output_faces

    faces = yield from load_target(project)
    yield Progress(0, None, "Planning the rendered frames")
    key = lcache.painter_key(renderer, checkpoint, faces.key)
    under, wanted, flags, ok = output_faces(project)
    ok = usable_mask(faces, under, ok)
    keys = lcache.frame_keys(key, under, faces.boxes, wanted, ok)
    folder = lcache.renderer_folder(project.folder, key)
    rendered = np.array([lcache.frame_path(folder, k).is_file() for k in keys], bool)
    return {"keys": keys, "folder": folder, "rendered": rendered, "under": under, "faces": wanted, "flags": flags,
            "ok": ok}


class RenderedFrames(QObject):
    """The frames of one face renderer for the driven face (None: no renderer shown)."""

    updated = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.renderer: str | None = None
        self.plan: dict | None = None
        self._plan_job = self._render_job = None
        self._again = False
        self._images: OrderedDict = OrderedDict()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)
        self.last_render: dict | None = None  # the summary of the newest finished render

    @property
    def active(self) -> bool:
        return self.renderer is not None

    @property
    def rendering(self) -> bool:
        return self._render_job is not None and not self._render_job.state.finished

    def missing(self) -> int:
        return int((~self.plan["rendered"]).sum()) if self.plan else 0

    def set_renderer(self, renderer: str | None) -> None:
        self.renderer = renderer
        self._images.clear()
        self.refresh()

    def schedule(self) -> None:
        """The driven face or the schedule changed: plan again a moment later (once per burst of edits)."""
        if self.active:
            self._debounce.start()

    def _checkpoint(self) -> str | None:
        if self.renderer == lcache.RETRIEVAL:
            return None
        ckpt = models.RunFolder.of(self.ctx.project.folder, self.renderer).latest()
        return ckpt.name if ckpt is not None else None

    def refresh(self) -> None:
        p = self.ctx.project
        self.plan = None
        if not self.active or p is None or p.folder is None or p.find_track(roles.DRIVEN, layers.DRIVEN) is None:
            self.updated.emit()
            return
        renderer = self.renderer
        self._plan_job = self.ctx.jobs.run(plan_job, snapshot(p), renderer, self._checkpoint(),
                                           name="Plan the rendered faces", quiet=True,
                                           on_finished=lambda h: self._planned(h, renderer))

    def _planned(self, handle, renderer) -> None:
        if handle is not self._plan_job or renderer != self.renderer:
            return
        if handle.state is JobState.FAILED:
            self.ctx.status(f"Cannot render the face: {handle.error}")
        if handle.state is not JobState.DONE:
            return
        self.plan = handle.result
        self.updated.emit()
        if self.missing():
            self._render()

    def _render(self) -> None:
        if self.rendering:
            self._again = True  # one more pass when this one ends (the face changed meanwhile)
            return
        self._again = False
        from avstudio.workflows.lipsync.models import generate_frames

        p = self.ctx.project
        if any(p.track_needs_write(t.id) for t in (p.find_track(roles.TARGET, layer) for layer in TARGET_LAYERS)
               if t is not None) and not self.ctx.save_for_job():
            return  # the render reads the target's face analysis from disk: it must be saved
        face = p.require_track(roles.DRIVEN, layers.DRIVEN)
        sched = p.require_track(roles.DRIVEN, layers.SCHEDULE)
        driven = (face.points.copy(), face.flags.copy(), sched.arrays["values"].copy(), dict(face.meta),
                  dict(sched.meta))
        self._render_job = self.ctx.start(generate_frames(p, self.renderer, driven), on_end=self._rendered)

    def progressed(self, handle, _progress) -> None:
        if handle is self._render_job:
            self.updated.emit()

    def _rendered(self, handle) -> None:
        if handle is not self._render_job:
            return
        if handle.state is JobState.DONE:
            self.last_render = handle.result
        if self._again and handle.state is JobState.DONE:
            self.refresh()
            return
        if self.plan is not None:
            self.plan["rendered"] = np.array([lcache.frame_path(self.plan["folder"], k).is_file()
                                              for k in self.plan["keys"]], bool)
        self.updated.emit()

    def image(self, frame: int) -> np.ndarray | None:
        """The rendered output frame (None: not there yet)."""
        import cv2

        if self.plan is None or not (0 <= frame < len(self.plan["keys"])):
            return None
        key = self.plan["keys"][frame]
        img = self._images.get(key)
        if img is None:
            img = cv2.imread(str(lcache.frame_path(self.plan["folder"], key)))
            if img is None:
                return None
            img = np.ascontiguousarray(img[..., ::-1])
            self._images[key] = img
            while len(self._images) > 128:
                self._images.popitem(last=False)
        return img
