"""The rooms of the binaural training data: one kind of venue, a mid-size club room.

About 12 x 9 x 4.5 m (each side +-20%), walls of similar absorption (RT60 0.3-0.6 s by
Eyring's formula), a standing listener (ears 1.5-1.7 m high, at least 1.5 m from every
wall, facing any way), and sources 0.5-6 m away (log-uniform), azimuth uniform,
elevation -30..60 degrees, always inside the room. :mod:`.simulate` turns them into
binaural room impulse responses and examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .types import Pose

SPLITS = {"train": 1, "val": 2, "test": 3}
BASE_DIMS = (12.0, 9.0, 4.5)  # m
DIM_SPREAD = 0.2
RT60_RANGE = (0.3, 0.6)  # s
EAR_HEIGHT = (1.5, 1.7)  # m
WALL_MARGIN = 1.5  # m between the listener and any wall
SOURCE_MARGIN = 0.3  # m between a source and any surface
DISTANCE_RANGE = (0.5, 6.0)  # m, log-uniform
ELEVATION_RANGE = (-30.0, 60.0)  # degrees


@dataclass(frozen=True)
class Room:
    """A shoebox room [0, Lx] x [0, Ly] x [0, Lz] with the listener standing in it.

    ``absorption`` is the energy absorption of the walls at x=0, x=Lx, y=0, y=Ly, the floor
    (z=0) and the ceiling (z=Lz); ``reflection`` their pressure reflection coefficients.
    ``rt60`` is Eyring's reverberation time for those walls (what the BRIR decays with).
    ``listener`` is the centre of the head (its z the ear height); ``listener_yaw`` the way
    the listener faces (degrees, anticlockwise from +x).
    """

    id: str
    dims: tuple[float, float, float]
    absorption: tuple[float, float, float, float, float, float]
    rt60: float
    listener: tuple[float, float, float]
    listener_yaw: float = 0.0
    tail_seed: int = 0

    @property
    def reflection(self) -> tuple[float, ...]:
        return tuple(math.sqrt(1.0 - a) for a in self.absorption)

    @property
    def ear_height(self) -> float:
        return self.listener[2]

    @property
    def volume(self) -> float:
        return float(np.prod(self.dims))

    def to_room(self, p: np.ndarray) -> np.ndarray:
        """Room coordinates of point(s) ``p`` (..., 3) given in the renderer's (listener's world) frame."""
        c, s = math.cos(math.radians(self.listener_yaw)), math.sin(math.radians(self.listener_yaw))
        rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return np.asarray(p, dtype=np.float64) @ rz.T + np.asarray(self.listener)

    def contains(self, p_room: np.ndarray, margin: float = 0.0) -> bool:
        p = np.asarray(p_room)
        return bool(np.all(p >= margin) and np.all(p <= np.asarray(self.dims) - margin))


def _surfaces(dims) -> np.ndarray:
    lx, ly, lz = dims
    return np.array([ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly])


def eyring_rt60(dims, absorption) -> float:
    s = _surfaces(dims)
    mean_a = float(np.sum(s * np.asarray(absorption)) / s.sum())
    return 0.161 * float(np.prod(dims)) / (-s.sum() * math.log(1.0 - mean_a))


def sample_room(rng: np.random.Generator, split: str, room_id: str | None = None) -> Room:
    """A room of the venue family; ``split`` only names it (the caller's ``rng`` decides it)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    dims = tuple(float(b * rng.uniform(1 - DIM_SPREAD, 1 + DIM_SPREAD)) for b in BASE_DIMS)
    target = rng.uniform(*RT60_RANGE)
    s = _surfaces(dims)
    mean_a = 1.0 - math.exp(-0.161 * float(np.prod(dims)) / (s.sum() * target))
    alpha = np.clip(mean_a * rng.uniform(0.8, 1.2, size=6), 0.05, 0.95)
    alpha *= mean_a / (np.sum(s * alpha) / s.sum())  # keep the mean, hence the RT60, on target
    alpha = np.clip(alpha, 0.05, 0.95)
    lx, ly, _ = dims
    pos = (float(rng.uniform(WALL_MARGIN, lx - WALL_MARGIN)), float(rng.uniform(WALL_MARGIN, ly - WALL_MARGIN)),
           float(rng.uniform(*EAR_HEIGHT)))
    return Room(id=room_id or f"{split}-{int(rng.integers(2**31))}", dims=dims, absorption=tuple(float(a) for a in alpha),
                rt60=float(eyring_rt60(dims, alpha)), listener=pos, listener_yaw=float(rng.uniform(-180, 180)),
                tail_seed=int(rng.integers(2**31)))


def _venue(dims=BASE_DIMS, rt60: float = 0.45, listener=(5.0, 4.0, 1.6), listener_yaw: float = 0.0) -> Room:
    """A room of uniform walls with reverberation time ``rt60``, the listener standing at ``listener``."""
    s = _surfaces(dims)
    mean_a = 1.0 - math.exp(-0.161 * float(np.prod(dims)) / (s.sum() * rt60))
    return Room(id="default-venue", dims=tuple(float(d) for d in dims), absorption=(mean_a,) * 6,
                rt60=float(eyring_rt60(dims, (mean_a,) * 6)), listener=tuple(float(v) for v in listener),
                listener_yaw=float(listener_yaw))


# The room a room-aware renderer assumes live, when it is told no other: the middle of the venue
# family (12 x 9 x 4.5 m, RT60 0.45 s), the listener standing 5 m from the back wall, 4 m from the
# side wall, ears at 1.6 m, facing +x (the long way into the room).
DEFAULT_VENUE = _venue()


def sample_source(rng: np.random.Generator, room: Room | None = None, tries: int = 50) -> Pose:
    """A source pose relative to the listener (azimuth uniform, elevation uniform in range,
    distance log-uniform) that lies inside ``room`` with a margin, when a room is given."""
    lo, hi = math.log(DISTANCE_RANGE[0]), math.log(DISTANCE_RANGE[1])
    for i in range(tries):
        az = rng.uniform(-180.0, 180.0)
        el = rng.uniform(*ELEVATION_RANGE)
        d = math.exp(rng.uniform(lo, hi if i < tries // 2 else math.log(2.0)))
        pose = Pose.from_spherical(az, el, d)
        if room is None or room.contains(room.to_room(pose.position), SOURCE_MARGIN):
            return pose
    return Pose.from_spherical(rng.uniform(-180.0, 180.0), 0.0, 1.0)
