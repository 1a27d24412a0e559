"""Sync of a mouth with a sound, measured without ground-truth video: the lag correlation of the
sound's loudness with the mouth's opening (peak lag and r), and bilabial closure — the share of p, b,
m blocks during which the lips close."""

from __future__ import annotations

import numpy as np

MAX_LAG = 15    # frames each way (0.6 s at 25 fps)
CLOSED_SHARE = 0.25   # closed: opening within this share of the person's range above their closed mouth


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return (x - np.nanmean(x)) / max(float(np.nanstd(x)), 1e-12)


def lag_correlation(loudness: np.ndarray, opening: np.ndarray, max_lag: int = MAX_LAG) -> tuple[int, float]:
    """(lag, r): the shift of the mouth against the sound (frames; positive: the mouth comes later) at
    which their Pearson correlation peaks, and that correlation. Frames where either is NaN are left out."""
    a, b = np.asarray(loudness, np.float64), np.asarray(opening, np.float64)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    best = (0, -np.inf)
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[:n - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[:n + lag])
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 8 or np.std(x[ok]) < 1e-12 or np.std(y[ok]) < 1e-12:
            continue
        r = float(np.corrcoef(x[ok], y[ok])[0, 1])
        if np.isfinite(r) and r > best[1]:
            best = (lag, r)
    return best[0], (best[1] if np.isfinite(best[1]) else float("nan"))


def correlation(loudness: np.ndarray, opening: np.ndarray) -> float:
    """Pearson r at lag 0 over the frames where both are known."""
    a, b = np.asarray(loudness, np.float64), np.asarray(opening, np.float64)
    n = min(len(a), len(b))
    ok = np.isfinite(a[:n]) & np.isfinite(b[:n])
    if ok.sum() < 8 or np.std(a[:n][ok]) < 1e-12 or np.std(b[:n][ok]) < 1e-12:
        return float("nan")
    return float(np.corrcoef(a[:n][ok], b[:n][ok])[0, 1])


def closed_below(opening_of_person: np.ndarray) -> float:
    """The opening under which a person's mouth counts as closed: CLOSED_SHARE of their range
    (5th to 95th percentile of their own opening) above the 5th percentile."""
    o = np.asarray(opening_of_person, np.float64)
    o = o[np.isfinite(o)]
    if not len(o):
        return float("nan")
    lo, hi = np.percentile(o, [5, 95])
    return float(lo + CLOSED_SHARE * (hi - lo))


def bilabial_closure(blocks: list[tuple[float, float]], opening: np.ndarray, fps: float, closed: float) -> float:
    """Share of p/b/m blocks (start, end seconds) during which the mouth closes: the smallest opening
    over the frames the block covers (or the frame nearest its middle) is below ``closed``."""
    o = np.asarray(opening, np.float64)
    if not blocks or not len(o) or not np.isfinite(closed):
        return float("nan")
    hits = 0
    for s, e in blocks:
        frames = np.arange(int(np.floor(s * fps)), int(np.ceil(e * fps)))
        frames = frames[(frames >= 0) & (frames < len(o))]
        vals = o[frames] if len(frames) else o[[int(np.clip((s + e) / 2 * fps, 0, len(o) - 1))]]
        hits += bool(np.nanmin(vals) < closed) if np.isfinite(vals).any() else 0
    return hits / len(blocks)
