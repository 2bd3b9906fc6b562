"""Small real parts for live-pipeline tests."""

import threading
import time

import numpy as np

from engine.live.contracts import Frame, SourceError, now


class SolidSource:
    """A paced source of solid-colour frames; can be told to fail and recover."""

    def __init__(self, color=(200, 40, 40), size=(64, 64), fps=60.0, name="solid"):
        self.color, self.size, self.fps, self.name = color, size, fps, name
        self.broken = threading.Event()
        self.opened = 0
        self._next = None
        self._i = 0

    def open(self):
        if self.broken.is_set():
            raise SourceError("solid source unplugged")
        self.opened += 1
        self._next = now()

    def read(self):
        if self.broken.is_set():
            raise SourceError("solid source unplugged")
        delay = self._next - now()
        if delay > 0:
            time.sleep(delay)
        self._next += 1.0 / self.fps
        self._i += 1
        img = np.empty((*self.size[::-1], 3), np.uint8)
        img[:] = self.color
        return Frame(img, now(), self._i)

    def close(self):
        pass


class FailingSink:
    name = "failing"

    def __init__(self):
        self.opens = 0

    def open(self, w, h, fps):
        self.opens += 1

    def send(self, image, t):
        raise RuntimeError("disk on fire")

    def close(self):
        pass


def wait_until(cond, timeout=5.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()
