"""A still image repeated at a steady frame rate.

Its size is read from the file's header before anything is decoded: a small file can
claim a huge picture (a 109 KB PNG of 30000x30000 decodes to 2.7 GB), so an image of more
than :data:`MAX_IMAGE_PIXELS` is refused with one line, never decoded.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from PIL import Image

from engine.live.contracts import Frame, SourceError
from engine.media.files import MediaError, read_image
from engine.sources.base import BaseSource, FramePacer, check_fps

MAX_IMAGE_PIXELS = 50_000_000  # 50 megapixels (150 MB as RGB); 8K UHD is 33 megapixels
FORMATS = "PNG, JPEG, BMP, WebP, TIFF"


def image_size_problem(path: str | os.PathLike, max_pixels: int | None = None) -> str | None:
    """Why the image at ``path`` is not taken, from its header alone (nothing is decoded):
    more than ``max_pixels`` (default :data:`MAX_IMAGE_PIXELS`), or not an image Pillow can
    size; None when it may be decoded."""
    path = Path(path)
    max_pixels = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
        pixels = f"{width}x{height} ({width * height / 1e6:.1f} megapixels)"
    except Image.DecompressionBombError as e:  # Pillow's own limit (far above ours) refused it first
        found = re.search(r"\((\d+) pixels\)", str(e))
        width = height = None
        pixels = f"{int(found.group(1)) / 1e6:.1f} megapixels" if found else "far too many pixels"
    except OSError as e:
        if e.errno is not None:  # the file itself could not be read (permissions, I/O)
            return f"cannot read image {path}: {e.strerror or e} (check the path and its permissions)"
        return f"cannot read image {path}: the file is damaged or not an image ({FORMATS})"  # Pillow's refusals
    except (ValueError, SyntaxError, EOFError):
        return f"cannot read image {path}: the file is damaged or not an image ({FORMATS})"
    if width is not None and width * height <= max_pixels:
        return None
    return (f"image {path} is {pixels}; the image source takes at most {max_pixels / 1e6:g} megapixels: "
            "scale it down (e.g. to 3840x2160) and try again")


class ImageSource(BaseSource):
    """The image at ``path`` (PNG, JPEG, BMP, WebP, TIFF), delivered ``fps`` times a second.

    The file is read once by :meth:`open`; each frame is a fresh copy, so a
    consumer may draw on it.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 30):
        super().__init__()
        self.path = Path(path)
        self.fps = check_fps(fps)
        self.name = f"image:{self.path}"
        self._pacer = FramePacer(self.fps)
        self._image = None
        self.width = self.height = 0

    def availability(self) -> str | None:
        if not self.path.exists():
            return f"image file not found: {self.path} (check the path)"
        if not self.path.is_file():
            return f"not a file: {self.path}"
        return image_size_problem(self.path)

    def open(self) -> None:
        with self._lock:
            problem = self.availability()
            if problem:
                raise SourceError(problem)
            try:
                image = read_image(self.path)
            except (MediaError, OSError) as e:
                raise SourceError(str(e)) from None
            self._image = image
            self.height, self.width = image.shape[:2]
            self._closing.clear()
            self._pacer.reset()
            self._is_open = True

    def read(self) -> Frame | None:
        self._require_open()
        if not self._pacer.wait(self._closing):
            return None
        image = self._image
        if image is None:
            return None  # closed meanwhile
        return self._frame(image.copy())

    def _release(self) -> None:
        self._image = None

    def describe(self) -> str:
        size = f" {self.width}x{self.height}" if self.width else ""
        return f"still image {self.path.name}{size} at {self.fps:g} fps"
