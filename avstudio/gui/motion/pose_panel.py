"""Pose and face landmarks on the clip panes: the skeleton and face overlays of the frame shown, the
keypoint edits made with the mouse (move a point, Alt-drag the skeleton, right-click or H to hide),
the timeline's range operations (interpolate, smooth, copy previous, re-analyse), picking the person
to follow, analysing a clip, jumping between flagged frames, onion skin and OpenPose JSON."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from avstudio.core import layers, roles
from avstudio.core.tracks import Flag
from avstudio.editing import points as point_ops
from avstudio.gui.actions import ActionSpec
from avstudio.workflows import landmarks

KIND_LAYER = {"pose": layers.POSE, "face": layers.FACE}


class PosePanel(QObject):
    def __init__(self, ctx, clips, timeline, review_rows, parent=None):
        super().__init__(parent)
        self.ctx, self.clips, self.timeline, self.review_rows = ctx, clips, timeline, review_rows
        self.views = clips.views
        self.active_clip = roles.SOURCE  # the clip the range operations and flag jumps act on
        self.subject_points: dict[str, tuple[int, float, float]] = {}
        self.hidden_roles: set[str] = set()  # panes showing something else (generated frames): no overlay
        self.onion = False
        for role, v in self.views.items():
            v.skeleton.pointMoved.connect(lambda j, x, y, d, r=role: self.move_point(r, j, x, y, d))
            v.skeleton.pointToggled.connect(lambda j, r=role: self.toggle_point(r, j))
            v.skeleton.skeletonMoved.connect(lambda dx, dy, d, r=role: self.move_skeleton(r, dx, dy, d))
            v.pointPicked.connect(lambda x, y, r=role: self.pick_subject(r, x, y))
        clips.frameShown.connect(lambda role, *_: self.refresh_overlay(clips=(role,)))
        ctx.events.trackChanged.connect(self._track_changed)
        ctx.projectChanged.connect(self._reset)

    def actions(self) -> list:
        out = []
        for clip in roles.VIDEO_ROLES:
            for kind in ("pose", "face"):
                out.append((ActionSpec(f"analyse_{clip}_{kind}", "Analysis", "analyse", f"Analyse {roles.title(clip)} "
                                       f"{kind.title()}", f"Extract the {roles.label(clip)}'s {kind} (click the person "
                                       "first to choose who)"), lambda c=clip, k=kind: self.analyse(c, k)))
        e = "Edit"
        out += [(ActionSpec("interpolate", e, "range", "Interpolate Range", "Fill the selected range between anchors"),
                 lambda: self.range_operation("interpolate")),
                (ActionSpec("smooth", e, "range", "Smooth Range", "Smooth the selected range (anchors stay)"),
                 lambda: self.range_operation("smooth")),
                (ActionSpec("copy_previous", e, "range", "Copy Previous Frame", "Hold the pose of the frame before "
                            "the selected range over the range (or copy it onto this frame)"),
                 lambda: self.range_operation("copy_previous")),
                (ActionSpec("reanalyse", e, "range", "Re-analyse Range", "Run the pose (and face) detector again on "
                            "the selected range; your anchors stay"), lambda: self.range_operation("reanalyse")),
                (ActionSpec("hide", e, "range", "Hide / Show Keypoint", "Hide the keypoint you touched last (or show "
                            "it again)"), self.toggle_selected_point),
                (ActionSpec("next_flag", "Playback", "flags", "Next Flagged Frame", "Jump to the next frame on the "
                            "review list"), lambda: self.jump_flagged(1)),
                (ActionSpec("prev_flag", "Playback", "flags", "Previous Flagged Frame", "Jump to the previous frame on "
                            "the review list"), lambda: self.jump_flagged(-1)),
                (ActionSpec("onion", "View", "view", "Onion Skin", "Show the previous and next frames' skeletons, faint",
                            checkable=True), self.toggle_onion),
                (ActionSpec("import_openpose", "File", "interop", "Import Pose (OpenPose JSON)…", "Read a folder of "
                            "OpenPose / DWPose BODY_25 files as the active clip's pose"), self.import_openpose_dialog),
                (ActionSpec("export_openpose", "File", "interop", "Export Pose (OpenPose JSON)…", "Write the active "
                            "clip's pose as OpenPose BODY_25 (+ face 70) files"), self.export_openpose_dialog)]
        return out

    def _reset(self) -> None:
        self.subject_points.clear()
        self.refresh_overlay()

    def _track_changed(self, _tid: str, clip: str, layer: str) -> None:
        if clip in self.views and layer in (layers.POSE, layers.FACE):
            self.refresh_overlay(clips=(clip,))

    def track(self, role: str, layer: str = layers.POSE):
        return self.ctx.project.find_track(role, layer) if self.ctx.project is not None else None

    # ---- overlays ------------------------------------------------------------------------------
    def refresh_overlay(self, *_args, clips=roles.VIDEO_ROLES) -> None:
        for role in clips:
            view = self.views[role]
            if role in self.hidden_roles:
                view.face.set_face(None, None)
                continue
            self._draw_face(role)
            track, f = self.track(role), view.frame_index
            if track is None or f is None or f >= track.length:
                view.skeleton.set_pose(None, None)
                view.skeleton.set_onion()
                continue
            if view.skeleton.skel.name != track.meta["skeleton"]:
                view.set_skeleton(track.meta["skeleton"])
            view.skeleton.set_pose(track.points[f], track.flags[f])
            if self.onion:
                view.skeleton.set_onion((track.points[f - 1], track.flags[f - 1]) if f > 0 else None,
                                        (track.points[f + 1], track.flags[f + 1]) if f + 1 < track.length else None)
            else:
                view.skeleton.set_onion()

    def _draw_face(self, role: str) -> None:
        """The clip's face landmarks on the frame shown (iBUG 68 derived from the stored mesh for that frame
        alone: nothing per edit, whatever the track's length)."""
        from avstudio.analysis.landmarks.layouts import face68_of

        view, f = self.views[role], self.views[role].frame_index
        track = self.track(role, layers.FACE)
        if track is None or f is None or f >= track.length:
            view.face.set_face(None, None)
            return
        try:
            pts, fl = face68_of(track.points[f:f + 1], track.flags[f:f + 1], track.meta["skeleton"])
        except ValueError:  # a layout with no face68 mapping
            view.face.set_face(None, None)
            return
        view.face.set_face(pts[0], fl[0])

    def toggle_onion(self) -> None:
        action = self.ctx.actions.get("onion")
        self.onion = action.isChecked() if action is not None else not self.onion
        self.refresh_overlay()

    # ---- edits with the mouse ------------------------------------------------------------------
    def _edit_here(self, role: str, make) -> None:
        track, f = self.track(role), self.views[role].frame_index
        if track is None or f is None:
            return
        self.active_clip = role
        self.ctx.push(make(self.ctx.project, track, f))

    def move_point(self, role: str, joint: int, x: float, y: float, drag_id: int) -> None:
        self._edit_here(role, lambda p, t, f: point_ops.move_keypoint(p, t.id, f, joint, x, y, drag_id))

    def move_skeleton(self, role: str, dx: float, dy: float, drag_id: int) -> None:
        self._edit_here(role, lambda p, t, f: point_ops.move_skeleton(p, t.id, f, dx, dy, drag_id))

    def toggle_point(self, role: str, joint: int) -> None:
        self._edit_here(role, lambda p, t, f: point_ops.set_hidden(p, t.id, f, [joint],
                                                                    t.flags[f, joint] != Flag.MISSING))

    def toggle_selected_point(self) -> None:
        """H: hide (or show again) the keypoint last touched on the active clip."""
        joint = self.views[self.active_clip].skeleton.selected
        if joint is None:
            self.ctx.status("Click or drag a keypoint first; H then hides it (or shows it again).", 5000)
            return
        self.toggle_point(self.active_clip, joint)

    def pick_subject(self, role: str, x: float, y: float) -> None:
        f = self.views[role].frame_index
        if f is None:
            return
        self.subject_points[role] = (f, x, y)
        self.active_clip = role
        self.ctx.status(f"Analysis of the {roles.label(role)} will follow the person at ({x:.0f}, {y:.0f}) on "
                        f"frame {f + 1}.", 8000)

    # ---- range operations ----------------------------------------------------------------------
    def range_operation(self, op: str) -> None:
        """Interpolate, smooth, copy-previous or re-analyse the timeline's selected range of the active
        clip's pose track (copy previous without a range: onto the current frame)."""
        clip = self.active_clip
        track, frames = self.track(clip), self.timeline.selected_frames(clip)
        here = self.views[clip].frame_index
        if op == "copy_previous" and frames is None and here is not None:
            frames = (here, here + 1)
        if track is None or frames is None:
            self.ctx.status("Select a range on the timeline first (drag the blue region).", 5000)
            return
        if op == "reanalyse":
            self.reanalyse_range(clip, *frames)
            return
        p = self.ctx.project
        self.ctx.push_made({"interpolate": lambda: point_ops.interpolate(p, track.id, *frames),
                            "smooth": lambda: point_ops.smooth(p, track.id, *frames,
                                                               fps=self.timeline.fps.get(clip, 30.0)),
                            "copy_previous": lambda: point_ops.copy_previous(p, track.id, frames[0],
                                                                             stop=frames[1])}[op])

    def reanalyse_range(self, clip: str, start: int, stop: int) -> list:
        """Run the detector again on frames [start, stop) of the clip's pose (and face) track; the new
        points merge into the track as one undo step each, keeping every anchor."""
        return [self.ctx.run(landmarks.analyse, clip, kind, start=start, stop=stop)
                for kind in ("pose", "face") if self.track(clip, KIND_LAYER[kind]) is not None]

    def analyse(self, clip: str, kind: str):
        """Pose or face landmarks of a clip, in a child process; the result lands on the undo stack."""
        seed = self.subject_points.get(clip) if kind == "pose" else None
        return self.ctx.run(landmarks.analyse, clip, kind, seed=seed)

    def jump_flagged(self, direction: int) -> None:
        view, player = self.views[self.active_clip], self.ctx.player
        ref = self.ctx.project.media_by_role(self.active_clip) if self.ctx.project else None
        if view.frame_index is None or ref is None or player.timebase is None:
            return
        target = self.timeline.next_flagged(self.active_clip, view.frame_index, direction)
        if target is None:
            self.ctx.status("No more flagged frames that way.", 3000)
            return
        player.pause()
        player.seek(player.timebase.seconds_to_frame(target / float(ref.fps)))

    # ---- OpenPose JSON -------------------------------------------------------------------------
    def import_openpose_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.ctx.window, "Folder of OpenPose JSON files", str(Path.home()))
        if folder:
            self.ctx.run(landmarks.import_openpose, self.active_clip, folder)

    def export_openpose_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.ctx.window, "Write OpenPose JSON files into", str(Path.home()))
        if folder:
            self.ctx.run(landmarks.export_openpose, self.active_clip, folder)
