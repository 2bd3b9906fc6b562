"""The renderer interface every binaural renderer implements.

Coordinates are head-related and right-handed: +x in front of the listener, +y to
their left, +z up, in metres. Azimuth follows the SOFA convention used by the KEMAR
measurements: 0 degrees in front, +90 to the left, -90 to the right, +-180 behind;
elevation +90 straight up. The default listener sits at the origin facing +x.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 48_000
SPEED_OF_SOUND = 343.0  # m/s at about 20 degrees C
HEAD_RADIUS = 0.0875  # m, the usual average adult head (Woodworth/Brown-Duda)
# The live engine's render block, one size for every renderer (42.7 ms at 48 kHz); real-time factors
# are measured at it. The flow renderer's network runs once per block: on a 2-core CPU it needs 0.21
# of real time at 2048 samples, 0.34 at 1024, 0.92 at 256.
LIVE_BLOCK = 2048


@dataclass(frozen=True)
class Pose:
    """A position (metres) and an orientation (yaw, pitch, roll in degrees).

    Yaw turns anticlockwise seen from above (towards +y), pitch raises the nose,
    roll tilts the right ear down. Orientation matters for the listener; for a
    source (a point emitter) only the position is used.
    """

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    @property
    def position(self) -> np.ndarray:
        return np.array([self.x, self.y, self.z], dtype=np.float64)

    @staticmethod
    def from_spherical(azimuth: float, elevation: float, distance: float) -> "Pose":
        """A position at (azimuth, elevation) degrees and ``distance`` metres from the origin."""
        az, el = math.radians(azimuth), math.radians(elevation)
        return Pose(
            distance * math.cos(el) * math.cos(az),
            distance * math.cos(el) * math.sin(az),
            distance * math.sin(el),
        )

    def rotation(self) -> np.ndarray:
        """World-from-body rotation matrix (columns are the body's forward, left, up)."""
        cy, sy = math.cos(math.radians(self.yaw)), math.sin(math.radians(self.yaw))
        cp, sp = math.cos(math.radians(self.pitch)), math.sin(math.radians(self.pitch))
        cr, sr = math.cos(math.radians(self.roll)), math.sin(math.radians(self.roll))
        rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        ry = np.array([[cp, 0.0, -sp], [0.0, 1.0, 0.0], [sp, 0.0, cp]])  # +pitch raises +x towards +z
        rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])  # +roll raises the left ear, lowering the right (-y)
        return rz @ ry @ rx


LISTENER = Pose()


def relative_direction(source: Pose, listener: Pose = LISTENER) -> tuple[float, float, float]:
    """(azimuth deg, elevation deg, distance m) of ``source`` as the listener hears it."""
    d_world = source.position - listener.position
    d = listener.rotation().T @ d_world
    dist = float(np.linalg.norm(d))
    if dist < 1e-9:
        return 0.0, 0.0, 0.0
    az = math.degrees(math.atan2(d[1], d[0]))
    el = math.degrees(math.asin(max(-1.0, min(1.0, d[2] / dist))))
    return az, el, dist


class BinauralRenderer(ABC):
    """Mono block in, stereo block out, with the streaming state kept inside.

    ``process`` may be called with blocks of any length; the concatenated output
    of several calls equals the output of one call on the concatenated input
    (for a source that does not move). Output column 0 is the left ear.
    """

    name: str = "renderer"
    sample_rate: int = SAMPLE_RATE

    @property
    @abstractmethod
    def latency_samples(self) -> int:
        """Samples between an input sample and the output it first shapes."""

    @abstractmethod
    def process(self, mono: np.ndarray, source: Pose, listener: Pose = LISTENER) -> np.ndarray:
        """Render ``mono`` (n,) float32 to (n, 2) float32 for this block's poses."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all streaming state (as if freshly made)."""
