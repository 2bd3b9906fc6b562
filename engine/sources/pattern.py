"""The built-in moving test pattern as a live source, paced at its frame rate."""

from __future__ import annotations

from engine.live.contracts import Frame, SourceError
from engine.media.test_pattern import pattern_frame
from engine.sources.base import BaseSource, FramePacer, check_fps


class PatternSource(BaseSource):
    """Colour bars, a sweeping gradient and orbiting discs at ``fps``.

    The pattern's time is the frame number over ``fps``, so motion is smooth and
    the same on every run.  ``static=True`` freezes it (every frame identical),
    which is what the similarity filter should skip.
    """

    def __init__(self, width: int = 512, height: int = 512, fps: float = 30, static: bool = False):
        super().__init__()
        if int(width) < 8 or int(height) < 8:
            raise SourceError(f"test pattern size must be at least 8x8, not {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.fps = check_fps(fps)
        self.static = bool(static)
        self.name = "pattern:static" if self.static else "pattern"
        self._pacer = FramePacer(self.fps)
        self._still = None  # the one frame of a static pattern, made once

    def open(self) -> None:
        with self._lock:
            self._closing.clear()
            self._pacer.reset()
            self._is_open = True

    def read(self) -> Frame | None:
        self._require_open()
        if not self._pacer.wait(self._closing):
            return None  # closed while waiting
        if self.static:
            if self._still is None:
                self._still = pattern_frame(0.0, self.width, self.height, static=True)
            image = self._still.copy()
        else:
            image = pattern_frame(self._index / self.fps, self.width, self.height)
        return self._frame(image)

    def describe(self) -> str:
        kind = "still test pattern" if self.static else "moving test pattern"
        return f"{kind} {self.width}x{self.height} at {self.fps:g} fps"
