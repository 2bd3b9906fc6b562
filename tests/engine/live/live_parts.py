"""Small real parts for live-pipeline tests."""

import threading
import time

import numpy as np

from engine.live.contracts import Frame, SourceError, now
from engine.live.pipeline import IdentityStage
from engine.sinks.preview import PreviewSink


class SolidSource:
    """A paced source of solid-colour frames; can be told to fail and recover."""

    def __init__(self, color=(200, 40, 40), size=(64, 64), fps=60.0, name="solid"):
        self.color, self.size, self.fps, self.name = color, size, fps, name
        self.broken = threading.Event()
        self.opened = 0
        self._next = None
        self._i = 0

    def availability(self):
        return "solid source unplugged" if self.broken.is_set() else None

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

    def availability(self):
        return None  # it opens; only its sends fail

    def open(self, w, h, fps):
        self.opens += 1

    def send(self, image, t):
        raise RuntimeError("disk on fire")

    def close(self):
        pass


class GatedStage(IdentityStage):
    """A model stage that inverts its frames (visibly different from the raw input) and can be
    held mid-frame, like a model that stalls: ``hold()``, wait for ``held``, ``release()``."""

    def __init__(self, size=64):
        super().__init__(size)
        self._gate = threading.Event()
        self._gate.set()
        self.held = threading.Event()  # set while a frame waits at the closed gate

    def hold(self):
        self._gate.clear()

    def release(self):
        self._gate.set()

    def process(self, frames):
        if not self._gate.is_set():
            self.held.set()
            self._gate.wait()
            self.held.clear()
        return [255 - f for f in super().process(frames)]


class PixelLog(PreviewSink):
    """A preview that also keeps the top-left pixel of every frame it was sent."""

    def __init__(self, name="pixels"):
        super().__init__(name)
        self.pixels = []

    def send(self, image, timestamp):
        super().send(image, timestamp)
        self.pixels.append(tuple(int(v) for v in image[0, 0]))
