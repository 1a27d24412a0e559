"""What WORLD's C code receives is checked first (issue 16): a project from elsewhere could hold a
sample rate of 1 Hz or spectra of the wrong width, which abort or corrupt memory inside pyworld."""

import numpy as np
import pytest

from avstudio.analysis.voice import world
from avstudio.core.errors import UserError


@pytest.mark.parametrize("fs", [0, 1, 100, 10**7])
def test_rates_outside_worlds_range_are_messages(fs):
    with pytest.raises(UserError, match="sample rate"):
        world.decode_sp(np.zeros((10, 36)), fs)


@pytest.mark.parametrize("width", [1, 514, 5000])
def test_spectra_of_the_wrong_width_are_messages(width):
    with pytest.raises(UserError, match="shape"):
        world.decode_sp(np.zeros((10, width)), 16000)
    with pytest.raises(UserError, match="shape"):
        world.synthesize(np.zeros(10), np.ones((10, width)), np.ones((10, width)), 16000)
    with pytest.raises(UserError, match="shape"):
        world.decode_ap(np.zeros((10, width + 1)), 16000)


def test_well_formed_spectra_still_synthesize():
    bins = world.fft_size(16000) // 2 + 1
    y = world.synthesize(np.full(40, 120.0), np.full((40, bins), 1e-4), np.full((40, bins), 0.5), 16000)
    assert y.dtype == np.float32 and len(y) > 0 and np.isfinite(y).all()
    with pytest.raises(UserError, match="non-finite"):
        world.synthesize(np.full(40, 120.0), np.full((40, bins), np.nan), np.full((40, bins), 0.5), 16000)
