"""The lip-sync expert at the project level: what training and the training monitor say of it
(workflows/training.py's row for the "expert" kind)."""

from __future__ import annotations

from avstudio.workflows.lipsync import models as _lipsync_models

train_kwargs = _lipsync_models.train_kwargs   # its job takes the same arguments as the face renderer's
MODEL_NOUN = "Lip-sync expert"


def score_line(m: dict) -> str:
    r = m["real"]
    return (f"step {m['step']}: held-out pairs told apart {m['pairs_right']:.0%} · offset on the real footage "
            f"{r['offset']:+d} (confidence {r['confidence']:.2f})")


def baseline_line(m: dict) -> str:
    f, s = m["frames"], m["shifted"]
    from avstudio.core import roles

    return (f"Held-out frames {f[0] + 1}–{f[1] + 1} of the {roles.label(m.get('clip', 'target'))}: chance 50% of pairs; with the sound {m['shift']} frames late "
            f"it should read {m['shift']:+d} and reads {s['offset']:+d} (confidence {s['confidence']:.2f})")
