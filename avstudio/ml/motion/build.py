"""Build the networks of a config (one place, as in pytorch-CycleGAN-and-pix2pix's networks.py)."""

from __future__ import annotations

from torch import nn

from avstudio.ml.nets.blocks import init_weights
from avstudio.ml.motion.nets.face_refiner import FaceResidualGenerator, face_discriminator
from avstudio.ml.motion.nets.plate import PlateComposite
from avstudio.ml.motion.nets.pix2pixhd import GlobalGenerator, LocalEnhancer
from avstudio.ml.nets.pix2pix import MultiscaleDiscriminator, PatchDiscriminator, UNetGenerator
from avstudio.ml.motion.stage import Stage


def g_in_channels(cfg: dict) -> int:
    return 6 if cfg["temporal"] else 3  # pose image (+ the previous generated frame)


def d_in_channels(cfg: dict) -> int:
    return 12 if cfg["temporal"] else 6  # (pose, frame), or two consecutive (pose, frame) pairs


def build_generator(cfg: dict) -> nn.Module:
    plate = bool(cfg.get("plate"))
    out_ch = 4 if plate else 3  # colour + mask when composited over the background plate
    if cfg["arch"] == "unet":
        g = UNetGenerator(g_in_channels(cfg), out_ch, cfg["ngf"], cfg["depth"], out_act=not plate)
    elif cfg["arch"] == "global":
        g = GlobalGenerator(g_in_channels(cfg), out_ch, cfg["ngf"], cfg["n_down"], cfg["n_blocks"], out_act=not plate)
    elif cfg["arch"] == "local":
        if plate:
            raise ValueError("the local enhancer does not support a background plate")
        g = LocalEnhancer(g_in_channels(cfg), 3, cfg["ngf"] // 2, 3, cfg["ngf"], cfg["n_down"], cfg["n_blocks"])
    else:
        raise ValueError(f"unknown generator {cfg['arch']!r}")
    init_weights(g)
    if not plate:
        return g
    stage = cfg.get("stage")  # set by training; older configs: the whole frame fitted into S×S
    return PlateComposite(g, tuple(Stage.from_dict(stage, stage["src_size"], cfg["size"]).stage_size) if stage
                          else (cfg["size"], cfg["size"]))


def build_discriminator(cfg: dict) -> nn.Module:
    if cfg.get("num_d", 1) > 1:
        d = MultiscaleDiscriminator(d_in_channels(cfg), cfg["ndf"], cfg["d_layers"], cfg["num_d"])
    else:
        d = PatchDiscriminator(d_in_channels(cfg), cfg["ndf"], cfg["d_layers"])
    init_weights(d)
    return d


def checkpoint_nets(doc: dict) -> dict:
    """The networks a motion checkpoint holds, by prefix: how to build each (ml/checkpoint.check_fits)."""
    cfg = doc["config"]
    nets = {"G": lambda: build_generator(cfg), "D": lambda: build_discriminator(cfg)}
    if cfg.get("face"):
        nets.update({"FG": lambda: build_face(cfg)[0], "FD": lambda: build_face(cfg)[1]})
    return nets


def build_face(cfg: dict) -> tuple[nn.Module, nn.Module]:
    import math

    from avstudio.ml.motion.face_refiner import face_size

    n = face_size(cfg) if "size" in cfg else 128
    g, d = FaceResidualGenerator(32, int(math.log2(n))), face_discriminator(64)
    init_weights(d)
    return g, d
