"""DreamDeck's graph of the 26-style network equals the package's own stylize() (40 dB PSNR and better)."""

from __future__ import annotations

import numpy as np
import pytest
from style_helpers import psnr

from engine.styles.catalog import STYLE_NAMES
from engine.styles.stream import StyleSettings, StyleStream


def stream_out(bundle, frame, prompts, strength=1.0, depth=1):
    s = StyleStream(bundle, StyleSettings(width=frame.shape[1], height=frame.shape[0], prompts=prompts, strength=strength),
                    frames_in_flight=depth)
    try:
        out = None
        while out is None:
            out = s.process([frame])
        return out[0]
    finally:
        s.close()


@pytest.mark.parametrize("style", [0, 7, 19, 24])
def test_one_style_equals_the_package(style_bundle, reference, photo, style):
    ours = stream_out(style_bundle, photo, ((str(style), 1.0),))
    ref = np.asarray(reference.stylize(photo, style=style))
    assert ours.shape == ref.shape == photo.shape
    assert psnr(ours, ref) >= 40.0


def test_a_style_named_by_its_name_is_the_same_style(style_bundle, photo):
    by_number = stream_out(style_bundle, photo, (("19", 1.0),))
    by_name = stream_out(style_bundle, photo, ((" Blue Night ", 1.0),))
    assert STYLE_NAMES[19] == "blue-night"
    np.testing.assert_array_equal(by_number, by_name)


def test_a_two_slot_blend_equals_the_package_fed_the_same_weight_vector(style_bundle, reference, photo):
    """Slot faders 0.3 / 0.9 on styles 3 and 12: the package gets the same normalised 26-vector."""
    ours = stream_out(style_bundle, photo, (("3", 0.3), ("amber-mosaic", 0.9), ("", 0.0), ("", 0.0)))
    weights = np.zeros(26, np.float32)
    weights[3], weights[5] = 0.3, 0.9
    ref = np.asarray(reference.stylize(photo, style=weights))
    assert psnr(ours, ref) >= 40.0
    # and it is a blend: unlike either style alone
    assert psnr(ours, np.asarray(reference.stylize(photo, style=3))) < 30.0
    assert psnr(ours, np.asarray(reference.stylize(photo, style=5))) < 30.0


def test_strength_mixes_with_the_input(style_bundle, reference, photo):
    half = stream_out(style_bundle, photo, (("7", 1.0),), strength=0.5)
    ref = np.asarray(reference.stylize(photo, style=7, strength=0.5))
    assert psnr(half, ref) >= 40.0
    assert psnr(stream_out(style_bundle, photo, (("7", 1.0),), strength=0.0), photo) >= 50.0


def test_two_frames_in_flight_paint_the_same_pictures_in_order(style_bundle, photo):
    """Pipelining changes when a frame comes out (one call later), never what it looks like."""
    frames = [np.roll(photo, 12 * i, axis=1) for i in range(4)]
    single = [stream_out(style_bundle, f, (("7", 1.0),)) for f in frames]
    s = StyleStream(style_bundle, StyleSettings(width=384, height=216, prompts=(("7", 1.0),)), frames_in_flight=2)
    try:
        outs = [s.process([f]) for f in frames + [frames[-1]]]
    finally:
        s.close()
    assert outs[0] is None and s.latency_frames == 1
    for k, f in enumerate(single):
        np.testing.assert_array_equal(outs[k + 1][0], f)
