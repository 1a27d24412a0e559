"""Face-renderer presets (no torch here: the editor reads them at start-up). Every number of a run is
in its config; a preset is a starting config."""

from __future__ import annotations

import copy

from avstudio.core.errors import UserError

FACE_PRESETS: dict[str, dict] = {
    # Trains on a 2-core CPU in about 15 minutes (BENCHMARKS.md): a small U-Net at 128 px, L1 + PatchGAN,
    # painting a correction of the retrieved mouth (residual).
    "face-128": {"size": 128, "ngf": 24, "depth": 7, "ndf": 32, "d_layers": 3, "num_d": 1, "temporal": False,
                 "batch": 8, "l1": 100.0, "mouth_l1": 4.0, "residual": True, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5,
                 "steps": 2400,
                 "lr_decay_share": 0.5, "checkpoint_every": 600, "sample_every": 100},
    # For a GPU (bf16): 256 px, pix2pix's full widths, two-scale and temporal discriminators.
    "face-256": {"size": 256, "ngf": 64, "depth": 8, "ndf": 64, "d_layers": 3, "num_d": 2, "temporal": True,
                 "batch": 8, "l1": 100.0, "mouth_l1": 4.0, "residual": True, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5,
                 "steps": 40000,
                 "lr_decay_share": 0.5, "checkpoint_every": 4000, "sample_every": 500},
}


def face_config(preset: str, **overrides) -> dict:
    if preset not in FACE_PRESETS:
        raise UserError(f"Unknown face preset {preset!r}: use {', '.join(FACE_PRESETS)}.")
    cfg = copy.deepcopy(FACE_PRESETS[preset])
    cfg["preset"] = preset
    cfg["kind"] = "lipsync"
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg
