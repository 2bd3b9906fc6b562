"""What a prompt slot may say on `styles`, a painting as the style, and bad input: one line naming what is
allowed, and the running stream keeps painting as before."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from style_helpers import psnr, skimage_data

from engine.params.catalog import engine_store
from engine.styles.catalog import DEFAULT_STYLE, NUM_STYLES, STYLE_NAMES, StyleError, parse_slot
from engine.styles.stream import StyleSettings, StyleStream


def test_every_style_has_one_readable_name():
    assert len(STYLE_NAMES) == NUM_STYLES == 26 and len(set(STYLE_NAMES)) == 26
    for i, name in enumerate(STYLE_NAMES):
        assert parse_slot(name).index == i and parse_slot(str(i)).index == i
        assert parse_slot(name.upper().replace("-", " ")).index == i
    assert parse_slot("   ") is None


@pytest.mark.parametrize("text, says", [("26", "there is no style 26"), ("neon jellyfish", "is not a style"),
                                        ("-3", "is not a style"), ("image:", "names no picture")])
def test_an_unknown_style_is_one_line_naming_what_is_allowed(text, says):
    with pytest.raises(StyleError) as e:
        parse_slot(text)
    msg = str(e.value)
    assert says in msg and "\n" not in msg
    assert "image:" in msg and ("0-25" in msg or "image:PATH" in msg)


def stream(bundle, **kw):
    base = StyleSettings(width=256, height=144, prompts=(("7", 1.0),))
    return StyleStream(bundle, replace(base, **kw), frames_in_flight=1)


def test_a_refused_change_keeps_the_current_look_and_the_rest_still_applies(style_bundle, photo):
    frame = cv2.resize(photo, (256, 144), interpolation=cv2.INTER_AREA)
    s = stream(style_bundle)
    before = s.process([frame])[0]
    store = engine_store()
    store.update({"model": "styles", "size": "256", "output_size": "1280x720", "prompt.1.text": "7", "strength": 1.0})
    assert s.sync(store.snapshot()) and s.last_error is None
    for bad, says in (({"prompt.2.text": "oil painting", "prompt.2.weight": 0.5}, "is not a style"),
                      ({"size": "386x218"}, "multiples of 4"),
                      ({"prompt.1.text": "image:/nonexistent/wave.jpg"}, "does not exist")):
        probe = engine_store()
        probe.update(store.snapshot().values)
        probe.update(bad)
        assert not s.sync(probe.snapshot())
        assert says in s.last_error and "\n" not in s.last_error
        np.testing.assert_array_equal(s.process([frame])[0], before)  # the look is kept
        # and every other control still works while the bad value stays: strength moves the picture
        probe.update({"strength": 0.3})
        s.sync(probe.snapshot())
        assert s.settings.strength == 0.3 and says in s.last_error
        assert psnr(s.process([frame])[0], before) < 40.0
        store_back = engine_store()
        store_back.update(store.snapshot().values)
        assert s.sync(store_back.snapshot()) and s.last_error is None  # fixed: painting as before
        np.testing.assert_array_equal(s.process([frame])[0], before)
    s.close()


def test_a_size_the_network_cannot_take_names_its_multiples(style_bundle):
    store = engine_store()
    store.update({"size": "386x218"})
    with pytest.raises(ValueError, match="multiples of 4"):
        StyleSettings.from_values(store.snapshot().values)


def test_a_painting_is_a_style_and_an_unreadable_one_is_one_line(style_bundle, photo, tmp_path):
    frame = cv2.resize(photo, (256, 144), interpolation=cv2.INTER_AREA)
    painting = tmp_path / "rocket.png"
    cv2.imwrite(str(painting), cv2.cvtColor(np.ascontiguousarray(skimage_data.rocket()), cv2.COLOR_RGB2BGR))
    s = stream(style_bundle, prompts=((f"image:{painting}", 1.0),))
    out = s.process([frame])[0]
    assert out.shape == frame.shape
    assert psnr(out, frame) < 25.0  # painted, not the input
    builtin = stream(style_bundle).process([frame])[0]
    assert psnr(out, builtin) < 25.0  # and not style 7
    g_in = cv2.Canny(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 50, 150).astype(float)
    g_out = cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.CV_32F)
    assert abs(np.corrcoef(cv2.GaussianBlur(g_in, (0, 0), 3).ravel(), cv2.GaussianBlur(np.abs(g_out), (0, 0), 3).ravel())[0, 1]) > 0.1
    # half and half: the two kinds of style mix
    mixed = stream(style_bundle, prompts=((f"image:{painting}", 1.0), ("7", 1.0))).process([frame])[0]
    assert psnr(mixed, out) < 40.0 and psnr(mixed, builtin) < 40.0

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture at all")
    with pytest.raises(StyleError) as e:
        stream(style_bundle, prompts=((f"image:{broken}", 1.0),)).apply(
            StyleSettings(width=256, height=144, prompts=((f"image:{broken}", 1.0),)))
    assert "cannot be read" in str(e.value) and "\n" not in str(e.value)


def test_an_empty_deck_paints_the_default_style_and_a_diffusion_prompt_is_said_once(style_bundle, photo):
    frame = cv2.resize(photo, (256, 144), interpolation=cv2.INTER_AREA)
    default = stream(style_bundle, prompts=(("", 1.0),)).process([frame])[0]
    np.testing.assert_array_equal(default, stream(style_bundle, prompts=((str(DEFAULT_STYLE), 1.0),)).process([frame])[0])
    s = stream(style_bundle, prompts=(("a neon jellyfish", 1.0),))  # e.g. left over from a diffusion model
    assert "is not a style" in s.last_error and f"painting style {DEFAULT_STYLE}" in s.last_error
    np.testing.assert_array_equal(s.process([frame])[0], default)
