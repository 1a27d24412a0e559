import numpy as np
import pytest

from avstudio.analysis.landmarks.extract import ExtractRequest, extract_range
from avstudio.analysis.landmarks.layouts import body25, track_from_result
from avstudio.core.errors import UserError
from avstudio.core.skeletons import skeleton
from avstudio.core.tracks import Flag
from avstudio.retarget.body import ClipStats, clip_stats, effective_span, normalize
from avstudio.retarget.draw import fit_transform, render_frame, render_pose

from tests.conftest import media


@pytest.fixture(scope="module")
def walker_body25():
    """The real walker of vtest_walker_crop.mp4 (she walks away from the camera: depth changes)."""
    r = extract_range(ExtractRequest(str(media("body/vtest_walker_crop.mp4"))))
    pts, fl = body25(track_from_result(r, 130, "pose", None, "w"))
    return pts.astype(np.float64), fl


def test_recovers_known_scale_and_shift_even_without_ankles(walker_body25):
    orig, fl = walker_body25
    s, dx, dy = 2.7, 310.0, -45.0
    src = orig.copy()
    src[..., :2] = orig[..., :2] * s + [dx, dy]
    src_stats, tgt_stats = clip_stats(src, fl), clip_stats(orig, fl)
    assert effective_span(src_stats) == (src_stats.far_y, src_stats.close_y)  # she moves in depth
    # Damage the source: no ankles in a third of the frames, no ankles and no nose in others.
    fl2 = fl.copy()
    fl2[::3, [11, 14, 19, 20, 21, 22, 23, 24]] = Flag.MISSING
    fl2[1::7, [0, 11, 14]] = Flag.MISSING
    out, out_fl, level = normalize(src.astype(np.float32), fl2, src_stats, tgt_stats)
    assert (level == 1).sum() > 20 and (level == 2).sum() > 5  # the nose and torso fallbacks were used
    ok = (out_fl != Flag.MISSING) & (fl != Flag.MISSING)
    err = np.abs(out[..., :2] - orig[..., :2])[ok]
    assert err.max() < 1.0


def test_stats_from_damaged_clip_still_close(walker_body25):
    orig, fl = walker_body25
    src = orig.copy()
    src[..., :2] = orig[..., :2] * 1.5 + [20, 30]
    fl2 = fl.copy()
    fl2[::4, [11, 14]] = Flag.MISSING
    out, out_fl, _ = normalize(src.astype(np.float32), fl2, clip_stats(src, fl2), clip_stats(orig, fl))
    ok = (out_fl != Flag.MISSING) & (fl != Flag.MISSING)
    height = np.nanmedian(np.ptp(np.where(fl != Flag.MISSING, orig[..., 1], np.nan), axis=1))
    assert np.median(np.abs(out[..., :2] - orig[..., :2])[ok]) < 0.05 * height


def test_overrides_and_median_filter(walker_body25):
    orig, fl = walker_body25
    st = clip_stats(orig, fl)
    moved = ClipStats(**{**st.to_json(), "far_y": st.far_y + 10, "close_y": st.close_y + 10})
    out, _, _ = normalize(orig.astype(np.float32), fl, st, moved)
    ok = fl != Flag.MISSING
    assert np.allclose(out[..., 1][ok], orig[..., 1][ok] + 10, atol=1e-3)  # the floor moved down 10 px
    smooth, _, _ = normalize(orig.astype(np.float32), fl, st, st, median=7)
    raw, _, _ = normalize(orig.astype(np.float32), fl, st, st)
    jitter = lambda a: np.abs(np.diff(a[..., :2], 2, axis=0)).mean()  # noqa: E731
    assert jitter(smooth) < jitter(raw)


def test_flat_source_is_kept_at_one_depth():
    st = ClipStats(far_y=900, close_y=925, far_height=360, close_height=375, center_x=800, nose_ratio=2.5,
                   hip_ratio=1.2)
    far, close = effective_span(st)
    assert close - far == pytest.approx(0.25 * 375) and (far + close) / 2 == pytest.approx(912.5)


def test_stats_need_ankles():
    pts = np.zeros((5, 25, 3), np.float32)
    fl = np.full((5, 25), Flag.MISSING, np.uint8)
    with pytest.raises(UserError, match="ankles"):
        clip_stats(pts, fl)


def test_stick_figure_colours_widths_and_determinism(walker_body25, artifacts):
    orig, fl = walker_body25
    i = int(np.flatnonzero((fl != Flag.MISSING).all(1))[0]) if (fl != Flag.MISSING).all(1).any() else 40
    size = (450, 376)
    a = render_frame((orig[i], fl[i]), None, size, (512, 512))
    b = render_frame((orig[i], fl[i]), None, size, (512, 512))
    assert np.array_equal(a, b) and a.any()
    # Each limb's midpoint has the BODY_25 colour of its second joint (where limbs do not overlap).
    skel = skeleton("body25")
    tf = fit_transform(size, (512, 512))
    p = orig[i].copy()
    p[:, :2] = p[:, :2] * tf[0] + [tf[1], tf[2]]
    img = render_pose(p, fl[i], (512, 512))
    hits = 0
    for (j0, j1) in skel.limbs:
        if fl[i, j0] == Flag.MISSING or fl[i, j1] == Flag.MISSING:
            continue
        mx, my = np.round((p[j0, :2] + p[j1, :2]) / 2).astype(int)
        hits += tuple(img[my, mx]) == tuple(skel.colors[j1])
    assert hits >= 10
    # Line width scales with the output height.
    small = render_pose(p * [0.5, 0.5, 1], fl[i], (256, 256))
    assert 0.15 < (small.any(2).sum() / img.any(2).sum()) < 0.4
    import cv2
    cv2.imwrite(str(artifacts / "stick_figure_walker.png"), a[..., ::-1])
