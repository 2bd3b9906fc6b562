"""A still image repeated at a steady rate."""

import numpy as np
import pytest

from engine.live.contracts import SourceError
from engine.media.files import write_image
from engine.sources import ImageSource


@pytest.fixture
def png(tmp_path):
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (255, 0, 0)  # red left half
    rgb[:, 30:] = (0, 0, 255)  # blue right half
    path = tmp_path / "still.png"
    write_image(path, rgb)
    return path, rgb


def test_repeats_the_image_as_rgb_at_fps(png, virtual_time):
    path, rgb = png
    src = ImageSource(path, fps=20)
    assert src.name == f"image:{path}" and src.availability() is None
    src.open()
    try:
        frames = [src.read() for _ in range(10)]
    finally:
        src.close()
        src.close()
    times = [f.captured_at - frames[0].captured_at for f in frames]
    assert times == pytest.approx([k * 0.05 for k in range(10)])  # the first at once, then every 50 ms
    assert [f.index for f in frames] == list(range(10))
    for f in frames:
        assert f.image.dtype == np.uint8 and np.array_equal(f.image, rgb)
    frames[0].image[:] = 0  # a consumer may draw on its frame; the next one is untouched
    assert np.array_equal(frames[1].image, rgb)
    assert "60x40" in src.describe()


def test_missing_file_is_a_source_error(tmp_path):
    src = ImageSource(tmp_path / "nope.png")
    assert "not found" in src.availability()
    with pytest.raises(SourceError, match="not found"):
        src.open()


def test_unreadable_file_is_a_source_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a picture")
    with pytest.raises(SourceError, match="cannot read image"):
        ImageSource(bad).open()
    with pytest.raises(SourceError, match="not open"):
        ImageSource(bad).read()
