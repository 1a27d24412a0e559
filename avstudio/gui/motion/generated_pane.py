"""The generated result in the right pane: what a trained motion model makes of each source frame, read
from the render cache (ml/motion/render_cache.py). Frames that are not there yet — after training, or
after an edit changed some poses — are generated in a child process from the editor's unsaved poses;
they appear as they are written, without stopping playback, and until then the pose they will be made
from is shown. G switches the pane between the target clip and the newest model (A/B)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from avstudio.core import layers, models, roles
from avstudio.core.progress import JobState, Progress
from avstudio.gui.actions import ActionSpec


def plan_job(cache_folder: str, model_id: str, ckpt: str, cfg: dict, target_size, points, flags, fps: float):
    """Job: (stage, windows, cache keys, which frames are in the cache) of a model for these poses."""
    from pathlib import Path

    from avstudio.ml.motion.render_cache import render_plan

    yield Progress(0, None, "Planning the generated frames")
    stage, windows, keys = render_plan(model_id, ckpt, cfg, target_size, points, flags, fps)
    rendered = np.array([(Path(cache_folder) / f"{k}.png").is_file() for k in keys], bool)
    return stage, windows, keys, rendered


class GeneratedFrames(QObject):
    """The frames of one motion model for the source's normalized poses (None: no model shown)."""

    updated = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model_id: str | None = None
        self.keys: list[str] = []
        self.cache = None
        self.meta: dict = {}
        self.rendered = np.zeros(0, bool)  # per source frame: its generated image is in the cache
        self._plan_job = self._render_job = None
        self._again = False
        self._images: OrderedDict = OrderedDict()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)

    @property
    def active(self) -> bool:
        return self.model_id is not None

    @property
    def rendering(self) -> bool:
        return self._render_job is not None and not self._render_job.state.finished

    def missing(self) -> int:
        """Frames without a generated image (as of the last plan or finished render)."""
        return int((~self.rendered).sum()) if self.keys else 0

    def set_model(self, model_id: str | None) -> None:
        self.model_id = model_id
        self._images.clear()
        self.refresh()

    def schedule(self) -> None:
        """The poses changed: plan again a moment later (one plan for a burst of edits)."""
        if self.active:
            self._debounce.start()

    def _normalized(self):
        p = self.ctx.project
        return p.find_track(roles.SOURCE, layers.NORMALIZED) if p is not None else None

    def refresh(self) -> None:
        """Work out every frame's cache key in a job, then render what is missing in another."""
        from avstudio.ml.motion.render_cache import render_cache

        p, norm = self.ctx.project, self._normalized()
        self.keys, self.cache, self.rendered = [], None, np.zeros(0, bool)
        run = models.RunFolder.of(p.folder, self.model_id) if self.active and p and p.folder else None
        ckpt = run.latest() if run is not None else None
        if ckpt is None or norm is None:
            self.updated.emit()
            return
        cfg = run.latest_config()
        tv = p.media_by_role(roles.TARGET).probe["video"]
        target = (int(tv["width"]), int(tv["height"]))
        cache = render_cache(p.folder, self.model_id, ckpt.name)
        model, poses = self.model_id, (norm.points.copy(), norm.flags.copy())
        self._plan_job = self.ctx.jobs.run(
            plan_job, str(cache), model, ckpt.name, cfg, target, *poses, float(p.media_by_role(roles.SOURCE).fps),
            name=f"Plan the frames of {model}", quiet=True,
            on_finished=lambda h: self._planned(h, model, cache, target, cfg, poses))

    def _planned(self, handle, model, cache, target, cfg, poses) -> None:
        if handle is not self._plan_job or handle.state is not JobState.DONE or model != self.model_id:
            return
        stage, windows, self.keys, self.rendered = handle.result
        self.cache = cache
        self.meta = {"size": int(cfg["size"]), "target": target, "stage": stage, "windows": windows, "background": None}
        self.updated.emit()
        if self.missing():
            self._render(poses)

    def _render(self, poses) -> None:
        if self.rendering:
            self._again = True  # one more pass when this one ends (the poses changed meanwhile)
            return
        self._again = False
        from avstudio.workflows.motion import generate_frames

        op = generate_frames(self.ctx.project, self.model_id, poses)
        self._render_job = self.ctx.start(op, on_end=self._rendered)

    def progressed(self, handle, _progress) -> None:
        if handle is self._render_job:
            self.updated.emit()  # frames written so far can be shown

    def _rendered(self, handle) -> None:
        if handle is not self._render_job:
            return  # (a failure was said by the context)
        if self._again and handle.state is JobState.DONE:
            self.refresh()
            return
        if self.cache is not None:
            self.rendered = np.array([(self.cache / f"{k}.png").is_file() for k in self.keys], bool)
        self.updated.emit()

    def image(self, frame: int) -> np.ndarray | None:
        """The generated frame for source frame ``frame`` at the target's size (None: not yet there)."""
        from avstudio.ml.motion.render_cache import generated_frame, load_background

        if self.cache is None or not (0 <= frame < len(self.keys)):
            return None
        key = self.keys[frame]
        img = self._images.get(key)
        if img is None:
            if self.meta["background"] is None:  # written by the first render of this checkpoint
                self.meta["background"] = load_background(self.cache, self.meta["target"])
                if self.meta["background"] is None:
                    return None
            img = generated_frame(self.cache, key, self.meta["windows"][frame], self.meta["stage"],
                                  self.meta["background"])
            if img is None:
                return None
            self._images[key] = img
            while len(self._images) > 256:
                self._images.popitem(last=False)
        return img

    def stand_in(self, frame: int) -> np.ndarray | None:
        """The pose the frame will be generated from (shown until the frame exists)."""
        from avstudio.retarget.draw import render_frame

        norm = self._normalized()
        if norm is None or not (0 <= frame < norm.length) or not self.meta:
            return None
        return render_frame((norm.points[frame], norm.flags[frame]), None, self.meta["target"], self.meta["target"])


