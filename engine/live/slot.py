"""A latest-frame slot: the newest item wins, nothing queues.

Live sources must never build a backlog: when the reader is slower than the
writer, stale items are dropped (and counted) so the reader always gets the
freshest one.  Readers wait for an item newer than the one they had.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self):
        self._cond = threading.Condition()
        self._item: T | None = None
        self._version = 0
        self._taken = 0  # newest version a reader has taken
        self.dropped = 0  # items overwritten before any reader took them

    def put(self, item: T) -> None:
        with self._cond:
            if self._version > self._taken:
                self.dropped += 1
            self._item = item
            self._version += 1
            self._cond.notify_all()

    def get(self, after: int = 0, timeout: float | None = None) -> tuple[T | None, int]:
        """Wait (up to ``timeout``) for an item newer than version ``after``.

        Returns (item, version), or (None, after) on timeout.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._version > after, timeout=timeout):
                return None, after
            self._taken = max(self._taken, self._version)
            return self._item, self._version

    def peek(self) -> tuple[T | None, int]:
        """The newest item without waiting or marking it taken."""
        with self._cond:
            return self._item, self._version

    def clear(self) -> None:
        with self._cond:
            self._item = None
            self._taken = self._version
