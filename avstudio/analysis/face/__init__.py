"""Face analysis for lip sync: head pose against a rigid reference face fitted to the clip, frontal
(pose-removed) landmarks, mouth and eye curves, the person's neutral face."""
