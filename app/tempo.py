"""Tempo: the BPM (a registry parameter), tap tempo and the beat clock.

The BPM lives in the registry (``bpm``), so the GUI, OSC and MIDI all see and set
the same value; this object adds what a number cannot hold: the beat phase.

Tap rules:

* the BPM is 60 / the mean of the last (up to ``window``, default 8) intervals;
  two taps give a first estimate, each further tap refines it;
* a pause of more than ``reset_after`` (2 s) starts a new tap sequence;
* a tap closer than the fastest tempo allows (60 / max bpm: 0.2 s at 300 BPM) is a
  bounce and ignored;
* an interval more than 50 % away from the running mean (after 2 intervals) means
  the tempo changed: the history restarts from that interval.

Phase: the beat clock counts beats from an origin (a time on the ``clock``, by
default ``time.monotonic``).  Tapping sets it: the first tap of a sequence is beat 1
of a bar, and the origin is re-anchored on every tap to the latest one (the most
accurate).  A BPM change from anywhere else keeps the running beat count continuous.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any, Callable

from engine.params.registry import ParamStore

QUANTIZE_KINDS = ("none", "beat", "bar")


class Tempo:
    def __init__(
        self,
        store: ParamStore,
        clock: Callable[[], float] = time.monotonic,
        window: int = 8,
        reset_after: float = 2.0,
        source: Any = "tempo",
    ):
        self.store = store
        self.clock = clock
        self.window = window
        self.reset_after = reset_after
        self.source = source
        spec = store.spec("bpm")
        self.min_bpm = spec.minimum or 1.0
        self.max_bpm = spec.maximum or 1000.0
        self._lock = threading.RLock()
        self._taps: list[float] = []  # times of the current sequence's taps (the last window+1)
        self._intervals: deque[float] = deque(maxlen=window)
        self._taps_in_sequence = 0
        self._origin = clock()
        self._bpm = float(store.get("bpm"))
        self._unsubscribe: Callable[[], None] | None = None
        self.attach()

    # -- registry ---------------------------------------------------------------------
    def attach(self) -> None:
        """Follow the registry: ``tap`` triggers (OSC, MIDI) and BPM changes.  Called by the constructor."""
        with self._lock:
            if self._unsubscribe is None:
                self._bpm = float(self.store.get("bpm"))
                self._unsubscribe = self.store.subscribe(self._on_change)

    def detach(self) -> None:
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

    def _on_change(self, name: str, value: Any, source: Any) -> None:
        if name == "tap" and value:
            self.tap()
        elif name == "bpm":
            self._rebase(float(value), self.clock())

    def _rebase(self, bpm: float, now: float) -> None:
        """Keep the beat count continuous across a tempo change."""
        with self._lock:
            if bpm == self._bpm:
                return
            beats = (now - self._origin) * self._bpm / 60.0
            self._origin = now - beats * 60.0 / bpm
            self._bpm = bpm

    # -- tapping ----------------------------------------------------------------------
    def tap(self, now: float | None = None) -> float | None:
        """One tap.  Returns the new BPM once there is one (from the second tap on), else None."""
        now = self.clock() if now is None else now
        with self._lock:
            last = self._taps[-1] if self._taps else None
            if last is not None and now - last < 60.0 / self.max_bpm:
                return None  # a bounce
            if last is None or now - last > self.reset_after or now < last:
                self._taps, self._taps_in_sequence = [now], 1
                self._intervals.clear()
                return None
            interval = now - last
            if len(self._intervals) >= 2:
                mean = sum(self._intervals) / len(self._intervals)
                if abs(interval - mean) > 0.5 * mean:
                    self._intervals.clear()  # the tempo changed: start over from this interval
            self._intervals.append(interval)
            self._taps = (self._taps + [now])[-(self.window + 1):]
            self._taps_in_sequence += 1
            period = sum(self._intervals) / len(self._intervals)
            bpm = min(self.max_bpm, max(self.min_bpm, 60.0 / period))
            taps_in_sequence = self._taps_in_sequence
        self.store.set("bpm", round(bpm, 2), source=self.source)  # listeners run outside our lock
        beats_per_bar = int(self.store.get("beats_per_bar"))
        with self._lock:
            # the latest tap is a beat; the sequence's first tap was beat 1 of a bar
            self._bpm = float(self.store.get("bpm"))
            self._origin = now - ((taps_in_sequence - 1) % beats_per_bar) * 60.0 / self._bpm
            return self._bpm

    # -- beat clock -------------------------------------------------------------------
    @property
    def bpm(self) -> float:
        with self._lock:
            return self._bpm

    @property
    def origin(self) -> float:
        """A time (on ``clock``) that falls on beat 1 of a bar."""
        with self._lock:
            return self._origin

    def set_origin(self, t: float | None = None) -> None:
        """Make ``t`` (default: now) beat 1 of a bar (a 'sync' button)."""
        with self._lock:
            self._origin = self.clock() if t is None else t

    def period(self, kind: str = "beat") -> float:
        if kind not in ("beat", "bar"):
            raise ValueError(f"kind is 'beat' or 'bar', not {kind!r}")
        with self._lock:
            beat = 60.0 / self._bpm
        return beat * int(self.store.get("beats_per_bar")) if kind == "bar" else beat

    def next_boundary(self, kind: str, now: float | None = None, lookahead_s: float = 0.0) -> float:
        """When to act so that the effect lands on the next beat or bar boundary.

        Returns ``B - lookahead_s`` for the first boundary ``B`` with ``B - lookahead_s >= now``
        (``now`` itself when it lies on such a time).  ``kind`` 'none' returns ``now``."""
        now = self.clock() if now is None else now
        if kind not in QUANTIZE_KINDS:
            raise ValueError(f"kind is one of {', '.join(QUANTIZE_KINDS)}, not {kind!r}")
        if kind == "none":
            return now
        period = self.period(kind)
        origin = self.origin
        k = math.ceil((now + lookahead_s - origin) / period - 1e-9)
        return origin + k * period - lookahead_s
