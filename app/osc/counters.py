"""Counters and rate-limited warnings for the OSC surface.

A hostile or broken peer can send thousands of bad packets a second; each is counted
(``stats`` for the GUI and metrics) but the log gets at most one line per category per
``interval`` seconds, with how many were folded into it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter


class Counters:
    """Thread-safe named counters; ``snapshot()`` is a plain dict copy."""

    def __init__(self, names: tuple[str, ...] = ()):
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter({n: 0 for n in names})

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class RateLimitedLog:
    """``warn(category, message)`` logs at most once per ``interval`` s per category."""

    def __init__(self, logger: logging.Logger, interval: float = 5.0):
        self.logger = logger
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._folded: Counter[str] = Counter()

    def warn(self, category: str, message: str, *, exc_info: bool = False) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(category)
            if last is not None and now - last < self.interval:
                self._folded[category] += 1
                return False
            self._last[category] = now
            folded = self._folded.pop(category, 0)
        more = f" (and {folded} more like it in the last {self.interval:g} s)" if folded else ""
        self.logger.warning("%s: %s%s", category, message, more, exc_info=exc_info)
        return True
