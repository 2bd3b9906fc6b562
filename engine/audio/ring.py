"""A single-producer / single-consumer ring buffer of audio frames in numpy.

One thread writes (the audio render thread), one thread reads (the PortAudio
callback). There is no lock: each side owns one counter and only ever advances
it after its copy is done, so the other side never sees half-written frames.
Under CPython a plain int attribute store is atomic, which is all this needs.
The counters run on for ever (Python ints do not wrap); positions in the
array are the counters modulo the capacity.

``read_into`` allocates no sample buffers: it copies straight into the array
PortAudio hands the callback and zero-fills whatever the ring could not supply.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    def __init__(self, capacity: int, channels: int = 2, dtype=np.float32):
        if capacity < 1:
            raise ValueError(f"a ring buffer needs room for at least one frame; got {capacity}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=dtype)
        self._written = 0  # frames ever written: advanced by the producer only
        self._read = 0  # frames ever read: advanced by the consumer only

    # -- either side -----------------------------------------------------------------
    @property
    def fill(self) -> int:
        """Frames waiting to be read."""
        return self._written - self._read

    @property
    def free(self) -> int:
        return self.capacity - self.fill

    # -- producer --------------------------------------------------------------------
    def write(self, frames: np.ndarray) -> int:
        """Append as many of ``frames`` ((n, channels) or (n,) for one channel) as fit; return how many."""
        frames = np.asarray(frames)
        if frames.ndim == 1:
            frames = frames.reshape(-1, 1)
        n = min(len(frames), self.capacity - (self._written - self._read))
        if n <= 0:
            return 0
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start:start + first] = frames[:first]
        if n > first:
            self._buf[: n - first] = frames[first:n]
        self._written += n  # publish only after the copy
        return n

    # -- consumer --------------------------------------------------------------------
    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` ((n, channels)) from the ring; frames the ring lacks become zeros. Return frames read."""
        want = len(out)
        n = min(want, self._written - self._read)
        if n > 0:
            start = self._read % self.capacity
            first = min(n, self.capacity - start)
            out[:first] = self._buf[start:start + first]
            if n > first:
                out[first:n] = self._buf[: n - first]
            self._read += n  # release the space only after the copy
        else:
            n = 0
        if n < want:
            out[n:] = 0
        return n

    def read(self, n: int) -> np.ndarray:
        """Read up to ``n`` frames into a new array (for the non-real-time side of an input ring)."""
        out = np.empty((min(n, self.fill), self.channels), dtype=self._buf.dtype)
        got = self.read_into(out)
        return out[:got]

    def discard(self, n: int | None = None) -> int:
        """Drop up to ``n`` waiting frames (all of them when ``n`` is None), from the consumer side."""
        k = self.fill if n is None else max(0, min(n, self.fill))
        self._read += k
        return k
