"""The image source reads an image's size from its header and refuses one of more than
MAX_IMAGE_PIXELS before decoding it (a small file can claim a huge picture)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import engine.sources.image as image_module
from engine.live.contracts import SourceError
from engine.media.files import write_image
from engine.sources import ImageSource


def png_header_only(path, width: int, height: int):
    """A PNG whose header claims width x height (its pixel data is a few bytes: never decoded here)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode the pixels fails the test: the refusal must come from the header."""

    def decode(path):
        raise AssertionError(f"{path} was decoded")

    monkeypatch.setattr(image_module, "read_image", decode)


@pytest.mark.parametrize("width, height, size", [
    (30000, 30000, "900.0 megapixels"),  # the probe's 109 KB PNG that asked for 2.7 GB
    (8000, 7000, "8000x7000 (56.0 megapixels)"),
])
def test_an_image_over_the_cap_is_refused_from_its_header(tmp_path, no_decoding, width, height, size):
    src = ImageSource(png_header_only(tmp_path / "huge.png", width, height))
    problem = src.availability()
    assert problem is not None and size in problem and "at most 50 megapixels" in problem, problem
    assert "scale it down" in problem and "\n" not in problem
    with pytest.raises(SourceError) as e:
        src.open()
    assert str(e.value) == problem
    assert not src.is_open


def test_the_cap_counts_pixels_not_file_size(tmp_path, monkeypatch):
    rgb = np.zeros((40, 60, 3), np.uint8)
    path = tmp_path / "still.png"
    write_image(path, rgb)
    monkeypatch.setattr(image_module, "MAX_IMAGE_PIXELS", 60 * 40 - 1)
    with pytest.raises(SourceError, match=r"60x40 \(0.0 megapixels\).*at most 0.002399 megapixels"):
        ImageSource(path).open()
    monkeypatch.setattr(image_module, "MAX_IMAGE_PIXELS", 60 * 40)
    src = ImageSource(path)
    src.open()  # exactly at the cap: taken
    try:
        assert (src.width, src.height) == (60, 40)
    finally:
        src.close()
