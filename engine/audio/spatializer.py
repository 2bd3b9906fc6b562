"""The machinery the hrtf and head renderers share: paths, delays, crossfades, room.

A renderer here is a *filter set* (measured HRIRs or the spherical-head model) plus
this engine. Per block:

* the direct sound: each ear reads the input history at its own delay (propagation
  delay for the distance plus that ear's onset: the interaural time difference), with
  the distance gain; delays and gains glide from the previous block (Doppler, no
  clicks). Each ear's signal is convolved with the onset-aligned filter for the
  current direction (overlap-save, zero latency). When the direction changes, the old
  and the new filter both run over the block and the output crossfades linearly.
* with ``room`` on, six first-order image sources, each read at its own delay and
  gain and filtered with the (nearest) filter of its own direction, delay included;
  plus a diffuse tail fed with the direct path's delayed signal. Turning the room on
  or off fades it in or out over ``ROOM_FADE`` samples.

Blocks of any length: a static source gives the same output however the signal is cut.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from .delay import MAX_SLOPE, Glide, InputHistory
from .hrir import MIN_DISTANCE, distance_gain, propagation_delay_samples
from .room import PartitionedConvolver, ShoeboxRoom
from .types import LISTENER, BinauralRenderer, Pose, relative_direction

from .types import LIVE_BLOCK  # noqa: E402  (the live engine's block size, shared by every renderer)
ROOM_FADE = 2048  # samples to fade the room in or out
MAX_PATH_DISTANCE = 60.0  # m: longest path the input history holds (image sources included)
_SAME_DIRECTION = math.cos(math.radians(0.01))  # closer than this: keep the filter


class FilterSet(Protocol):
    aligned_length: int  # taps of an onset-aligned filter
    length: int  # taps of a filter with its onset delay included
    mean_energy: float  # mean energy of one ear's filter

    def interpolate_aligned(self, azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray]: ...

    def quantized(self, azimuth: float, elevation: float) -> tuple[object, np.ndarray]: ...


def _unit(az: float, el: float) -> np.ndarray:
    a, e = math.radians(az), math.radians(el)
    return np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


def _nfft(n: int) -> int:
    return 1 << (n - 1).bit_length()


class FilterBank:
    """Overlap-save convolution of C channel signals, crossfading filter changes.

    ``diagonal``: channel e feeds ear e with filter (2, L). Otherwise each channel feeds
    both ears and the filter is (C, 2, L); the ears sum over channels.
    """

    def __init__(self, channels: int, length: int, diagonal: bool):
        self.c, self.length, self.diagonal = channels, length, diagonal
        self.reset()

    def reset(self) -> None:
        self.hist = np.zeros((self.c, self.length - 1))
        self.filt: np.ndarray | None = None
        self._spec: dict[int, np.ndarray] = {}

    def _spectrum(self, filt: np.ndarray, nfft: int, cache: dict | None) -> np.ndarray:
        if cache is not None and nfft in cache:
            return cache[nfft]
        s = np.fft.rfft(filt, nfft, axis=-1)
        if cache is not None:
            cache[nfft] = s
        return s

    def _combine(self, xs: np.ndarray, hs: np.ndarray) -> np.ndarray:
        if self.diagonal:
            return xs * hs
        return np.einsum("cf,cef->ef", xs, hs)

    def run(self, sig: np.ndarray, filt: np.ndarray, changed: bool, crossfade: bool = True) -> np.ndarray:
        """Filter ``sig`` (C, n); returns (2, n). ``changed``: ``filt`` differs from the last."""
        n = sig.shape[1]
        seg = np.concatenate([self.hist, sig], axis=1)
        self.hist = seg[:, seg.shape[1] - (self.length - 1):]
        nfft = _nfft(seg.shape[1])
        xs = np.fft.rfft(seg, nfft, axis=-1)
        start = self.length - 1
        if self.filt is None or not changed:
            if self.filt is None:
                self.filt, self._spec = filt, {}
            y = np.fft.irfft(self._combine(xs, self._spectrum(self.filt, nfft, self._spec)), nfft, axis=-1)
            return y[:, start:start + n]
        old = self._combine(xs, self._spectrum(self.filt, nfft, self._spec))
        self.filt, self._spec = filt, {}
        new = self._combine(xs, self._spectrum(filt, nfft, self._spec))
        y = np.fft.irfft(np.stack([old, new]), nfft, axis=-1)[:, :, start:start + n]
        if not crossfade:
            return y[1]
        ramp = np.arange(1, n + 1) / n
        return y[0] + (y[1] - y[0]) * ramp


class SpatialRenderer(BinauralRenderer):
    """Direct sound plus an optional room, for any filter set; see the module docstring."""

    def __init__(self, filters: FilterSet, room: bool = False, shoebox: ShoeboxRoom | None = None):
        self.filters = filters
        self.room = bool(room)  # toggled live
        self.crossfade = True  # filter crossfades (off only to show what they prevent)
        self.shoebox = shoebox or ShoeboxRoom()
        self.history = InputHistory(propagation_delay_samples(MAX_PATH_DISTANCE))
        self._direct = FilterBank(2, filters.aligned_length, diagonal=True)
        self._reflections = FilterBank(6, filters.length, diagonal=False)
        self._tail = PartitionedConvolver(self.shoebox.tail(filters.mean_energy, self.sample_rate))
        filters.quantized(0.0, 0.0)  # build any reflection-filter table now, not when the room turns on
        self.reset()

    @property
    def latency_samples(self) -> int:
        return 0

    def reset(self) -> None:
        self.history.reset()
        self._direct.reset()
        self._dir_key: np.ndarray | None = None
        self._dir_filter: np.ndarray | None = None
        self._dir_onsets = np.zeros(2)
        self._ear_delay = [Glide(MAX_SLOPE), Glide(MAX_SLOPE)]
        self._gain = Glide()
        self._room_level = 0.0
        self._first = True
        self._reset_room()

    def _reset_room(self) -> None:
        self._reflections.reset()
        self._tail.reset()
        self._ref_keys: list | None = None
        self._ref_filter: np.ndarray | None = None
        self._ref_delay = [Glide(MAX_SLOPE) for _ in range(6)]
        self._ref_gain = [Glide() for _ in range(6)]
        self._ref_cache: tuple | None = None

    def _direct_filter(self, az: float, el: float) -> bool:
        """Update the direct filter for this direction; True when it changed."""
        u = _unit(az, el)
        if self._dir_key is not None and float(u @ self._dir_key) >= _SAME_DIRECTION:
            return False
        ir, onsets = self.filters.interpolate_aligned(az, el)
        self._dir_key, self._dir_filter, self._dir_onsets = u, ir.astype(np.float64), np.asarray(onsets, float)
        return True

    def process(self, mono: np.ndarray, source: Pose, listener: Pose = LISTENER) -> np.ndarray:
        x = np.asarray(mono, dtype=np.float64).reshape(-1)
        n = len(x)
        if n == 0:
            return np.zeros((0, 2), dtype=np.float32)
        self.history.push(x)
        az, el, r = relative_direction(source, listener)
        r = max(r, MIN_DISTANCE)
        changed = self._direct_filter(az, el)
        base = propagation_delay_samples(r)
        delays = np.stack([self._ear_delay[e].ramp(base + self._dir_onsets[e], n) for e in range(2)])
        gain = self._gain.ramp(distance_gain(r), n)
        out = self._direct.run(self.history.read(delays) * gain, self._dir_filter, changed, self.crossfade)

        target = 1.0 if self.room else 0.0
        if self._first:  # a fresh renderer starts with the room as asked, no fade
            self._room_level = target
        self._first = False
        if target > 0.0 or self._room_level > 0.0:
            if self._room_level == 0.0:
                self._reset_room()
            lvl0 = self._room_level
            if lvl0 == target:
                level = np.full(n, lvl0)
            else:  # per-sample fade, the same however the blocks fall
                step = (1.0 if target > lvl0 else -1.0) / ROOM_FADE
                level = np.clip(lvl0 + step * np.arange(1, n + 1), 0.0, 1.0)
            self._room_level = float(level[-1])
            out += self._room(source, listener, n, level)
            # the tail hears the direct path's delayed, undistanced signal
            mid = self.history.read(np.mean(delays, axis=0)[None, :], sinc=False)[0]
            out += self._tail.process(mid * level).T
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def _room(self, source: Pose, listener: Pose, n: int, level: np.ndarray) -> np.ndarray:
        key = (source, listener)
        if self._ref_cache is None or self._ref_cache[0] != key:
            geo = []
            for img in self.shoebox.image_sources(source):
                az, el, r = relative_direction(img, listener)
                r = max(r, MIN_DISTANCE)
                fk, ir = self.filters.quantized(az, el)
                geo.append((fk, ir, propagation_delay_samples(r), self.shoebox.wall_gain * distance_gain(r)))
            self._ref_cache = (key, geo)
        geo = self._ref_cache[1]
        keys = [g[0] for g in geo]
        changed = self._ref_keys is not None and keys != self._ref_keys
        if self._ref_keys is None or changed:
            self._ref_keys = keys
            self._ref_filter = np.stack([g[1] for g in geo]).astype(np.float64)
        delays = np.stack([self._ref_delay[i].ramp(g[2], n) for i, g in enumerate(geo)])
        gains = np.stack([self._ref_gain[i].ramp(g[3], n) for i, g in enumerate(geo)]) * level
        return self._reflections.run(self.history.read(delays, sinc=False) * gains, self._ref_filter, changed, self.crossfade)


def measure_rtf(renderer: BinauralRenderer, seconds: float = 3.0, block: int = LIVE_BLOCK,
                orbit_deg_s: float = 30.0, repeats: int = 3) -> dict:
    """Real-time factor (processing time / audio time) at ``block``, best of ``repeats``:
    wall clock (perf_counter) and this process's CPU time (process_time, less disturbed
    by other programs on a busy machine). The source orbits at ``orbit_deg_s`` (0: static)."""
    import time

    x = np.random.default_rng(0).standard_normal(int(seconds * renderer.sample_rate)).astype(np.float32)
    nb = len(x) // block
    best_wall = best_cpu = math.inf
    for _ in range(repeats):
        renderer.reset()
        renderer.process(x[:block], Pose.from_spherical(0.0, 10.0, 1.4))  # warm-up
        w0, c0 = time.perf_counter(), time.process_time()
        for k in range(nb):
            az = orbit_deg_s * k * block / renderer.sample_rate
            renderer.process(x[k * block:(k + 1) * block], Pose.from_spherical(az, 10.0, 1.4))
        audio = nb * block / renderer.sample_rate
        best_wall = min(best_wall, (time.perf_counter() - w0) / audio)
        best_cpu = min(best_cpu, (time.process_time() - c0) / audio)
    return {"rtf_wall": best_wall, "rtf_cpu": best_cpu, "block": block}
