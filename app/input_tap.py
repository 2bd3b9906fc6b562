"""A see-through wrapper that lets the GUI show the raw input without touching the engine.

The live pipeline has a preview tap on its output but none on its input.  Rather
than reach into its private slots, the window hands the pipeline a
:class:`TappedSource`: it forwards ``open/read/close`` to the real source and
keeps the newest frame for the input preview (one reference under a lock, no
copy, so the capture thread pays nothing measurable).
"""

from __future__ import annotations

import threading

import numpy as np

from engine.live.contracts import Source


class TappedSource:
    def __init__(self, source: Source):
        self.source = source
        self.name = getattr(source, "name", "source")
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None

    def open(self) -> None:
        self.source.open()

    def read(self):
        frame = self.source.read()
        if frame is not None:
            with self._lock:
                self._image = frame.image
        return frame

    def close(self) -> None:
        self.source.close()

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return self._image

    def describe(self) -> str:
        d = getattr(self.source, "describe", None)
        return d() if d else self.name

    def availability(self) -> str | None:
        return self.source.availability()  # every Source has one (engine.live.contracts)
