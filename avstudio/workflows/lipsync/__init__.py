"""The lip-sync (talking face) workflow at the project level, as operations: face analysis of a clip
(landmarks, depth, head pose, frontal landmarks, curves) and its edits (face.py), driving the
target's face from a source face or by hand, with the frame schedule (drive.py), and rendering,
training and scoring the face renderers (render.py, models.py)."""
