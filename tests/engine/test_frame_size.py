"""engine/frame_size.py: the model's frame from ``size`` and the output, and a source brought to it."""

import math

import numpy as np
import pytest

from engine.frame_size import SizeRule, model_frame, normalize_size, parse_output_size, to_model_frame

SD = SizeRule("Stable Diffusion", 64, 64, 1024)
STYLES = SizeRule("the style network", 4, 32, 2048)


@pytest.mark.parametrize("size,output,frame", [
    ("512", (1280, 720), (512, 320)),  # 16:9: 288 -> 320 (nearer than 256 in log-aspect)
    ("768", (1920, 1080), (768, 448)),  # 432 -> 448
    ("384", (1024, 576), (384, 192)),  # 216 -> 192
    ("512", (640, 480), (512, 384)),  # 4:3 lands on a multiple
    ("512", (512, 512), (512, 512)),  # square output: square frame
    ("512", (720, 1280), (320, 512)),  # portrait: the long side is the height
    ("256", (1080, 1920), (128, 256)),  # portrait 144 -> 128
    ("64", (1280, 720), (64, 64)),  # never below the family's minimum
])
def test_long_side_follows_the_output_aspect(size, output, frame):
    assert model_frame(size, output, SD) == frame


def test_the_short_side_is_the_allowed_one_nearest_the_aspect():
    for ow, oh in ((1280, 720), (854, 480), (1920, 1080), (720, 1280), (1000, 999), (2000, 500)):
        for long_side in range(64, 1025, 64):
            w, h = model_frame(str(long_side), (ow, oh), SD)
            assert max(w, h) == long_side and SD.allows(w) and SD.allows(h)
            short, ideal = min(w, h), long_side * min(ow, oh) / max(ow, oh)
            allowed = [s for s in range(64, long_side + 1, 64)]
            best = min(abs(math.log(s / ideal)) for s in allowed)
            assert abs(abs(math.log(short / ideal)) - best) < 1e-12


def test_other_families_snap_to_their_own_multiple():
    assert model_frame("384", (1280, 720), STYLES) == (384, 216)
    assert model_frame("512", (720, 1280), STYLES) == (288, 512)


def test_explicit_width_x_height_is_taken_as_is():
    assert model_frame("768x448", (1280, 720), SD) == (768, 448)
    assert model_frame("128x64", (720, 1280), SD) == (128, 64)  # the output's aspect does not matter
    assert model_frame(" 768 × 448 ", (1280, 720), SD) == (768, 448)
    assert model_frame(512, (1280, 720), SD) == (512, 320)  # an int (OSC, an old preset) is a long side


@pytest.mark.parametrize("size,words", [
    ("500", "size 500 does not suit Stable Diffusion: it takes multiples of 64 from 64 to 1024 px"),
    ("2048", "size 2048 does not suit Stable Diffusion: it takes multiples of 64 from 64 to 1024 px"),
    ("32", "size 32 does not suit Stable Diffusion: it takes multiples of 64 from 64 to 1024 px"),
    ("768x450", "size 768x450 does not suit Stable Diffusion: width and height take multiples of 64 from 64 to 1024 px"),
    ("0", "size takes a long side from 32 to 2048 px"),
    ("big", "size takes a long side from 32 to 2048 px"),
    ("64x64x64", "size takes a long side from 32 to 2048 px"),
])
def test_refused_sizes_say_what_is_allowed_in_one_line(size, words):
    with pytest.raises(ValueError) as e:
        model_frame(size, (1280, 720), SD)
    assert str(e.value).startswith(words) and "\n" not in str(e.value)


def test_normalize_and_parse():
    assert normalize_size(512) == "512" and normalize_size(512.0) == "512" and normalize_size("768X432") == "768x432"
    for bad in (True, 5.5, None, "-64"):
        with pytest.raises(ValueError):
            normalize_size(bad)
    assert parse_output_size("1280x720") == (1280, 720)


def test_to_model_frame_crops_the_centre_and_never_squashes():
    src = np.zeros((100, 400, 3), np.uint8)  # 4:1
    src[:, 150:250] = 255  # a white square in the middle
    out = to_model_frame(src, 64, 64)
    assert out.shape == (64, 64, 3) and out.min() == 255  # the centre 100x100, all white
    tall = np.zeros((400, 100, 3), np.uint8)
    tall[:100] = 200  # the top quarter is cut away
    assert to_model_frame(tall, 128, 256).shape == (256, 128, 3)
    assert to_model_frame(tall, 128, 256).max() == 0
    same = np.zeros((64, 128, 3), np.uint8)
    assert to_model_frame(same, 128, 64) is same
    near = np.full((721, 1280, 3), 7, np.uint8)  # a pixel off the aspect: resized, not cropped
    assert to_model_frame(near, 512, 288).shape == (288, 512, 3)
