import json

import numpy as np
import pytest

from avstudio.analysis.metrics.pose import compare
from avstudio.analysis.landmarks.openpose_io import export_openpose, import_openpose
from avstudio.analysis.landmarks.review import review
from avstudio.core.errors import UserError
from avstudio.core.tracks import Flag


def standing_body25(T=40):
    """A plausible BODY_25 person (pixels) swaying slightly."""
    base = np.array([[0, -170], [0, -140], [-25, -140], [-35, -100], [-40, -60], [25, -140], [35, -100], [40, -60],
                     [0, -60], [-15, -60], [-17, -25], [-18, 10], [15, -60], [17, -25], [18, 10], [-5, -175],
                     [5, -175], [-10, -172], [10, -172], [25, 18], [28, 16], [15, 14], [-25, 18], [-28, 16],
                     [-15, 14]], np.float32) * 2
    t = np.arange(T)[:, None]
    pts = np.zeros((T, 25, 3), np.float32)
    pts[..., 0] = 300 + base[None, :, 0] + 3 * np.sin(t / 5)
    pts[..., 1] = 400 + base[None, :, 1] + 2 * np.cos(t / 7)
    pts[..., 2] = 0.9
    return pts, np.zeros((T, 25), np.uint8)


def test_review_finds_each_problem_with_its_reason():
    pts, fl = standing_body25()
    pts[10, 4, :2] += 120                       # a wrist jumps: jitter and a long forearm
    pts[20, [11, 14]] = pts[20, [14, 11]]       # ankles swapped
    pts[25, :, 2] = 0.2                         # low confidence
    fl[30, 11] = Flag.MISSING                   # an ankle missing
    fl[33] = Flag.MISSING                       # subject lost inside the clip
    items = {it.frame: " | ".join(it.reasons) for it in review(pts, fl)}
    assert "jitter at RWrist" in items[10] and "RElbow–RWrist" in items[10]
    assert "swap of RAnkle and LAnkle" in items[20]
    assert "low confidence" in items[25]
    assert "missing RAnkle" in items[30]
    assert "subject lost" in items[33]
    assert 5 not in items  # a clean frame is not listed
    ranked = [it.frame for it in review(pts, fl)]
    assert ranked.index(10) < ranked.index(30)  # a wild wrist outranks one missing ankle


def test_metrics_pck_and_distance():
    pts, fl = standing_body25()
    same = compare(pts, fl, pts.copy(), fl.copy())
    assert same.distance == 0 and same.pck_005 == 1 and same.pck_010 == 1
    height = np.ptp(pts[0, :, 1])
    shifted = pts.copy()
    shifted[..., 0] += 0.07 * height
    s = compare(pts, fl, shifted, fl)
    assert s.pck_005 == 0 and s.pck_010 == 1 and s.distance == pytest.approx(0.07, abs=0.005)
    none = np.full_like(fl, Flag.MISSING)
    s = compare(pts, fl, pts, none)
    assert s.pck_010 == 0 and s.frames_missing == len(pts)


def test_openpose_round_trip_is_exact(tmp_path):
    pts, fl = standing_body25()
    pts[..., :2] += np.random.default_rng(1).random(pts[..., :2].shape).astype(np.float32)
    fl[3, 7] = Flag.MISSING
    fl[5] = Flag.MISSING
    face = (np.random.default_rng(2).random((40, 70, 3)).astype(np.float32) * 100, np.zeros((40, 70), np.uint8))
    list(export_openpose(tmp_path, "clip", (pts, fl), face))
    data = json.loads((tmp_path / "clip_000000000000_keypoints.json").read_text())
    assert len(data["people"][0]["pose_keypoints_2d"]) == 75 and len(data["people"][0]["face_keypoints_2d"]) == 210
    back, bflags, report = import_openpose(tmp_path, 40)
    present = fl != Flag.MISSING
    assert np.array_equal(bflags != Flag.MISSING, present)
    assert np.array_equal(back[present], pts[present])  # bit-exact
    assert report["frames_without_person"] == 1


def test_openpose_import_keeps_frame_alignment_and_refuses_bad_files(tmp_path):
    pts, fl = standing_body25(10)
    list(export_openpose(tmp_path, "c", (pts, fl)))
    (tmp_path / "c_000000000004_keypoints.json").unlink()
    back, bflags, report = import_openpose(tmp_path, 12)  # the clip is longer than the keypoints
    assert (bflags[4] == Flag.MISSING).all() and (bflags[10:] == Flag.MISSING).all()
    assert np.array_equal(back[5], pts[5]) and report["frames_without_file"] == 3
    with pytest.raises(UserError, match="only 8 frames"):
        import_openpose(tmp_path, 8)

    def write(name, obj):
        d = tmp_path / name
        d.mkdir()
        (d / "x_000000000000_keypoints.json").write_text(obj if isinstance(obj, str) else json.dumps(obj))
        return d
    coco = write("coco", {"people": [{"pose_keypoints_2d": [1.0] * 54}]})
    with pytest.raises(UserError, match="COCO-18"):
        import_openpose(coco, 5)
    nan = write("nan", '{"people": [{"pose_keypoints_2d": [NaN' + ", 1" * 74 + "]}]}")
    with pytest.raises(UserError, match="NaN"):
        import_openpose(nan, 5)
    broken = write("broken", "{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        import_openpose(broken, 5)
    odd = write("odd", {"people": [{"pose_keypoints_2d": [1.0] * 74}]})
    with pytest.raises(UserError, match="triples"):
        import_openpose(odd, 5)
    (tmp_path / "none").mkdir()
    with pytest.raises(UserError, match="no OpenPose files"):
        import_openpose(tmp_path / "none", 5)
    with pytest.raises(UserError, match="not a folder"):
        import_openpose(tmp_path / "missing", 5)


def test_import_picks_the_person_nearest_the_previous_frame(tmp_path):
    pts, fl = standing_body25(3)
    other = pts.copy()
    other[..., 0] += 400
    other[..., :2] *= 1.3  # bigger: chosen first only if it were the first frame
    for i in range(3):
        people = [{"pose_keypoints_2d": pts[i].ravel().tolist()}]
        if i > 0:
            people.insert(0, {"pose_keypoints_2d": other[i].ravel().tolist()})
        (tmp_path / f"c_{i:012d}_keypoints.json").write_text(json.dumps({"people": people}))
    back, _, _ = import_openpose(tmp_path, 3)
    assert np.allclose(back[1:], pts[1:])
