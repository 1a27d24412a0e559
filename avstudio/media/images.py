"""Still images written by AV Studio (stick-figure frames, training samples): encoded in memory, then
written whole under their name, so a full disk or a kill never leaves a cut PNG behind and a failure
is a message (cv2.imwrite only returns False)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avstudio.core.atomic import atomic_write_bytes
from avstudio.core.errors import UserError
from avstudio.core.files import check_output_path, user_os_error


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB (or RGBA) image as a PNG at ``path``; a UserError when it cannot be."""
    import cv2

    path = check_output_path(path, "PNG image")
    bgr = rgb[..., [2, 1, 0, 3]] if rgb.shape[-1] == 4 else rgb[..., ::-1]
    ok, png = cv2.imencode(".png", np.ascontiguousarray(bgr))
    if not ok:
        raise UserError(f"Could not encode the image for {path} as a PNG.", path=str(path))
    try:
        atomic_write_bytes(path, png.tobytes())
    except OSError as exc:
        raise user_os_error(exc, "write", path) from exc
    return path
