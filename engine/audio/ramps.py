"""Click-free level and delay changes for the live audio engine: gain ramps and a
crossfading A/V delay line, both working block by block on (n, 2) float32 audio."""

from __future__ import annotations

import numpy as np


def wrap180(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


class GainRamp:
    """Per-sample linear gain that moves to each new target over a fixed time (no clicks)."""

    def __init__(self, ramp_frames: int, gain: float = 1.0):
        self.n = max(1, ramp_frames)
        self.value = self.start = self.target = gain
        self.pos = self.n

    def gains(self, target: float, frames: int) -> np.ndarray | float:
        if target != self.target:
            self.start, self.target, self.pos = self.value, target, 0
        if self.pos >= self.n:
            return self.target
        t = np.minimum((self.pos + np.arange(1, frames + 1)) / self.n, 1.0)
        g = (self.start + (self.target - self.start) * t).astype(np.float32)[:, None]
        self.pos += frames
        self.value = float(g[-1, 0])
        return g


class DelayLine:
    """A stereo delay whose length changes by crossfading between two taps."""

    def __init__(self, max_frames: int, block: int, fade_frames: int):
        self.size = max_frames + 2 * block + 1
        self.buf = np.zeros((self.size, 2), np.float32)
        self.w = 0
        self.cur = self.target = 0
        self.fade_n, self.fade_pos, self.fade_from = max(1, fade_frames), 0, 0
        self.max_frames = max_frames

    def _tap(self, start: int, d: int, n: int) -> np.ndarray:
        return self.buf[(start - d + np.arange(n)) % self.size]

    def process(self, x: np.ndarray, delay: int) -> np.ndarray:
        n = len(x)
        start = self.w
        self.buf[(start + np.arange(n)) % self.size] = x
        self.w = (start + n) % self.size
        delay = int(min(max(delay, 0), self.max_frames))
        if self.fade_pos == 0 and delay != self.cur:  # start a fade (a change during one waits for it to end)
            self.fade_from, self.cur, self.fade_pos = self.cur, delay, 1
        if self.fade_pos == 0:
            return x.copy() if self.cur == 0 else self._tap(start, self.cur, n)
        r = np.minimum((self.fade_pos - 1 + np.arange(1, n + 1)) / self.fade_n, 1.0).astype(np.float32)[:, None]
        out = self._tap(start, self.fade_from, n) * (1 - r) + self._tap(start, self.cur, n) * r
        self.fade_pos += n
        if self.fade_pos > self.fade_n:
            self.fade_pos = 0
        return out
