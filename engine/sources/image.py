"""A still image repeated at a steady frame rate."""

from __future__ import annotations

import os
from pathlib import Path

from engine.live.contracts import Frame, SourceError
from engine.media.files import MediaError, read_image
from engine.sources.base import BaseSource, FramePacer, check_fps


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
        return None

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
