"""The simulated rooms and the binaural training data (engine/audio/simulate.py, signals.py)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from engine.audio import rooms
from engine.audio import simulate as sim
from engine.audio.hrir import PRE_ROLL, HrirSet, propagation_delay_samples
from engine.audio.signals import KINDS, SPLIT_RECORDINGS, SPLIT_TEXTS, source_signal
from engine.audio.types import SAMPLE_RATE, SPEED_OF_SOUND, Pose

HAVE_HRTF = importlib.util.find_spec("engine.audio.hrtf") is not None


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DREAMDECK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "dd-cache"))


def _room(seed: int = 3) -> sim.Room:
    return sim.sample_room(np.random.default_rng(seed), "train")


def _schroeder_rt60(h: np.ndarray) -> float:
    """T20 (the -5..-25 dB slope of the backward-integrated energy, extrapolated to 60 dB)."""
    e = np.sum(np.asarray(h, dtype=np.float64) ** 2, axis=0)
    edc = np.cumsum(e[::-1])[::-1]
    db = 10 * np.log10(edc / edc[0] + 1e-30)
    i5, i25 = int(np.argmax(db < -5)), int(np.argmax(db < -25))
    t = np.arange(i5, i25) / SAMPLE_RATE
    slope = np.polyfit(t, db[i5:i25], 1)[0]
    return -60.0 / slope


def test_rooms_are_of_the_venue_family():
    for seed in range(20):
        r = _room(seed)
        assert all(0.79 * b <= d <= 1.21 * b for d, b in zip(r.dims, rooms.BASE_DIMS))
        assert 0.27 <= r.rt60 <= 0.66
        assert 1.5 <= r.ear_height <= 1.7
        assert rooms.WALL_MARGIN <= r.listener[0] <= r.dims[0] - rooms.WALL_MARGIN
        assert rooms.WALL_MARGIN <= r.listener[1] <= r.dims[1] - rooms.WALL_MARGIN
        src = sim.sample_source(np.random.default_rng(seed), r)
        assert r.contains(r.to_room(src.position), rooms.SOURCE_MARGIN)
        az, el, d = sim.relative_direction(src)
        assert 0.49 <= d <= 6.01 and -30.01 <= el <= 60.01


def test_rt60_of_the_brir_matches_the_room():
    for seed in (1, 2, 5):
        room = _room(seed)
        src = sim.sample_source(np.random.default_rng(seed), room)
        h = sim.brir(room, src, length=int(1.3 * room.rt60 * SAMPLE_RATE))
        assert h.shape[0] == 2 and h.dtype == np.float32
        measured = _schroeder_rt60(h)
        assert abs(measured - room.rt60) < 0.2 * room.rt60, (measured, room.rt60)


def test_first_reflection_arrives_at_the_geometric_time():
    room = sim.Room(id="t", dims=(12.0, 9.0, 4.5), absorption=(0.3,) * 6, rt60=rooms.eyring_rt60((12.0, 9.0, 4.5), (0.3,) * 6),
                    listener=(6.0, 4.5, 1.6), listener_yaw=0.0, tail_seed=1)
    src = Pose.from_spherical(0.0, 0.0, 3.0)
    s = room.to_room(src.position)
    lis = np.asarray(room.listener)
    mirrors = []  # the six first-order images, by hand
    for axis in range(3):
        for wall in (0.0, room.dims[axis]):
            m = s.copy()
            m[axis] = 2 * wall - s[axis]
            mirrors.append(m)
    first = min(float(np.linalg.norm(m - lis)) for m in mirrors)  # the floor: sqrt(3^2 + 3.2^2)
    assert first == pytest.approx(math.hypot(3.0, 2 * 1.6))
    wet = sim.reverb(room, src, Pose(), length=4000)
    onset = int(np.argmax(np.max(np.abs(wet), axis=0) > 0.05 * np.abs(wet).max()))
    hset = HrirSet.load_default()
    expected = float(propagation_delay_samples(first)) + PRE_ROLL
    assert expected - 3 <= onset <= expected + hset.max_onset + 3
    assert np.abs(wet[:, : int(expected) - 3]).max() < 1e-3 * np.abs(wet).max()  # nothing before the first reflection
    direct_arrival = 3.0 / SPEED_OF_SOUND * SAMPLE_RATE
    assert onset - direct_arrival == pytest.approx((first - 3.0) / SPEED_OF_SOUND * SAMPLE_RATE, abs=hset.max_onset + 3)


def test_brir_direct_path_is_the_anechoic_render():
    room = _room(7)
    src = sim.sample_source(np.random.default_rng(7), room)
    h = sim.brir(room, src, length=6000).astype(np.float64)
    wet = sim.reverb(room, src, Pose(), length=6000)
    direct = sim.direct_filter(src)
    d = np.zeros_like(h)
    d[:, : direct.shape[1]] = direct[:, :6000]
    np.testing.assert_allclose(h - wet, d, atol=1e-6)
    mono = source_signal(11, 0.1, kind="noise")[0]
    dry = sim.anechoic(mono, src)
    conv = np.stack([np.convolve(mono, d[e])[: len(mono)] for e in range(2)], axis=1)
    np.testing.assert_allclose(dry, conv, atol=1e-5)
    target, dry2 = sim.render_room(mono, room, src)
    np.testing.assert_allclose(dry2, dry, atol=1e-6)
    full = np.stack([np.convolve(mono, h[e])[: len(mono)] for e in range(2)], axis=1)
    np.testing.assert_allclose(target, full, atol=1e-4)


@pytest.mark.skipif(not HAVE_HRTF, reason="engine.audio.hrtf not present")
def test_anechoic_equals_the_hrtf_renderer():
    from engine.audio.hrtf import HrtfRenderer

    mono = source_signal(5, 0.25, kind="music")[0]
    for src in (Pose.from_spherical(40.0, 10.0, 2.0), Pose.from_spherical(-120.0, -20.0, 0.7)):
        ref = HrtfRenderer(room=False).process(mono, src, Pose())
        np.testing.assert_allclose(sim.anechoic(mono, src, Pose()), ref, atol=1e-6)


def test_splits_are_deterministic_and_disjoint():
    a = sim.make_split("train", 12, seconds=0.1, seed=4)
    b = sim.make_split("train", 12, seconds=0.1, seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.target, y.target)
        np.testing.assert_array_equal(x.mono, y.mono)
        assert x.source == y.source and x.room_id == y.room_id
    test = sim.make_split("test", 12, seconds=0.1, seed=4)
    val = sim.make_split("val", 6, seconds=0.1, seed=4)
    rooms = [{e.room_id for e in s if e.room_amount > 0} for s in (a, val, test)]
    assert not (rooms[0] & rooms[2]) and not (rooms[0] & rooms[1]) and not (rooms[1] & rooms[2])
    seeds = [{e.material_seed for e in s} for s in (a, val, test)]
    assert not (seeds[0] & seeds[2]) and not (seeds[0] & seeds[1])
    assert len(seeds[0]) == 12
    assert {e.source for e in a}.isdisjoint({e.source for e in test})
    other_seed = sim.make_split("train", 3, seconds=0.1, seed=5)
    assert all(not np.array_equal(x.mono, y.mono) for x, y in zip(a, other_seed))
    # speech material is reserved per split
    assert set(SPLIT_TEXTS["train"]).isdisjoint(SPLIT_TEXTS["test"])
    assert set(SPLIT_RECORDINGS["train"]).isdisjoint(SPLIT_RECORDINGS["test"])


def test_examples_have_the_documented_shapes_and_anechoic_ones_match():
    exs = sim.make_split("train", 30, seconds=0.05, seed=1)
    n = int(0.05 * SAMPLE_RATE)
    dry = [e for e in exs if e.room_amount == 0.0]
    wet = [e for e in exs if e.room_amount == 1.0]
    assert 1 <= len(dry) <= 14 and len(dry) + len(wet) == 30
    for e in exs:
        assert e.mono.shape == (n,) and e.target.shape == (n, 2) and e.anechoic.shape == (n, 2)
        assert e.mono.dtype == e.target.dtype == e.anechoic.dtype == np.float32
        assert e.listener == Pose()
        assert np.isfinite(e.target).all()
    for e in dry:
        np.testing.assert_array_equal(e.target, e.anechoic)
        assert e.room_id == "anechoic"
    assert any(not np.allclose(e.target, e.anechoic) for e in wet)
    arr = sim.split_arrays("train", 3, seconds=0.05, seed=1)
    assert arr["target"].shape == (3, n, 2) and arr["azimuth"].shape == (3,)
    np.testing.assert_array_equal(arr["target"][1], exs[1].target)


def test_source_material_kinds():
    for kind in KINDS:
        try:
            x, k = source_signal(3, 0.5, "test", kind=kind)
        except ValueError:  # espeak-ng or the recordings missing on this machine
            continue
        assert k == kind and x.shape == (SAMPLE_RATE // 2,) and x.dtype == np.float32
        assert 0.0 < np.sqrt(np.mean(x**2)) < 0.2 and np.isfinite(x).all()
    np.testing.assert_array_equal(source_signal(9, 0.2)[0], source_signal(9, 0.2)[0])
