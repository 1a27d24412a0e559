"""The learned tier of the face renderer at render time: a trained model's generator painting the
wanted face into a frame's crop from its masked lower half, the retrieval tier's answer as the
reference (ml/lipsync/data.py) and the sketch of the wanted landmarks, at the model's size, then
scaled to the crop the paste-back works in."""

from __future__ import annotations

from pathlib import Path

import numpy as np



class LearnedPainter:
    def __init__(self, trainer, faces, retrieval, key: str):
        self.trainer, self.faces, self.retrieval, self.key = trainer, faces, retrieval, key
        self.size = int(trainer.cfg["size"])

    @classmethod
    def load(cls, project_path: str, model_id: str, faces, device: str = "auto", checkpoint: str | None = None,
             rows: np.ndarray | None = None):
        """A model's painter; ``rows`` of ``faces`` are what its references are retrieved from (default:
        every usable frame; scoring passes the training rows)."""
        from avstudio.ml.lipsync.train import load_face_trainer

        doc, trainer = load_face_trainer(project_path, model_id, device, checkpoint)
        from avstudio.ml.lipsync.retrieval import Retrieval
        retrieval = Retrieval(faces, np.arange(len(faces.frames)) if rows is None else rows)
        from avstudio.ml.lipsync.cache import painter_key
        painter = cls(trainer, faces, retrieval, painter_key(model_id, Path(doc["path"]).name, faces.key))
        painter.doc = doc
        return painter

    def paint(self, frame, m, wanted, frontal):
        from avstudio.ml.lipsync.crop import warp
        from avstudio.ml.lipsync.data import generator_input, resized

        crop = warp(frame, m, self.faces.size)
        reference = np.clip(self.retrieval.paint(self.retrieval.nearest(frontal), wanted), 0, 255).astype(np.uint8)
        out = self.trainer.paint(generator_input(crop, reference, wanted, self.size, self.faces.size)[None])[0]
        return resized(out, self.faces.size).astype(np.float32)
