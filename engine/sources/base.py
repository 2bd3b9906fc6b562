"""What every source shares: open/closed state, a running frame index and deadline pacing.

A paced source keeps a fixed grid of due times (``start + n / fps``) instead of
sleeping one period after each frame, so it does not drift however long each
frame takes to make.  When it falls behind it never sleeps; when it falls more
than one whole period behind (the reader stalled) it re-anchors the grid at the
present instead of bursting out the missed frames.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from engine.live.contracts import Frame, SourceError, now


class EndOfStream(SourceError):
    """A source that does not loop has delivered its last frame.

    It is a :class:`SourceError` (so code that only knows the contract still stops
    reading), but a caller that wants to finish cleanly at the end of a file (an
    offline render) can catch this one apart from real failures.
    """


def check_fps(fps: float, what: str = "fps") -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise SourceError(f"{what} must be a number, not {fps!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 1000:
        raise SourceError(f"{what} must be between 0 and 1000 frames per second, not {fps!r}")
    return value


class FramePacer:
    """Deadline schedule at ``fps``: :meth:`wait` returns when the next frame is due."""

    def __init__(self, fps: float):
        self.period = 1.0 / check_fps(fps)
        self._due: float | None = None
        self.late_frames = 0  # frames that were already late when asked for

    def reset(self) -> None:
        """Start a new schedule: the next frame is due at once."""
        self._due = None

    def wait(self, interrupt: threading.Event | None = None) -> bool:
        """Block until the next frame is due; False if ``interrupt`` was set meanwhile."""
        t = now()
        if self._due is None:
            self._due = t
        delay = self._due - t
        if delay > 0:
            if interrupt is not None:
                if interrupt.wait(delay):
                    return False
            else:
                time.sleep(delay)
        elif delay < -self.period:
            # More than a frame behind: start the grid again from now, no burst.
            self.late_frames += 1
            self._due = t
        elif delay < 0:
            self.late_frames += 1
        self._due += self.period
        return True


class BaseSource:
    """Shared state for the concrete sources (not part of the contract)."""

    name = "source"

    def __init__(self) -> None:
        self._lock = threading.RLock()  # guards the device/file handle
        self._closing = threading.Event()  # set by close(): wakes a read() that waits for its due time
        self._is_open = False
        self._index = 0  # running frame number over the source's whole life (loops and re-opens included)
        self._failure: str | None = None  # why the source stopped, repeated by read() until open() again

    @property
    def is_open(self) -> bool:
        return self._is_open

    def _require_open(self) -> None:
        if not self._is_open:
            raise SourceError(self._failure or f"{self.name} is not open: call open() first")

    def _fail(self, message: str) -> SourceError:
        """Mark the source failed (closed, remembering why) and return the error to raise."""
        self._failure = message
        self._is_open = False
        self._release()
        return SourceError(message)

    def close(self) -> None:
        """Release the device or file; wakes a read() waiting for its due time. Safe to call twice."""
        self._closing.set()
        with self._lock:
            self._is_open = False
            self._release()

    def _release(self) -> None:
        """Let go of the device or file handle (subclasses that hold one override this)."""

    def _frame(self, rgb: np.ndarray, captured_at: float | None = None) -> Frame:
        frame = Frame(image=rgb, captured_at=now() if captured_at is None else captured_at, index=self._index)
        self._index += 1
        return frame

    def availability(self) -> str | None:
        """None when this source can run here, else what the user can do about it."""
        return None

    def describe(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {'open' if self._is_open else 'closed'}>"

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
