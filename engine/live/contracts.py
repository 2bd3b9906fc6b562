"""What flows through the live pipeline, and the two plug-in shapes: sources and sinks.

A *source* yields :class:`Frame` objects (RGB uint8, with the moment of capture);
a *sink* accepts output images.  Each has an availability check that says, in
words a user can act on, why it cannot run here.  Failures are raised as
:class:`SourceError` / :class:`SinkError` with such a message; the pipeline
logs them, holds the show on what still works, and retries. A sink that has ended
for good (a recording whose disk filled: reopening it would overwrite what it saved)
raises :class:`SinkFinished`: reported once, never reopened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


def now() -> float:
    """The pipeline's clock: monotonic seconds."""
    return time.monotonic()


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # HxWx3 uint8 RGB
    captured_at: float  # now() when the frame was captured
    index: int = 0  # the source's running frame number


class SourceError(Exception):
    """A source cannot deliver; the message says what to do."""


class SinkError(Exception):
    """A sink cannot take frames; the message says what to do."""


class SinkFinished(SinkError):
    """A sink has ended for good (what it made is kept); it is not reopened. The message says what happened."""


@runtime_checkable
class Source(Protocol):
    name: str  # e.g. "camera:0", "file:clip.mp4", "pattern"

    def availability(self) -> str | None:
        """None when this source can run here, else a sentence the user can act on ("no camera at /dev/video0: ...")."""

    def open(self) -> None:
        """Acquire the device/file; raise SourceError with a fix when impossible."""

    def read(self) -> Frame | None:
        """The next frame. A live or paced source blocks until it is due.

        Returns None when no new frame is ready yet (the caller asks again) and
        raises SourceError when the source has failed (unplugged, file gone).
        """

    def close(self) -> None:
        """Release everything; safe to call twice."""


@runtime_checkable
class Sink(Protocol):
    name: str  # e.g. "virtual camera", "recorder:out.mp4", "preview"

    def availability(self) -> str | None:
        """None when this sink can run here, else a sentence the user can act on ("load v4l2loopback: ...")."""

    def open(self, width: int, height: int, fps: float) -> None:
        """Prepare for frames of this size and rate; raise SinkError with a diagnosis."""

    def send(self, image: np.ndarray, timestamp: float) -> None:
        """Take one HxWx3 uint8 RGB image of the opened size; raise SinkError on failure."""

    def close(self) -> None:
        """Release everything; safe to call twice."""

    # optional: ``idle()``, called by the sink's thread when no frame came for a moment (a recorder drains its
    # sound there); ``notice``, a line to report once after ``open`` (a hardware encoder that fell back)