class GeneratedPane(QObject):
    """The right pane's choice (the target clip or a model's frames), A/B with G, and the timeline's row
    of generated frames. Emits ``shown`` when the generated picture of the current frame changes."""

    shown = Signal()

    def __init__(self, ctx, clips, pose_panel, combo, timeline, parent=None):
        super().__init__(parent)
        self.ctx, self.clips, self.pose, self.combo, self.timeline = ctx, clips, pose_panel, combo, timeline
        self.frames = GeneratedFrames(ctx, self)
        self._last: str | None = None
        self.frames.updated.connect(self._updated)
        ctx.jobs.progressed.connect(self.frames.progressed)
        combo.activated.connect(lambda _: self.pane_changed())
        ctx.projectChanged.connect(self._project_changed)
        ctx.events.modelsChanged.connect(self.fill)
        ctx.events.trackChanged.connect(lambda _t, clip, layer: clip == roles.SOURCE and layer == layers.NORMALIZED
                                        and self.frames.schedule())
        ctx.player.frameChanged.connect(lambda _f: self.frames.active and self.show_frame())

    def actions(self) -> list:
        return [(ActionSpec("ab", "View", "view", "Target ⇄ Generated (A/B)", "Switch the right pane between the "
                            "target clip and the generated result"), self.toggle)]

    def motion_models(self) -> list[str]:
        p = self.ctx.project
        return models.model_ids(p.folder, models.MOTION) if p is not None else []

    def _project_changed(self) -> None:
        self.frames.set_model(None)
        self._show_target()
        self.fill()

    def fill(self) -> None:
        current = self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("Target clip", None)
        for m in self.motion_models():
            self.combo.addItem(f"Generated — {m}", m)
        self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        self.combo.blockSignals(False)

    def show_generated(self, model_id: str | None) -> None:
        """Right pane: the target clip (None) or the frames ``model_id`` generates (rendered as needed)."""
        self.fill()
        self.combo.setCurrentIndex(max(0, self.combo.findData(model_id)))
        self.pane_changed()

    def toggle(self) -> None:
        """A/B: the target clip ⇄ the newest generated result."""
        ms = self.motion_models()
        if self.frames.active or not ms:
            self.show_generated(None)
        else:
            self.show_generated(self._last if self._last in ms else ms[-1])

    def pane_changed(self) -> None:
        model = self.combo.currentData()
        if model is not None:
            self._last = model
            if self.ctx.project is None or self.ctx.project.find_track(roles.SOURCE, layers.NORMALIZED) is None:
                self.ctx.error("Nothing to generate from", "Retarget the source first.", hint="retarget")
                self.combo.setCurrentIndex(0)
                model = None
        self.frames.set_model(model)
        if model is None:
            self._show_target()
        else:
            self.clips.paused_roles.add(roles.TARGET)
            self.pose.hidden_roles.add(roles.TARGET)
            view = self.clips.views[roles.TARGET]
            view.skeleton.set_pose(None, None)
            view.skeleton.set_onion()

    def _show_target(self) -> None:
        view = self.clips.views[roles.TARGET]
        self.clips.paused_roles.discard(roles.TARGET)
        self.pose.hidden_roles.discard(roles.TARGET)
        view.title.setText(view.title.text().split("  ·")[0])
        self.clips.follow(self.ctx.player.frame)
        self.pose.refresh_overlay()
        self.timeline.set_generated(None)

    def _updated(self) -> None:
        self.show_frame() if self.frames.active else self.shown.emit()
        tb = self.ctx.player.timebase
        if not self.frames.active or tb is None:
            self.timeline.set_generated(None)
            return
        done = int(self.frames.rendered.sum())
        self.timeline.set_generated(self.frames.rendered, float(tb.fps),
                                    f"generated — {self.frames.model_id}: {done}/{len(self.frames.rendered)}")

    def current(self) -> tuple[np.ndarray | None, bool]:
        """(the generated picture of the current frame or its stand-in, whether it is the real one)."""
        frame = self.ctx.player.frame
        img = self.frames.image(frame)
        return (img, True) if img is not None else (self.frames.stand_in(frame), False)

    def show_frame(self) -> None:
        if not self.frames.active:
            return
        view = self.clips.views[roles.TARGET]
        img, _ = self.current()
        if img is not None:
            view.stack.setCurrentWidget(view.graphics)
            view.frame_index = None  # generated frames are not edited
            view.image.setImage(img, autoLevels=False, levels=None)
        base = view.title.text().split("  ·")[0]
        view.title.setText(f"{base}  · generated by {self.frames.model_id}" +
                           (f" (generating {self.frames.missing()} frames…)" if self.frames.rendering else ""))
        self.shown.emit()
