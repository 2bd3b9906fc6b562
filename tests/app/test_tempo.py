"""Tap tempo maths and the beat clock."""

import pytest
from waiting import ManualClock

from app.tempo import Tempo


def taps(tempo, times):
    return [tempo.tap(now=t) for t in times]


def test_steady_taps_give_the_bpm(store):
    tempo = Tempo(store, clock=ManualClock())
    got = taps(tempo, [10.0, 10.5, 11.0, 11.5])
    assert got[0] is None and got[1:] == [120.0, 120.0, 120.0]
    assert store.get("bpm") == 120.0


def test_the_bpm_is_the_mean_of_the_last_intervals(store):
    tempo = Tempo(store, clock=ManualClock(), window=4)
    taps(tempo, [0.0, 0.48, 1.0, 1.48, 2.0])  # 0.48, 0.52, 0.48, 0.52
    assert store.get("bpm") == 120.0
    taps(tempo, [2.0 + 0.4 * i for i in range(1, 5)])  # 4 intervals of 0.4 fill the window of 4
    assert store.get("bpm") == 150.0


def test_a_pause_starts_a_new_sequence(store):
    tempo = Tempo(store, clock=ManualClock())
    taps(tempo, [0.0, 0.5, 1.0])
    assert tempo.tap(now=3.5) is None and store.get("bpm") == 120.0  # 2.5 s pause: first tap again
    assert tempo.tap(now=3.9) == 150.0


def test_bounces_are_ignored(store):
    tempo = Tempo(store, clock=ManualClock())
    taps(tempo, [0.0, 0.5])
    assert tempo.tap(now=0.55) is None  # 50 ms: faster than 300 BPM allows
    assert tempo.tap(now=1.0) == 120.0  # measured from the real tap at 0.5


def test_a_sudden_tempo_change_restarts_the_average(store):
    tempo = Tempo(store, clock=ManualClock())
    taps(tempo, [0.0, 1.0, 2.0, 3.0])
    assert store.get("bpm") == 60.0
    assert tempo.tap(now=3.4) == 150.0  # 0.4 s is far from 1 s: the old intervals are dropped


def test_bpm_stays_in_the_registry_range(store):
    tempo = Tempo(store, clock=ManualClock())
    assert taps(tempo, [0.0, 1.99])[1] == pytest.approx(30.15, abs=0.01)
    assert store.spec("bpm").minimum <= store.get("bpm") <= store.spec("bpm").maximum


def test_the_registry_tap_trigger_taps(store):
    clock = ManualClock(50.0)
    tempo = Tempo(store, clock=clock)
    for t in (50.0, 50.4, 50.8):
        clock.t = t
        store.set("tap", True, source="osc")
    store.set("tap", False, source="osc")  # a release is not a tap
    assert store.get("bpm") == 150.0
    tempo.detach()
    clock.t = 51.0
    store.set("tap", True)
    assert store.get("bpm") == 150.0


def test_taps_set_the_phase_first_tap_is_the_downbeat(store):
    tempo = Tempo(store, clock=ManualClock())
    taps(tempo, [10.0, 10.5, 11.0])  # 120 BPM, 4/4: 10.0 is beat 1 of a bar
    assert tempo.origin == pytest.approx(10.0)
    assert tempo.next_boundary("beat", 11.2) == pytest.approx(11.5)
    assert tempo.next_boundary("bar", 11.2) == pytest.approx(12.0)
    assert tempo.next_boundary("beat", 11.5) == pytest.approx(11.5)  # on a boundary: now
    assert tempo.next_boundary("beat", 11.2, lookahead_s=0.1) == pytest.approx(11.4)
    assert tempo.next_boundary("beat", 11.45, lookahead_s=0.1) == pytest.approx(11.9)
    assert tempo.next_boundary("bar", 11.2, lookahead_s=0.25) == pytest.approx(11.75)
    assert tempo.next_boundary("none", 11.2, lookahead_s=0.25) == 11.2
    store.set("beats_per_bar", 3)
    assert tempo.next_boundary("bar", 11.2) == pytest.approx(11.5)  # bars of 1.5 s from 10.0
    with pytest.raises(ValueError):
        tempo.next_boundary("phrase", 11.2)


def test_a_bpm_change_keeps_the_beat_count_continuous(store):
    clock = ManualClock(0.0)
    tempo = Tempo(store, clock=clock)  # origin 0, 120 BPM
    clock.t = 10.0  # beat 20
    store.set("bpm", 60.0, source="gui")
    assert tempo.next_boundary("beat", 10.0) == pytest.approx(10.0)
    assert tempo.next_boundary("beat", 10.2) == pytest.approx(11.0)
    assert tempo.next_boundary("bar", 10.2) == pytest.approx(14.0)  # beat 20 is a downbeat: next bar at beat 24 = 14 s
