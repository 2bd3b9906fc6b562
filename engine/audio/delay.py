"""A mono input history with fractional, gliding read taps (propagation delay, Doppler).

Each sound path (the direct sound, each wall reflection) reads the shared input
history at its own delay. Delays and gains glide linearly across a block from where
the previous block left them, and the delay moves at most ``MAX_SLOPE`` samples per
sample, so a jump in distance becomes a short pitch glide (Doppler), never a click.
Reads use a 16-tap Kaiser-windowed sinc (flat within 0.05 dB to 20 kHz at every
fraction; used for the direct sound) or a cheap 4-point third-order Lagrange
interpolator (room reflections). A delay must be at least ``MIN_DELAY`` samples so
that neither needs a sample from the future.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

SINC_TAPS = 16
MIN_DELAY = SINC_TAPS / 2  # samples: the sinc read needs SINC_TAPS/2 samples after the read point
MAX_SLOPE = 0.1  # samples of delay change per sample (a source moving at c/10)
_FRACTIONS = 4096  # table resolution of the sinc read (1/4096 sample)
_KAISER_BETA = 4.0


def _sinc_table() -> tuple[np.ndarray, np.ndarray]:
    """Tap offsets (T,) and weights (_FRACTIONS + 1, T): x(j + f) ~ sum_k w[f, k] x[j + k]."""
    k = np.arange(-SINC_TAPS // 2 + 1, SINC_TAPS // 2 + 1)
    f = np.arange(_FRACTIONS + 1) / _FRACTIONS
    t = k[None, :] - f[:, None]
    win = np.i0(_KAISER_BETA * np.sqrt(np.clip(1 - (t / (SINC_TAPS / 2)) ** 2, 0, 1))) / np.i0(_KAISER_BETA)
    return k, np.sinc(t) * win


_OFFSETS, _TABLE = _sinc_table()


class InputHistory:
    """The last ``capacity`` input samples plus the block being processed."""

    def __init__(self, max_delay: float):
        self.capacity = int(np.ceil(max_delay)) + 4
        self.reset()

    def reset(self) -> None:
        self._hist = np.zeros(self.capacity, dtype=np.float64)
        self.full = self._hist
        self.n = 0

    @property
    def max_delay(self) -> float:
        return float(self.capacity - 4)

    def push(self, block: np.ndarray) -> None:
        """Append a block; ``read`` then addresses this block's samples."""
        self.full = np.concatenate([self._hist, np.asarray(block, dtype=np.float64)])
        self.n = len(block)
        self._hist = self.full[-self.capacity:]

    def read(self, delays: np.ndarray, sinc: bool = True) -> np.ndarray:
        """Samples at ``delays`` (P, n) samples before each of this block's samples."""
        d = np.clip(delays, MIN_DELAY, self.max_delay)
        pos = (self.capacity + np.arange(self.n))[None, :] - d
        j = np.floor(pos).astype(np.int64)
        f = pos - j
        x = self.full
        if sinc:
            return self._read_sinc(d, j, f)
        xm1, x0, x1, x2 = x[j - 1], x[j], x[j + 1], x[j + 2]
        fm1, fp1, fm2 = f - 1.0, f + 1.0, f - 2.0
        return (
            -f * fm1 * fm2 / 6.0 * xm1
            + fp1 * fm1 * fm2 / 2.0 * x0
            - fp1 * f * fm2 / 2.0 * x1
            + fp1 * f * fm1 / 6.0 * x2
        )


    def _read_sinc(self, d: np.ndarray, j: np.ndarray, f: np.ndarray) -> np.ndarray:
        q = np.rint(f * _FRACTIONS).astype(np.int64)
        out = np.empty(d.shape)
        windows = None
        for p in range(d.shape[0]):
            if d[p, 0] == d[p, -1] and np.all(d[p] == d[p, 0]):  # static: one FIR over the block
                lo = j[p, 0] + _OFFSETS[0]
                out[p] = np.correlate(self.full[lo:lo + self.n + SINC_TAPS - 1], _TABLE[q[p, 0]], mode="valid")
            else:
                if windows is None:  # (len - T + 1, T) strided view, no copy
                    x = self.full
                    windows = as_strided(x, (len(x) - SINC_TAPS + 1, SINC_TAPS), (x.strides[0], x.strides[0]),
                                         writeable=False)
                out[p] = np.einsum("nt,nt->n", windows[j[p] + _OFFSETS[0]], _TABLE[q[p]])
        return out


class Glide:
    """A value (delay or gain) that moves linearly across each block towards its target."""

    def __init__(self, max_step_per_sample: float | None = None):
        self.max_step = max_step_per_sample
        self.value: float | None = None

    def reset(self) -> None:
        self.value = None

    def ramp(self, target: float, n: int) -> np.ndarray:
        """The value at each of the next ``n`` samples, ending at (or towards) ``target``."""
        if self.value is None:  # first block: start where asked, nothing to glide from
            self.value = float(target)
            return np.full(n, self.value)
        start = self.value
        end = float(target)
        if self.max_step is not None:
            end = start + float(np.clip(end - start, -self.max_step * n, self.max_step * n))
        self.value = end
        if end == start:
            return np.full(n, start)
        return start + (end - start) * (np.arange(1, n + 1) / n)
