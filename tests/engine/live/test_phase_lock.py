"""The output's schedule settles half a tick away from a source at its own rate, and stays put at other rates."""

import numpy as np

from engine.live.phase_lock import PhaseLock

PERIOD = 1 / 30


def _run(source_period: float, start_phase: float, jitter: float, ticks: int = 3000, seed: int = 0):
    """Simulate the output loop: ticks every PERIOD (moved by the lock), frames arriving every source_period."""
    rng = np.random.default_rng(seed)
    lock = PhaseLock(PERIOD)
    next_tick, arrivals, shown_at = 0.0, [], []
    k = 0
    waits = []
    for _ in range(ticks):
        t = next_tick
        next_tick += PERIOD
        newest = None
        while True:  # frames that arrived by this tick; the newest is shown
            arrive = start_phase + k * source_period + rng.uniform(-jitter, jitter)
            if arrive > t:
                break
            newest = arrive
            k += 1
        if newest is not None and (not arrivals or newest != arrivals[-1]):
            arrivals.append(newest)
            waits.append(t - newest)
            next_tick += lock.correction(t - newest)
    return np.array(waits)


def test_frames_on_the_tick_edge_move_to_half_a_tick():
    waits = _run(PERIOD, start_phase=0.0005, jitter=0.002)  # each frame lands just before a tick
    settled = waits[-500:]
    assert abs(np.mean(settled) - PERIOD / 2) < 0.002
    assert settled.min() > 0.008 and settled.max() < PERIOD - 0.008  # never near an edge again: no judder


def test_frames_just_after_the_tick_move_to_half_a_tick_too():
    waits = _run(PERIOD, start_phase=PERIOD - 0.0005, jitter=0.002)
    assert abs(np.mean(waits[-500:]) - PERIOD / 2) < 0.002


def test_a_slower_source_leaves_the_schedule_nearly_alone():
    lock_moves = []
    lock = PhaseLock(PERIOD)
    rng = np.random.default_rng(1)
    for _ in range(2000):  # a 12 fps model: waits spread over the whole period
        lock_moves.append(lock.correction(rng.uniform(0, PERIOD)))
    assert abs(sum(lock_moves)) < 0.05  # the schedule drifts by under 50 ms over ~3 minutes of frames
    assert max(abs(m) for m in lock_moves) <= 0.001


def test_a_late_frame_is_not_the_locks_business():
    assert PhaseLock(PERIOD).correction(0.2) == 0.0
