"""Stage metrics: counters and smoothed rates, safe to read from any thread.

Stages report here; the GUI and CLI read :meth:`StageMetrics.summary`.  Nothing
in a hot loop prints.
"""

from __future__ import annotations

import threading
import time


class StageMetrics:
    def __init__(self, name: str, smoothing: float = 0.9):
        self.name = name
        self._a = smoothing
        self._lock = threading.Lock()
        self.started = time.perf_counter()
        self.calls = 0
        self.produced = 0
        self.skipped = 0
        self.ms_avg: float | None = None
        self._last_t: float | None = None
        self.fps: float = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last_t is not None:
            dt = now - self._last_t
            if dt > 0:
                inst = 1.0 / dt
                self.fps = inst if self.fps == 0 else self._a * self.fps + (1 - self._a) * inst
        self._last_t = now

    def done(self, seconds: float, produced: bool = True) -> None:
        with self._lock:
            self.calls += 1
            self.produced += int(produced)
            ms = seconds * 1000.0
            self.ms_avg = ms if self.ms_avg is None else self._a * self.ms_avg + (1 - self._a) * ms
            self._tick()

    def skip(self) -> None:
        with self._lock:
            self.calls += 1
            self.skipped += 1
            self._tick()

    @property
    def skip_rate(self) -> float:
        with self._lock:
            return self.skipped / self.calls if self.calls else 0.0

    def summary(self) -> dict:
        with self._lock:
            return {
                "stage": self.name,
                "calls": self.calls,
                "produced": self.produced,
                "skipped": self.skipped,
                "skip_rate": self.skipped / self.calls if self.calls else 0.0,
                "fps": self.fps,
                "ms": self.ms_avg,
            }
