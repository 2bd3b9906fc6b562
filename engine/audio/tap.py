"""What the show's audio engine plays, stamped with when it is heard: the sound a recording takes.

One clock for pictures and sound: ``time.monotonic()`` (``engine.live.contracts.now``). Video frames
reach a recorder stamped with their output time; the sound reaches it stamped with the time its
first sample is *heard*:

    heard = now + (output ring fill before the write) / 48000 + the output stream's latency

measured in the render thread when a rendered block (after gain and the A/V delay: what the show
plays) goes into the output ring. :class:`HeardClock` smooths that measurement; :class:`AudioTap`
carries the stamped blocks from the render thread to one reader (a recorder's thread) without a lock:
the samples in a :class:`~engine.audio.ring.RingBuffer`, the stamps in a deque (CPython's ``append``
and ``popleft`` are atomic). The render thread never waits for a reader: when the tap is full
(nobody drained it for seconds) the block is dropped and counted, and the reader sees the gap in the
stamps.
"""

from __future__ import annotations

import collections

import numpy as np

from .ring import RingBuffer
from .types import SAMPLE_RATE


class HeardClock:
    """When the first sample of the next block the render thread writes will be heard.

    The measurement jumps by PortAudio's callback gulps (the ring drains a callback's worth at once),
    but blocks written one after the other are heard exactly one block apart on the sound card's
    clock. So the clock predicts (the previous block's time plus its length), moves a small part
    (``gain``) of the way toward each measurement (following the drift between the sound card and the
    system clock), and snaps to the measurement when the two are more than ``snap_s`` apart: a stream
    that (re)started, an underrun, a stall.
    """

    def __init__(self, rate: int = SAMPLE_RATE, gain: float = 0.05, snap_s: float = 0.04):
        self.rate, self.gain, self.snap_s = rate, gain, snap_s
        self._next: float | None = None  # the predicted time of the next block
        self.snaps = 0

    def block(self, now: float, fill: int, latency: float, n: int) -> float:
        """The heard time of a block of ``n`` samples written now behind ``fill`` waiting ones."""
        measured = now + fill / self.rate + latency
        pred = self._next
        if pred is None or abs(measured - pred) > self.snap_s:
            heard = measured
            self.snaps += 1
        else:
            heard = pred + self.gain * (measured - pred)
        self._next = heard + n / self.rate
        return heard

    def reset(self) -> None:
        self._next = None


class AudioTap:
    """Stamped stereo blocks from the render thread (:meth:`push`) to one reader (:meth:`pull`)."""

    def __init__(self, seconds: float = 5.0, channels: int = 2, rate: int = SAMPLE_RATE):
        self.rate, self.channels = rate, channels
        self.ring = RingBuffer(max(1, int(seconds * rate)), channels)
        self._stamps: collections.deque[tuple[float, int]] = collections.deque()
        self.dropped = 0  # samples the reader did not take in time (dropped whole blocks)
        self.pushed = 0  # samples that went in
        self.closed = False  # set when the engine lets go of it (the reader may still drain it)

    # -- the render thread -----------------------------------------------------------------
    def push(self, block: np.ndarray, heard_at: float) -> None:
        """One rendered block ((n, channels) float32) whose first sample is heard at ``heard_at``."""
        n = len(block)
        if n == 0:
            return
        if self.ring.free < n:
            self.dropped += n
            return
        self.ring.write(block)
        self._stamps.append((heard_at, n))  # after the samples: the reader never finds a stamp without them
        self.pushed += n

    # -- the reader ------------------------------------------------------------------------------
    def pull(self) -> list[tuple[float, np.ndarray]]:
        """Every block pushed since the last pull: (heard time of its first sample, (n, channels) float32)."""
        out = []
        stamps = self._stamps
        while stamps:
            heard, n = stamps.popleft()
            out.append((heard, self.ring.read(n)))
        return out
