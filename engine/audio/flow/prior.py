"""The flow's prior: the anechoic HRTF render plus the room's first-order reflections.

BinauralFlow starts its flow from the mono spectrum (plus a little noise).  Here it
starts from a physically placed render instead: the KEMAR HRTF render of the direct
path and, with the room on, the image sources of the room the renderer is told about
(``Room`` of :mod:`engine.audio.simulate`), up to ``order`` reflections (1: the six
walls), computed by the simulator's own image-source code
(:func:`engine.audio.simulate.early_reflections`), so these early reflections are
exact for a static source.  Everything else of the room -- higher orders, the diffuse
tail -- is left to the learned flow.

Streaming: the reflections' filter (one mono-to-binaural FIR of fixed length for the
room) is recomputed when the pose changes and runs as an overlap-save convolution that
crossfades from the old filter to the new one over the block, as the HRTF renderer's
own filters do.  For a static source the streamed prior equals :func:`prior_offline`.
"""

from __future__ import annotations

import math

import numpy as np

from ..types import LISTENER, BinauralRenderer, Pose


def reflection_length(room, hset=None) -> int:
    """Taps of the reflection filter for ``room``: every first-order image of a source inside the
    room lies within twice the room's diagonal of the listener; plus two HRIR lengths."""
    from ..hrir import HrirSet, propagation_delay_samples

    hset = hset or HrirSet.load_default()
    far = 2.0 * math.sqrt(sum(d * d for d in room.dims))
    return int(math.ceil(float(propagation_delay_samples(far)))) + 2 * hset.length + 4


def reflection_filter(room, source: Pose, listener: Pose = LISTENER, order: int = 1, length: int | None = None) -> np.ndarray:
    """(2, length) float64: the image sources of ``room`` up to ``order`` (no direct path, no tail)."""
    from ..simulate import early_reflections

    return early_reflections(room, source, listener, max_order=order, length=length or reflection_length(room))


def prior_offline(mono: np.ndarray, source: Pose, listener: Pose = LISTENER, room=None, order: int = 1) -> np.ndarray:
    """The prior for a whole signal (n, 2) float32: anechoic render, plus the reflections when ``room`` is given."""
    from ..simulate import _convolve, anechoic

    out = anechoic(np.asarray(mono, np.float32), source, listener).astype(np.float64)
    if room is not None and order > 0:
        out += _convolve(np.asarray(mono, np.float64), reflection_filter(room, source, listener, order))
    return out.astype(np.float32)


class PriorRenderer:
    """Streaming prior: direct HRTF render + (room on) the room's image sources up to ``order``."""

    def __init__(self, order: int = 1, room=None, direct: BinauralRenderer | None = None):
        from ..hrtf import HrtfRenderer

        self.direct = direct if direct is not None else HrtfRenderer(room=False)
        self.order = int(order)
        self._bank = None
        self._geometry = None
        self.geometry = room
        self.reset()

    @property
    def geometry(self):
        """The room whose reflections the prior adds (None: anechoic)."""
        return self._geometry

    @geometry.setter
    def geometry(self, room) -> None:
        from ..spatializer import FilterBank

        if room == self._geometry and (self._bank is not None or room is None):
            return
        self._geometry = room
        self._bank = FilterBank(1, reflection_length(room), diagonal=False) if room is not None and self.order > 0 else None
        self._key = None

    @property
    def latency_samples(self) -> int:
        return int(self.direct.latency_samples)

    def reset(self) -> None:
        self.direct.reset()
        if self._bank is not None:
            self._bank.reset()
        self._key = None

    def process(self, mono: np.ndarray, source: Pose, listener: Pose, room: bool) -> np.ndarray:
        out = np.asarray(self.direct.process(mono, source, listener), np.float32)
        if self._bank is None:
            return out
        key = (source, listener)
        changed = key != self._key
        if changed:
            self._key = key
            self._filt = reflection_filter(self._geometry, source, listener, self.order, self._bank.length)[None]
        x = np.asarray(mono, np.float64).reshape(1, -1)
        refl = self._bank.run(x, self._filt, changed)  # always run: its state stays continuous
        return out + refl.T.astype(np.float32) if room else out


__all__ = ["PriorRenderer", "prior_offline", "reflection_filter", "reflection_length"]
