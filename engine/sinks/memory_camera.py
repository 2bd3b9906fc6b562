"""An in-memory pyvirtualcam backend, registered through pyvirtualcam's own
``register_backend``: the real ``pyvirtualcam.Camera`` front end (format checks,
conversion, frame counting) with the device replaced by a buffer.  Used by
``bench --pipeline`` to time the virtual-camera path where no device exists."""

from __future__ import annotations

import numpy as np


class MemoryCameraBackend:
    NAME = "dreamdeck-memory"

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "memory"
        self.frames = 0
        self.last: np.ndarray | None = None

    def send(self, frame: np.ndarray) -> None:
        self.last = frame.copy()  # a device write copies the frame out of our buffer too
        self.frames += 1

    def close(self) -> None:
        self.last = None

    def device(self) -> str:
        return self._device

    def native_fourcc(self):
        return self.fourcc


def register_memory_backend() -> str:
    import pyvirtualcam

    pyvirtualcam.register_backend(MemoryCameraBackend.NAME, MemoryCameraBackend)
    return MemoryCameraBackend.NAME
