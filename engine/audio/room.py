"""A simple room for the hrtf and head renderers: first-order image sources and a tail.

The room is a shoebox fixed in the world (world origin = the default listener's head).
Each of its six walls mirrors the source once (first-order image sources, Allen &
Berkley 1979); the renderer spatialises each image with the filter of its own
direction, distance gain and delay. After the reflections a diffuse tail follows: two
decorrelated noise sequences (left, right) with an exponential decay that is faster
above 4 kHz, convolved by a uniformly partitioned convolver whose one-partition
latency hides inside the tail's pre-delay, so the room adds no latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .types import SAMPLE_RATE, Pose

TAIL_PARTITION = 512  # samples per tail partition (its latency, inside the pre-delay)


@dataclass(frozen=True)
class ShoeboxRoom:
    """Room size (x, y, z metres), where the world origin sits in it, walls, tail."""

    size: tuple[float, float, float] = (6.0, 5.0, 3.0)
    origin_at: tuple[float, float, float] = (2.6, 2.3, 1.3)  # the head, in room coordinates
    wall_gain: float = 0.7  # pressure reflection coefficient of every wall
    rt60: float = 0.35  # s, reverberation time of the tail (below 4 kHz)
    tail_predelay: float = 0.012  # s after the direct sound where the tail starts
    tail_length: float = 0.30  # s
    direct_to_reverb_db: float = 3.0  # at the 1.4 m reference distance

    def image_sources(self, source: Pose) -> list[Pose]:
        """The six first-order mirror images of ``source`` (world coordinates)."""
        p = np.array([source.x, source.y, source.z]) + np.array(self.origin_at)
        images = []
        for axis in range(3):
            for wall in (0.0, self.size[axis]):
                q = p.copy()
                q[axis] = 2.0 * wall - q[axis]
                q -= np.array(self.origin_at)
                images.append(Pose(float(q[0]), float(q[1]), float(q[2])))
        return images

    def tail(self, ear_energy: float, sample_rate: int = SAMPLE_RATE, seed: int = 1994) -> np.ndarray:
        """The diffuse tail (2, T): zero before the pre-delay, then decaying noise.

        Each ear's energy is ``ear_energy`` less ``direct_to_reverb_db`` (pass the mean
        energy of the direct filter, so the direct-to-reverberant ratio holds at the
        reference distance; it falls with distance since the tail ignores distance).
        """
        from scipy.signal import butter, sosfilt

        rng = np.random.default_rng(seed)
        t0 = int(round(self.tail_predelay * sample_rate))
        n = int(round(self.tail_length * sample_rate))
        t = np.arange(n - t0) / sample_rate
        noise = rng.standard_normal((2, n - t0))
        sos_lo = butter(2, 4000.0, "low", fs=sample_rate, output="sos")
        sos_hi = butter(2, 4000.0, "high", fs=sample_rate, output="sos")
        decay_lo = np.exp(-6.908 * t / self.rt60)  # -60 dB at rt60
        decay_hi = np.exp(-6.908 * t / (0.5 * self.rt60))
        body = sosfilt(sos_lo, noise, axis=-1) * decay_lo + sosfilt(sos_hi, noise, axis=-1) * decay_hi
        rise = np.minimum(1.0, t / 0.004)  # 4 ms fade-in: no step at the pre-delay
        body *= rise
        body *= np.sqrt(ear_energy * 10 ** (-self.direct_to_reverb_db / 10) / np.sum(body**2, axis=-1, keepdims=True))
        out = np.zeros((2, n))
        out[:, t0:] = body
        return out


class PartitionedConvolver:
    """Uniformly partitioned overlap-save convolution of a mono signal with a (2, T) filter.

    The filter must be zero for its first ``partition`` samples: the convolver then
    outputs exactly ``x * h`` for blocks of any length, one partition late internally.
    """

    def __init__(self, h: np.ndarray, partition: int = TAIL_PARTITION):
        b = int(partition)
        if np.any(h[:, :b]):
            raise ValueError("the filter must be silent for its first partition")
        self.b = b
        hs = h[:, b:]
        k = max(1, math.ceil(hs.shape[1] / b))
        hs = np.pad(hs, ((0, 0), (0, k * b - hs.shape[1])))
        parts = hs.reshape(2, k, b).transpose(1, 0, 2)  # (K, 2, B)
        self.spectra = np.fft.rfft(parts, 2 * b, axis=-1).astype(np.complex128)  # (K, 2, B+1)
        self.k = k
        self.reset()

    def reset(self) -> None:
        b = self.b
        self._fdl = np.zeros((self.k, b + 1), dtype=np.complex128)  # newest first
        self._prev = np.zeros(b)
        self._in = np.zeros(0)
        self._out = np.zeros((b, 2))  # one partition of latency, filled with silence

    def process(self, x: np.ndarray) -> np.ndarray:
        """(n,) in, (n, 2) out."""
        b = self.b
        self._in = np.concatenate([self._in, x])
        made = []
        while len(self._in) >= b:
            cur, self._in = self._in[:b], self._in[b:]
            self._fdl = np.roll(self._fdl, 1, axis=0)
            self._fdl[0] = np.fft.rfft(np.concatenate([self._prev, cur]))
            self._prev = cur
            y = np.fft.irfft(np.einsum("kf,kef->ef", self._fdl, self.spectra), 2 * b, axis=-1)
            made.append(y[:, b:].T)
        if made:
            self._out = np.concatenate([self._out, *made])
        n = len(x)
        out, self._out = self._out[:n], self._out[n:]
        return out
