"""Voice-conversion presets (no torch here: the editor reads them at startup)."""

from __future__ import annotations

import copy

from avstudio.core.errors import UserError

VC_PRESETS: dict[str, dict] = {
    # The paper's network and schedule (days on a GPU).
    "vc": {"width": 1.0, "n_mcep": 36, "segment": 128, "lambda_cyc": 10.0, "lambda_id": 5.0, "id_until": 10000,
           "lr_g": 2e-4, "lr_d": 1e-4, "beta1": 0.5, "steps": 200000, "lr_decay_start": 10000,
           "checkpoint_every": 5000, "sample_every": 5000, "sample_rate": 16000, "f0_method": "harvest"},
    # A quarter of the channels: learns the gross timbre shift in a CPU-bounded run (tests, demo).
    "vc-preview": {"width": 0.25, "n_mcep": 36, "segment": 128, "lambda_cyc": 10.0, "lambda_id": 5.0,
                   "id_until": 10000, "lr_g": 2e-4, "lr_d": 1e-4, "beta1": 0.5, "steps": 2000, "lr_decay_start": 1000,
                   "checkpoint_every": 500, "sample_every": 500, "sample_rate": 16000, "f0_method": "harvest"},
}


def vc_config(preset: str, **overrides) -> dict:
    if preset not in VC_PRESETS:
        raise UserError(f"Unknown voice preset {preset!r}: use {', '.join(VC_PRESETS)}.")
    cfg = copy.deepcopy(VC_PRESETS[preset])
    cfg["preset"] = preset
    cfg["kind"] = "voice"
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg
