"""The pitch editor's mouse tools, one class each (OpenUtau's NoteEditStates): a tool sees one
gesture — begin, move, end — and every edit it makes in that gesture shares one stroke id, so the
gesture is one undo step."""

from __future__ import annotations

import uuid

from avstudio.core.errors import UserError
from avstudio.core.pitch import hz_to_midi
from avstudio.editing import pitch as pitch_ops

TOOLS = {"select": ("Select", "Drag to select a time range for the range operations (R)"),
         "pen": ("Pen", "Draw the pitch: every frame the stroke passes over is set (P)"),
         "line": ("Line", "Drag a straight line of pitch (L)"),
         "smooth": ("Smooth", "Brush over the curve to smooth it (B)")}


class PitchTool:
    """A gesture on the curve. ``point`` is (frame, Hz); ``pos`` the view position (seconds, MIDI)."""

    def __init__(self, editor, track, point, pos):
        self.editor, self.track = editor, track
        self.stroke = uuid.uuid4().hex[:8]
        self.anchor = self.last = point
        self.begin(point, pos)

    @property
    def project(self):
        return self.editor.project

    def begin(self, point, pos) -> None:
        pass

    def move(self, point, pos) -> None:
        pass

    def end(self, point, pos) -> None:
        pass


class PenTool(PitchTool):
    def begin(self, point, pos) -> None:
        self.editor.push(pitch_ops.pen(self.project, self.track.id, [point], stroke=self.stroke))

    def move(self, point, pos) -> None:
        # Every frame between successive pointer positions is set: a fast stroke leaves no gap.
        self.editor.push(pitch_ops.pen(self.project, self.track.id, [self.last, point], stroke=self.stroke))
        self.last = point


class LineTool(PitchTool):
    def move(self, point, pos) -> None:
        fp = self.editor.frame_seconds()
        self.editor.preview.setData([self.anchor[0] * fp, point[0] * fp], hz_to_midi([self.anchor[1], point[1]]))

    def end(self, point, pos) -> None:
        self.editor.preview.setData([], [])
        self.editor.push(pitch_ops.line(self.project, self.track.id, self.anchor, point))


class SmoothTool(PitchTool):
    def move(self, point, pos) -> None:
        f, half = int(round(point[0])), self.editor.brush_frames
        try:
            self.editor.push(pitch_ops.smooth(self.project, self.track.id, f - half, f + half, stroke=self.stroke))
        except UserError:
            pass  # brushing outside the curve


class SelectTool(PitchTool):
    def begin(self, point, pos) -> None:
        self.x0 = pos.x()
        self.editor.region.setRegion((self.x0, self.x0))
        self.editor.region.show()

    def move(self, point, pos) -> None:
        self.editor.region.setRegion(sorted((self.x0, pos.x())))


TOOL_CLASSES = {"pen": PenTool, "line": LineTool, "smooth": SmoothTool, "select": SelectTool}
