"""PNG stills (stick-figure frames): written whole, and a failure is a message."""

import cv2
import numpy as np
import pytest

from avstudio.core.errors import UserError
from avstudio.media.images import write_png


def test_png_round_trip_keeps_rgb_and_fails_with_a_message(tmp_path):
    rgb = np.zeros((8, 12, 3), np.uint8)
    rgb[..., 0] = 200  # red
    out = write_png(tmp_path / "a.png", rgb)
    assert np.array_equal(cv2.imread(str(out))[..., ::-1], rgb)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary file left
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="is a file, not a folder"):
        write_png(tmp_path / "file" / "b.png", rgb)
