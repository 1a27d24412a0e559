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


def _config(table: dict, noun: str, kind: str, preset: str, overrides: dict) -> dict:
    """A run's starting config: the preset, its name and kind, and the overrides given (not None)."""
    if preset not in table:
        raise UserError(f"Unknown {noun} preset {preset!r}: use {', '.join(table)}.")
    cfg = copy.deepcopy(table[preset])
    cfg["preset"] = preset
    cfg["kind"] = kind
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def face_config(preset: str, **overrides) -> dict:
    return _config(FACE_PRESETS, "face", "lipsync", preset, overrides)


# The speech → mouth model (ml/lipsync/mouth.py): trains on a 2-core CPU in a few minutes on the
# target's own speech. k: PCA coefficients of the mouth; length: frames per training sequence.
MOUTH_PRESETS: dict[str, dict] = {
    "mouth-cpu": {"k": 4, "hidden": 64, "kernel": 5, "length": 24, "batch": 16, "lr": 1e-3, "steps": 1000,
                  "w_pos": 1.0, "w_vel": 4.0, "w_silence": 0.5, "phone_drop": 0.3, "label_smooth": 1.0,
                  "output_smooth": 1.0, "lr_decay_share": 0.7, "checkpoint_every": 250, "sample_every": 100},
}


def mouth_config(preset: str, **overrides) -> dict:
    return _config(MOUTH_PRESETS, "speech → mouth", "mouth", preset, overrides)


# The person-specific lip-sync expert (ml/lipsync/expert.py): landmarks, not pixels, so it trains on a CPU.
EXPERT_PRESETS: dict[str, dict] = {
    "expert-cpu": {"batch": 64, "lr": 1e-3, "steps": 1500, "label_smooth": 1.0, "lr_decay_share": 0.7,
                   "checkpoint_every": 500, "sample_every": 100},
}


def expert_config(preset: str, **overrides) -> dict:
    return _config(EXPERT_PRESETS, "lip-sync expert", "expert", preset, overrides)
