"""Training presets. Every number of a run is in its config; a preset is a starting config."""

from __future__ import annotations

import copy

# "augment": {"scale": s, "shift": t, "p": share of steps} applies one random scale/shift to the pose
# image and the frame alike (and to the background plate, so the background stays consistent). With
# only ~100 frames it makes the generator draw limbs where the pose puts them instead of memorising
# frames. Alone it blurred the background and scored worse; with the background plate it scores
# best (BENCHMARKS.md), so `preview` uses both. `avstudio train --augment` adds it to other presets.
AUGMENT = {"scale": 0.1, "shift": 0.08, "p": 0.5}  # p: share of steps augmented

PRESETS: dict[str, dict] = {
    # Small and fast: trains on a CPU in minutes (the demo and the tests use it).
    "preview": {
        "size": 128, "arch": "unet", "ngf": 32, "ndf": 32, "depth": 7, "d_layers": 3, "num_d": 1,
        "temporal": False, "face": False, "l1": 100.0, "fm": 0.0, "vgg": 0.0,
        "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "steps": 3000, "lr_decay_share": 0.5,
        "checkpoint_every": 500, "sample_every": 100, "augment": dict(AUGMENT), "plate": True,
    },
    # pix2pix at 256 with Everybody Dance Now's temporal smoothing.
    "standard": {
        "size": 256, "arch": "unet", "ngf": 64, "ndf": 64, "depth": 8, "d_layers": 3, "num_d": 1,
        "temporal": True, "face": False, "l1": 100.0, "fm": 0.0, "vgg": 0.0,
        "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "steps": 40000, "lr_decay_share": 0.5,
        "checkpoint_every": 2000, "sample_every": 250, "augment": None,
    },
    # pix2pixHD global generator at 512, multiscale D + feature matching, temporal, face GAN.
    # Without VGG weights an L1 term stands in for the perceptual loss.
    "hd": {
        "size": 512, "arch": "global", "ngf": 64, "ndf": 64, "n_down": 4, "n_blocks": 9, "d_layers": 3, "num_d": 2,
        "temporal": True, "face": True, "face_steps": 10000, "l1": 10.0, "fm": 10.0, "vgg": 10.0,
        "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "steps": 100000, "lr_decay_share": 0.5,
        "checkpoint_every": 5000, "sample_every": 500, "augment": None,
    },
}


def preset_config(name: str, **overrides) -> dict:
    from avstudio.core.errors import UserError

    if name not in PRESETS:
        raise UserError(f"Unknown preset {name!r}: use {', '.join(PRESETS)}.")
    cfg = copy.deepcopy(PRESETS[name])
    cfg["preset"] = name
    cfg["kind"] = "motion"
    for k, v in overrides.items():
        if v is not None:
            cfg[k] = v
    return cfg
