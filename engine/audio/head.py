"""The spherical-head renderer: Brown & Duda's (1998) structural model, needing no data.

Each ear gets a head-shadow filter, the analogue one-pole/one-zero

    H(w, theta) = (1 + j alpha(theta) w / (2 w0)) / (1 + j w / (2 w0)),  w0 = c / a,
    alpha(theta) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(theta / theta_min * 180 deg),

(alpha_min = 0.1, theta_min = 150 deg, theta the angle between the source and the
ear, ears at +-100 deg azimuth as in the paper) made digital by the bilinear
transform, and Woodworth's delay relative to the head's centre: -(a/c) cos(theta) in
front of the ear, (a/c)(theta - pi/2) behind it (ears at +-90 deg here, so the
interaural difference is exactly (a/c)(phi + sin phi) for a source at lateral angle
phi). The delays, distance gain, crossfades and room come from ``spatializer``.
"""

from __future__ import annotations

import math

import numpy as np

from .hrir import direction_vector, fractional_shift
from .room import ShoeboxRoom
from .spatializer import SpatialRenderer
from .types import HEAD_RADIUS, SAMPLE_RATE, SPEED_OF_SOUND

ALPHA_MIN = 0.1
THETA_MIN = 150.0  # degrees
SHADOW_EAR_AZIMUTH = 100.0  # degrees: Brown & Duda's ear position for the shadow filter
SHADOW_TAPS = 128  # the one-pole decays below 1e-8 well within this
_QUANT = 1.0  # degrees: reflections use filters on a 1-degree grid of ear angles


class SphericalHead:
    """The model as a filter set (same interface as ``HrirSet``)."""

    def __init__(self, radius: float = HEAD_RADIUS, sample_rate: int = SAMPLE_RATE):
        self.radius, self.sample_rate = radius, sample_rate
        self.aligned_length = SHADOW_TAPS
        self.max_onset = 2 * radius / SPEED_OF_SOUND * (1 + math.pi / 2) * sample_rate / 2 + 1
        self.length = SHADOW_TAPS + int(math.ceil(self.max_onset)) + 4
        self._cache: dict = {}
        self.mean_energy = float(np.mean(np.sum(self.interpolate_aligned(0.0, 0.0)[0] ** 2, axis=-1)))

    def alpha(self, theta_deg: np.ndarray) -> np.ndarray:
        return (1 + ALPHA_MIN / 2) + (1 - ALPHA_MIN / 2) * np.cos(np.radians(theta_deg) / math.radians(THETA_MIN) * math.pi)

    def shadow(self, theta_deg: np.ndarray) -> np.ndarray:
        """Impulse responses (..., SHADOW_TAPS) of the head-shadow filter at ear angles theta."""
        w0 = SPEED_OF_SOUND / self.radius
        k = 2.0 * self.sample_rate
        a = np.asarray(self.alpha(theta_deg), dtype=np.float64)[..., None]
        b0, b1 = 2 * w0 + a * k, 2 * w0 - a * k
        a0, a1 = 2 * w0 + k, 2 * w0 - k
        p = -a1 / a0  # pole
        t = np.arange(SHADOW_TAPS)
        h = (b1 / a0 + p * b0 / a0) * p ** np.maximum(t - 1, 0)  # closed form for n >= 1
        h[..., 0] = (b0 / a0)[..., 0]
        return h

    def _ear_angles(self, azimuth: float, elevation: float, ear_azimuth: float) -> np.ndarray:
        v = direction_vector(azimuth, elevation)
        ears = direction_vector(np.array([ear_azimuth, -ear_azimuth]), np.zeros(2))
        return np.degrees(np.arccos(np.clip(ears @ v, -1.0, 1.0)))  # (2,) left, right

    def onsets(self, azimuth: float, elevation: float) -> np.ndarray:
        """Woodworth's delay of each ear (samples), offset so the earliest possible is 0."""
        th = np.radians(self._ear_angles(azimuth, elevation, 90.0))
        ac = self.radius / SPEED_OF_SOUND
        rel = np.where(th < math.pi / 2, -ac * np.cos(th), ac * (th - math.pi / 2))
        return (rel + ac) * self.sample_rate

    def interpolate_aligned(self, azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray]:
        ir = self.shadow(self._ear_angles(azimuth, elevation, SHADOW_EAR_AZIMUTH))
        return ir.astype(np.float32), self.onsets(azimuth, elevation)

    def interpolate(self, azimuth: float, elevation: float) -> np.ndarray:
        ir, onsets = self.interpolate_aligned(azimuth, elevation)
        return fractional_shift(ir, onsets, self.length).astype(np.float32)

    def quantized(self, azimuth: float, elevation: float) -> tuple[object, np.ndarray]:
        """The filter on a 1-degree grid of (azimuth, elevation), delay included (cached)."""
        key = (round(azimuth / _QUANT) * _QUANT, round(elevation / _QUANT) * _QUANT)
        ir = self._cache.get(key)
        if ir is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            ir = self._cache[key] = self.interpolate(*key)
        return key, ir


class SphericalHeadRenderer(SpatialRenderer):
    name = "head"

    def __init__(self, room: bool = False, radius: float = HEAD_RADIUS, shoebox: ShoeboxRoom | None = None):
        super().__init__(SphericalHead(radius), room=room, shoebox=shoebox)
