"""Geometry of the shipped flow renderer with the room off (it must keep the HRTF's cues).

Uses the shared checks in ``geometry.py`` and the committed weights
(``engine/audio/data/binauralflow.safetensors``).
"""

import numpy as np
import pytest

from geometry import causality_leak, ild_mirror, itd_vs_woodworth, level_vs_distance, streaming_vs_offline

from engine.audio.flow import DEFAULT_WEIGHTS, FlowRenderer, load_weights


@pytest.fixture(scope="module")
def factory():
    model = load_weights(DEFAULT_WEIGHTS)

    def make():
        return FlowRenderer(room=False, weights=model)

    return make


def test_itd_has_the_right_sign_and_follows_woodworth(factory):
    for az, itd, ww in itd_vs_woodworth(factory, azimuths=(0, 30, 60, 90)):
        if az == 0:
            assert abs(itd) < 60e-6
        else:
            assert itd > 0  # a source on the left: the left ear leads
            assert abs(itd - ww) < 0.2 * ww + 60e-6, (az, itd, ww)


def test_ild_has_the_right_sign_and_mirror_symmetry(factory):
    for az, left, right in ild_mirror(factory, azimuths=(30, 90)):
        assert left > 3 and right < -3, (az, left, right)
        assert abs(left + right) < 2.0, (az, left, right)


def test_level_falls_6_db_per_doubling_of_distance(factory):
    levels = level_vs_distance(factory, distances=(0.7, 1.4, 2.8))
    steps = np.diff(levels)
    assert np.all(np.abs(steps + 6.02) < 1.0), levels


def test_shipped_model_streams_exactly_and_causally(factory):
    assert streaming_vs_offline(factory, seconds=0.5) < 1e-4
    assert causality_leak(factory, cut=12_000, block=1000) == 0.0


pytestmark = pytest.mark.usefixtures("one_torch_thread")
