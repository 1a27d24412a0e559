import pytest
import torch

from avstudio.ml.motion.build import build_discriminator, build_face, build_generator
from avstudio.ml.motion.nets.pix2pixhd import GlobalGenerator, LocalEnhancer
from avstudio.ml.nets.pix2pix import MultiscaleDiscriminator, PatchDiscriminator, UNetGenerator
from avstudio.ml.motion.presets import PRESETS, preset_config


@pytest.mark.parametrize("size,depth", [(128, 7), (256, 8)])
def test_unet_shapes(size, depth):
    g = UNetGenerator(6, 3, 8, depth)
    y = g(torch.randn(2, 6, size, size))
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1


def test_patchgan_and_multiscale_features():
    d = PatchDiscriminator(6, 16, 3)
    feats = d(torch.randn(1, 6, 128, 128), features=True)
    assert len(feats) == 5 and feats[-1].shape == (1, 1, 14, 14)
    m = MultiscaleDiscriminator(12, 8, 3, num_d=3)
    out = m(torch.randn(1, 12, 128, 128))
    assert len(out) == 3 and out[1][-1].shape[-1] < out[0][-1].shape[-1]


def test_pix2pixhd_generators():
    assert GlobalGenerator(3, 3, 8, 4, 2)(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    assert LocalEnhancer(3, 3, 4, 1, 8, 3, 1)(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_face_residual_starts_as_identity():
    g, d = build_face({"size": 512})  # a 128 px face crop, as in EDN
    crop = torch.rand(1, 3, 128, 128) * 2 - 1
    assert torch.allclose(g(torch.zeros_like(crop), crop), crop)
    assert d(torch.randn(1, 6, 64, 64)).dim() == 4


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build(name):
    cfg = preset_config(name)
    small = {**cfg, "ngf": 4, "ndf": 4, "n_blocks": 1, "size": 64}
    g, d = build_generator(small), build_discriminator(small)
    s = 64
    cfg_depth = {"unet": 6}
    if small["arch"] == "unet":
        g = build_generator({**small, "depth": cfg_depth["unet"]})
    x = torch.randn(1, 6 if cfg["temporal"] else 3, s, s)
    y = g(x)
    assert y.shape == (1, 3, s, s)
    cond = torch.randn(1, 12 if cfg["temporal"] else 6, s, s)
    assert d(cond, features=True) is not None
