"""MediaPipe models behind the follower's small interface.

Only the models inside the mediapipe 0.10.21 wheel are used: Pose with model_complexity=1 and Face
Mesh (with refined eyes/lips: 478 points). Other complexities download at run time, which fails
offline, so they are not offered.
"""

from __future__ import annotations

import warnings

import numpy as np

from avstudio.core.errors import UserError


def _mediapipe():
    from avstudio.analysis.native_logs import quiet_native_logs

    quiet_native_logs()  # before the import: MediaPipe's C++ code logs from its first graph on
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - a broken install
        raise UserError("MediaPipe is not installed correctly: run the set-up command again.",
                        details=repr(exc)) from exc
    return mp


class _TwoModeModel:
    """A MediaPipe solution in two instances: static (detects every call) and tracking (reuses the
    previous result's region). Subclasses build both and read landmarks out of a result."""

    points = 0

    def __init__(self, static, tracker):
        self._static, self._tracker = static, tracker

    def _landmarks(self, result) -> np.ndarray | None:
        raise NotImplementedError

    def detect(self, rgb: np.ndarray, tracking: bool) -> np.ndarray | None:
        return self._landmarks((self._tracker if tracking else self._static).process(np.ascontiguousarray(rgb)))

    def reset(self) -> None:
        self._tracker.reset()

    def close(self) -> None:
        self._static.close()
        self._tracker.close()


class PoseModel(_TwoModeModel):
    """MediaPipe Pose (33 landmarks, visibility as confidence)."""

    points = 33

    def __init__(self):
        mp = _mediapipe()
        kw = dict(model_complexity=1, enable_segmentation=False, min_detection_confidence=0.5)
        # Our own temporal filters respect the user's anchors; MediaPipe's smoothing would also mix
        # coordinates of crops that move, so it is off.
        super().__init__(mp.solutions.pose.Pose(static_image_mode=True, **kw),
                         mp.solutions.pose.Pose(static_image_mode=False, smooth_landmarks=False,
                                                min_tracking_confidence=0.5, **kw))

    def _landmarks(self, result):
        if result.pose_landmarks is None:
            return None
        return np.array([[p.x, p.y, p.visibility] for p in result.pose_landmarks.landmark], np.float32)


class FaceModel(_TwoModeModel):
    """MediaPipe Face Mesh with refined landmarks (478 points). Confidence is 1 for a found face; a
    fourth column is the depth (MediaPipe's z, on the x scale: negative is nearer the camera), which
    head-pose fitting needs (analysis/face)."""

    points = 478

    def __init__(self):
        mp = _mediapipe()
        kw = dict(max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5)
        super().__init__(mp.solutions.face_mesh.FaceMesh(static_image_mode=True, **kw),
                         mp.solutions.face_mesh.FaceMesh(static_image_mode=False, min_tracking_confidence=0.5, **kw))

    def _landmarks(self, result):
        if not result.multi_face_landmarks:
            return None
        return np.array([[p.x, p.y, 1.0, p.z] for p in result.multi_face_landmarks[0].landmark], np.float32)
