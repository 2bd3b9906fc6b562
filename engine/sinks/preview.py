"""A preview tap: keeps the newest output frame for the GUI (or a test) to read."""

from __future__ import annotations

import threading

import numpy as np


class PreviewSink:
    def __init__(self, name: str = "preview"):
        self.name = name
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None
        self._t: float | None = None
        self.count = 0

    def availability(self) -> str | None:
        """Always available: it only keeps a reference to the newest frame."""
        return None

    def open(self, width: int, height: int, fps: float) -> None:
        self.size = (width, height)

    def send(self, image: np.ndarray, timestamp: float) -> None:
        with self._lock:
            self._image, self._t = image, timestamp
            self.count += 1

    def latest(self) -> tuple[np.ndarray | None, float | None]:
        with self._lock:
            return self._image, self._t

    def close(self) -> None:
        pass
