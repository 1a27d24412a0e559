"""Retargeting: skeleton maps (MediaPipe-33 → OpenPose BODY_25), pose normalization, stick-figure
rendering. Qt-free. (Issue 3.)"""
