"""How well the live audio output keeps up: what the PortAudio callback counts (xruns,
underruns, callbacks) and what the render thread measures (render time per block and
whether the ring buffer ran low), over a short sliding window.

Each counter has one writer (the callback or the render thread): plain ints and
deques, no lock; readers on other threads take copies.
"""

from __future__ import annotations

import collections

from .types import SAMPLE_RATE


class LoadMonitor:
    def __init__(self, window_blocks: int):
        # bumped by the PortAudio callback only
        self.xruns = self.underruns = self.callbacks = 0
        # appended by the render thread only
        self._load: collections.deque[float] = collections.deque(maxlen=max(4, window_blocks))
        self._low: collections.deque[bool] = collections.deque(maxlen=self._load.maxlen)

    def block_rendered(self, seconds: float, frames: int) -> None:
        """The renderer(s) took ``seconds`` for ``frames`` of sound."""
        self._load.append(seconds * SAMPLE_RATE / frames)

    def buffer_checked(self, low: bool) -> None:
        """Before each block: whether the output buffer was running low."""
        self._low.append(low)

    def restart(self) -> None:
        """Forget the window (a new renderer is measured afresh)."""
        self._load.clear()
        self._low.clear()

    @property
    def window_full(self) -> bool:
        return len(self._load) >= self._load.maxlen

    @property
    def render_load(self) -> float | None:
        """Render time / real time, averaged over the window; None before the first block."""
        load = list(self._load)
        return sum(load) / len(load) if load else None

    @property
    def ran_low(self) -> bool:
        """The buffer was low before more than half of the window's blocks."""
        low = list(self._low)
        return sum(low) > len(low) // 2
