"""Lip sync in the editor: the Lip Sync menu (drive the target's face from the source or by hand, the
frame schedule, expression strength, smoothing the driven face), the lip-sync view fed at the
player's time — the source frame and its face, the target frame under the output frame with the
driven face on it, the rendered frame — and the mouse edits of both faces, each one undo step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer

from avstudio.core import layers, models, roles
from avstudio.core.errors import UserError
from avstudio.core.tracks import Flag
from avstudio.gui.actions import ActionSpec
from avstudio.gui.lipsync.frames import RenderedFrames
from avstudio.gui.lipsync.view import LipSyncView
from avstudio.retarget.face import DRIVEN_POINTS, MODE_TEXT, MODES

EDITABLE = np.isin(np.arange(68), DRIVEN_POINTS)


class LipSyncPanel(QObject):
    def __init__(self, ctx, clips, parent=None):
        super().__init__(parent)
        self.ctx, self.clips = ctx, clips
        self.view = LipSyncView()
        self.frames = RenderedFrames(ctx, self)
        self.show_tab = lambda: None      # set by the window: bring the view's tab to the front
        self.selected_frames = lambda: None  # set by the window: the output frames selected (face curves)
        self.loader = None                # the target's frames under the output frames
        self._target_open = None
        self._source = None               # (index, rgb) of the source frame shown
        self.view.sourcePointMoved.connect(self.move_source_point)
        self.view.drivenPointMoved.connect(self.move_driven_point)
        self.view.driveRequested.connect(lambda: self.drive(roles.SOURCE))
        self.view.rendererChosen.connect(lambda r: self.show_renderer(r or None))
        self.frames.updated.connect(self._show_rendered)
        ctx.jobs.progressed.connect(self.frames.progressed)
        clips.frameShown.connect(self._clip_frame)
        ctx.player.frameChanged.connect(lambda _f: self.refresh())
        ctx.events.trackChanged.connect(self._track_changed)
        ctx.events.modelsChanged.connect(self._fill_renderers)
        ctx.events.mediaChanged.connect(lambda role: role == roles.TARGET and self._close_target())
        ctx.projectChanged.connect(self._project_changed)

    def actions(self) -> list:
        m = "Lip Sync"
        out = [(ActionSpec("lipsync_drive", m, "drive", "Drive Target Face from Source", "Make the target's face do "
                           "what the source's face does (analyse both faces first)"), lambda: self.drive(roles.SOURCE)),
               (ActionSpec("lipsync_drive_by_hand", m, "drive", "Drive Target Face by Hand", "Start from the target's "
                           "own mouth, to edit frame by frame or as curves"), lambda: self.drive(roles.TARGET)),
               (ActionSpec("lipsync_view", m, "view", "Lip Sync View", "Source face | driven face over the target | "
                           "rendered"), self.show),
               (ActionSpec("lipsync_render", m, "model", "Render with Retrieval", "Paint the driven face with the "
                           "target's own nearest mouths (no training)"), lambda: self.show_renderer("retrieval"))]
        for mode in MODES:
            out.append((ActionSpec(f"lipsync_schedule_{mode}", m, "schedule", f"Schedule: {MODE_TEXT[mode].capitalize()}",
                                   "Put target frames under the selected output frames, from the target frame shown"),
                        lambda mode=mode: self.set_schedule(mode)))
        out += [(ActionSpec("lipsync_expression_more", m, "edit", "Stronger Expression", "Scale the driven mouth's "
                            "motion away from the neutral face by 1.25 over the selected frames"),
                 lambda: self.expression(1.25)),
                (ActionSpec("lipsync_expression_less", m, "edit", "Weaker Expression", "Scale the driven mouth's "
                            "motion by 0.8 over the selected frames"), lambda: self.expression(0.8)),
                (ActionSpec("lipsync_smooth", m, "edit", "Smooth Driven Face", "Smooth the driven lips and jaw over "
                            "the selected frames (your anchors stay)"), lambda: self.range_op("smooth")),
                (ActionSpec("lipsync_interpolate", m, "edit", "Interpolate Driven Face", "Fill the selected frames "
                            "between your anchors"), lambda: self.range_op("interpolate"))]
        return out

    # ---- the project -------------------------------------------------------------------------------
    def _project_changed(self) -> None:
        self._close_target()
        self.frames.set_renderer(None)
        self._fill_renderers()
        self.refresh()

    def close(self) -> None:
        self._close_target()

    def _close_target(self) -> None:
        if self.loader is not None:
            self.loader.close()
        self.loader = self._target_open = None

    def _fill_renderers(self) -> None:
        p = self.ctx.project
        ids = models.model_ids(p.folder, models.LIPSYNC) if p is not None else []
        self.view.fill_renderers(ids, self.frames.renderer)

    def _track_changed(self, _tid: str, clip: str, layer: str) -> None:
        if clip == roles.DRIVEN or (clip == roles.TARGET and layer in (layers.FACE, layers.HEAD_POSE)):
            self.frames.schedule()
        if clip in (roles.DRIVEN, roles.SOURCE, roles.TARGET):
            self.refresh()

    # ---- driving -----------------------------------------------------------------------------------
    def drive(self, driver: str):
        from avstudio.workflows.lipsync.drive import drive_operation

        return self.ctx.run(drive_operation, driver, on_done=lambda _r: self._driven())

    def _driven(self) -> None:
        if not self.frames.active:
            self.frames.set_renderer("retrieval")  # an instant preview of what was driven
            self.view.fill_renderers(self._models(), "retrieval")
        self.show()

    def _models(self) -> list[str]:
        p = self.ctx.project
        return models.model_ids(p.folder, models.LIPSYNC) if p is not None else []

    def show_renderer(self, renderer: str | None) -> None:
        """Paint the rendered pane with ``renderer`` (retrieval, a face-renderer model, None: not)."""
        p = self.ctx.project
        if renderer is not None and (p is None or p.find_track(roles.DRIVEN, layers.DRIVEN) is None):
            self.ctx.error("Nothing to render", "Drive the target's face first.", hint="lipsync_drive")
            renderer = None
        if renderer is not None and p.folder is None and not self.ctx.save_for_job():
            renderer = None
        self.frames.set_renderer(renderer)
        self.view.fill_renderers(self._models(), renderer)
        self.show()

    def show(self) -> None:
        self.show_tab()
        QTimer.singleShot(0, self.refresh)

    # ---- time ---------------------------------------------------------------------------------------
    def output_frame(self) -> int | None:
        """The driven (output) frame at the player's time."""
        p, tb = self.ctx.project, self.ctx.player.timebase
        face = p.find_track(roles.DRIVEN, layers.DRIVEN) if p is not None else None
        if face is None or tb is None:
            return None
        from fractions import Fraction
        t = tb.frame_to_seconds(self.ctx.player.frame)
        return int(min(face.length - 1, max(0, np.floor(t * float(Fraction(*face.meta["fps"])) + 1e-6))))

    def under(self, frame: int) -> int:
        sched = self.ctx.project.require_track(roles.DRIVEN, layers.SCHEDULE)
        return int(round(float(sched.arrays["values"][frame, 0])))

    def _open_target(self) -> None:
        p = self.ctx.project
        if self._target_open is not None or self.loader is not None or p is None or p.media_by_role(roles.TARGET) is None:
            return
        from avstudio.media.video import open_video_job

        try:
            path = p.media_path(p.media_by_role(roles.TARGET).id)
        except UserError:
            return
        self._target_open = self.ctx.jobs.run(open_video_job, path, name="Open the target for lip sync", quiet=True,
                                              on_finished=lambda h, proj=p: self._target_opened(h, proj))

    def _target_opened(self, handle, project) -> None:
        from avstudio.core.progress import JobState
        from avstudio.gui.widgets.frame_loader import FrameLoader

        if handle is not self._target_open or handle.state is not JobState.DONE or project is not self.ctx.project:
            if handle.state is JobState.DONE:
                handle.result.close()
            return
        self.loader = FrameLoader(handle.result, self)
        self.loader.frameReady.connect(self._target_frame)
        self.refresh()

    # ---- what the view shows ----------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.view.on_screen():
            return
        p = self.ctx.project
        self._show_source()
        i = self.output_frame()
        self.view.output_frame = i
        if i is None:
            self.view.show_driven(None, note="Analyse both faces (Analysis menu), then Lip Sync ▸ Drive Target Face "
                                             "from Source." if p is not None else "")
            self.view.info.setText("")
            self._show_rendered()
            return
        self._open_target()
        u = self.under(i)
        if self.loader is not None:
            self.loader.request(u)
        self._show_rendered()

    def _clip_frame(self, role: str, index: int, rgb) -> None:
        if role == roles.SOURCE:
            self._source = (index, rgb)
            if self.view.on_screen():
                self._show_source()

    def _show_source(self) -> None:
        p = self.ctx.project
        if self._source is None or p is None:
            self.view.show_source(None)
            return
        f, rgb = self._source
        face = p.find_track(roles.SOURCE, layers.FACE)
        if face is None or f >= face.length:
            self.view.show_source(rgb)
            return
        from avstudio.analysis.face.analyse import FACE68
        idx = list(FACE68)
        self.view.show_source(rgb, face.points[f, idx], face.flags[f, idx], EDITABLE)

    def _target_frame(self, u: int, rgb) -> None:
        i = self.view.output_frame
        if i is None or self.ctx.project is None or self.under(i) != u:
            return
        from avstudio.retarget.face import output_faces

        try:
            _, pts, fl, ok = output_faces(self.ctx.project, [i])
        except UserError as exc:
            self.view.show_driven(None, note=exc.message)
            return
        self.view.target_frame = u
        self.view.show_driven(rgb, pts[0], fl[0], EDITABLE & (fl[0] != Flag.MISSING) if ok[0] else None)
        self.view.info.setText(f"Output frame {i + 1} over target frame {u + 1}" +
                               ("" if ok[0] else " — not driven here (no face): left as filmed"))

    def _show_rendered(self) -> None:
        fr, i = self.frames, self.view.output_frame
        if not fr.active:
            self.view.show_rendered(None, note="Choose a renderer below (Retrieval renders at once)")
            return
        img = fr.image(i) if i is not None else None
        busy = f"rendering {fr.missing()} frames…" if fr.rendering else ""
        self.view.show_rendered(img, fr.renderer + (f" ({busy})" if busy else ""),
                                note=busy or "planning…" if img is None else "")

    # ---- mouse edits --------------------------------------------------------------------------------
    def move_source_point(self, j: int, x: float, y: float, drag_id: int) -> None:
        from avstudio.editing.points import move_keypoint
        from avstudio.workflows.lipsync.face import mesh_joint, with_rederive

        p = self.ctx.project
        face = p.find_track(roles.SOURCE, layers.FACE) if p is not None else None
        if face is None or self._source is None:
            return
        f = self._source[0]
        self.ctx.push(with_rederive(roles.SOURCE, move_keypoint(p, face.id, f, mesh_joint(j), x, y, drag_id), [f]))

    def move_driven_point(self, j: int, x: float, y: float, drag_id: int) -> None:
        from avstudio.analysis.face.analyse import clip_face
        from avstudio.retarget.face import posed_depth, to_frontal
        from avstudio.workflows.lipsync import drive as dr

        p, i, u = self.ctx.project, self.view.output_frame, self.view.target_frame
        if p is None or i is None or u is None:
            return
        target = clip_face(p, roles.TARGET)
        face, _ = dr.driven(p)
        pose = target.poses.take([u])
        z = posed_depth(face.points[i, [j], :2], target.fit.neutral_array, [j], pose)[0]
        fx, fy = to_frontal(x, y, z, pose)
        self.ctx.push(dr.move_point(p, i, j, fx, fy, drag_id))

    # ---- range edits ---------------------------------------------------------------------------------
    def _range(self) -> tuple[int, int] | None:
        rng = self.selected_frames()
        if rng is None:
            self.ctx.status("Select output frames first (drag in the Face Curves panel).", 5000)
        return rng

    def set_schedule(self, mode: str) -> None:
        from avstudio.workflows.lipsync import drive as dr

        rng, i = self._range(), self.view.output_frame
        if rng is None or self.ctx.project.find_track(roles.DRIVEN, layers.SCHEDULE) is None:
            return
        first = self.under(i) if i is not None else 0
        self.ctx.push_made(lambda: dr.set_schedule(self.ctx.project, rng[0], rng[1], mode, first))

    def expression(self, strength: float) -> None:
        from avstudio.workflows.lipsync import drive as dr

        rng = self._range()
        if rng is not None:
            self.ctx.push_made(lambda: dr.scale_expression(self.ctx.project, rng[0], rng[1], strength))

    def range_op(self, op: str) -> None:
        from avstudio.editing import points as point_ops
        from avstudio.workflows.lipsync import drive as dr

        rng = self._range()
        if rng is None:
            return
        p = self.ctx.project
        face, _ = dr.driven(p)
        joints = list(DRIVEN_POINTS)
        if op == "smooth":
            self.ctx.push_made(lambda: point_ops.smooth(p, face.id, *rng, joints=joints))
        else:
            self.ctx.push_made(lambda: point_ops.interpolate(p, face.id, *rng, joints=joints))
