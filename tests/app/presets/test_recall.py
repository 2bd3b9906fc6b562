"""Crossfaded recall on the real timer thread, and quantised starts on the tempo clock.

The recaller and the tempo take a ``clock``: the tests move it by hand and wait until the
timer thread has written what that moment calls for, so every check is exact and none
depends on how fast this machine is (the recaller's timing is measured by `dreamdeck bench`)."""

import threading
import time

import pytest
from waiting import ManualClock, wait_for

from app.presets import PresetRecaller
from app.tempo import Tempo
from engine.params.registry import ParamError


class Writes:
    """Every update the registry makes: (time on ``clock``, source, changes)."""

    def __init__(self, store, clock=time.monotonic):
        self.items = []
        self.clock = clock
        self._lock = threading.Lock()
        store.subscribe_batch(self._on)

    def _on(self, changes, source, version):
        with self._lock:
            self.items.append((self.clock(), source, dict(changes)))

    def by(self, source):
        with self._lock:
            return [w for w in self.items if w[1] == source]


def reaches(store, name, value):
    """Wait until the timer thread has written ``value`` (to float precision) to ``name``."""
    wait_for(lambda: store.get(name) == pytest.approx(value), what=lambda: f"{name} = {value}, not {store.get(name)}")


def test_crossfade_reaches_the_target_at_the_set_time(store):
    clock = ManualClock()
    writes = Writes(store, clock=lambda: clock.t)
    with PresetRecaller(store, clock=clock) as rec:
        t0 = rec.recall({"strength": 0.9, "guidance_scale": 3.2, "guidance": "full"}, fade_time=0.4)
        assert t0 == clock.t
        wait_for(lambda: store.get("guidance") == "full", what="the fade to start")  # choices switch at the start
        assert store.get("strength") == 0.5 and store.get("guidance_scale") == 1.2
        clock.set(t0 + 0.2)
        reaches(store, "strength", 0.7)  # half way at half the time
        assert store.get("guidance_scale") == pytest.approx(2.2)
        clock.set(t0 + 0.399)
        reaches(store, "strength", 0.899)
        assert rec.busy  # not done before the set time
        clock.set(t0 + 0.4)
        assert rec.wait_idle(10)
    assert store.get("strength") == 0.9 and store.get("guidance_scale") == 3.2  # exactly, no float residue
    ticks = writes.by("preset")
    assert ticks[-1][2].get("strength") == 0.9 and ticks[-1][0] == t0 + 0.4
    # one registry update (one OSC bundle) per step, with every parameter that moved in it
    assert all(("strength" in c) == ("guidance_scale" in c) for _, _, c in ticks[1:]), ticks


def test_zero_fade_is_one_update(store):
    writes = Writes(store)
    with PresetRecaller(store) as rec:
        rec.recall({"strength": 0.9, "prompt.2.text": "fog", "prompt.2.weight": 0.5}, fade_time=0)
        assert rec.wait_idle(10)
    assert [w[2] for w in writes.by("preset")] == [{"strength": 0.9, "prompt.2.text": "fog", "prompt.2.weight": 0.5}]


def test_fade_time_comes_from_the_registry(store):
    store.update({"preset_fade_time": 0.0})
    with PresetRecaller(store) as rec:
        rec.recall({"strength": 0.2})
        assert rec.wait_idle(10)
    assert store.get("strength") == 0.2


def test_a_new_recall_takes_over_from_where_the_values_are(store):
    clock = ManualClock()
    with PresetRecaller(store, clock=clock) as rec:
        t0 = rec.recall({"strength": 1.0}, fade_time=5.0)
        clock.set(t0 + 1.0)
        reaches(store, "strength", 0.6)  # a fifth of the way from 0.5 to 1.0
        rec.recall({"strength": 0.1}, fade_time=1.0)
        clock.set(t0 + 1.5)
        reaches(store, "strength", 0.35)  # half way from 0.6, where it was (from 1.0 it would be 0.55): no jump
        clock.set(t0 + 2.0)
        assert rec.wait_idle(10)
    assert store.get("strength") == 0.1


def test_a_fader_moved_during_a_fade_wins(store):
    clock = ManualClock()
    with PresetRecaller(store, clock=clock) as rec:
        t0 = rec.recall({"strength": 0.9, "delta": 2.0}, fade_time=0.3)
        clock.set(t0 + 0.1)
        reaches(store, "delta", 1.0 + 1.0 / 3)  # a third of the way: the fade is running
        store.set("strength", 0.33, source="gui")
        clock.set(t0 + 0.3)
        assert rec.wait_idle(10)
    assert store.get("strength") == 0.33 and store.get("delta") == 2.0


def test_bad_values_schedule_nothing(store):
    with PresetRecaller(store) as rec:
        with pytest.raises(ParamError):
            rec.recall({"strength": 0.9, "guidance": "loud"}, fade_time=0)
        assert not rec.busy
    assert store.get("strength") == 0.5


def test_stop_cancels_and_joins(store):
    clock = ManualClock()
    rec = PresetRecaller(store, clock=clock)
    t0 = rec.recall({"strength": 1.0}, fade_time=10)
    clock.set(t0 + 1.0)
    reaches(store, "strength", 0.55)
    rec.stop()
    assert not any(t.name == "preset-recall" for t in threading.enumerate())  # joined: nothing writes any more
    clock.set(t0 + 5.0)
    assert store.get("strength") == pytest.approx(0.55) and not rec.busy  # cancelled where it was
    rec.recall({"strength": 0.2}, fade_time=0)  # usable again after a stop
    assert rec.wait_idle(10) and store.get("strength") == 0.2
    rec.stop()


@pytest.mark.parametrize("kind, bpm, beats_per_bar", [("beat", 120.0, 4), ("bar", 300.0, 3)])
def test_quantised_recall_starts_on_the_next_boundary_minus_the_lookahead(store, kind, bpm, beats_per_bar):
    store.update({"bpm": bpm, "beats_per_bar": beats_per_bar, "preset_quantize": kind, "latency_compensation": 80.0,
                  "preset_fade_time": 0.0})
    clock = ManualClock()
    tempo = Tempo(store, clock=clock)
    period = 60.0 / bpm * (beats_per_bar if kind == "bar" else 1)
    now = clock.t
    tempo.set_origin(now - 0.1)  # the last boundary was 0.1 s ago
    writes = Writes(store, clock=lambda: clock.t)
    with PresetRecaller(store, tempo=tempo, clock=clock) as rec:
        start = rec.recall({"strength": 0.8})
        assert start == pytest.approx(now - 0.1 + period - 0.08)  # next boundary, 80 ms early
        clock.set(start - 0.001)
        reads = clock.reads
        wait_for(lambda: clock.reads > reads + 1, what="the timer thread to look at the time twice")
        assert store.get("strength") == 0.5 and rec.busy  # not yet, a millisecond before
        clock.set(start)
        assert rec.wait_idle(10)
    tempo.detach()
    (at, _, changes), = writes.by("preset")
    assert changes == {"strength": 0.8} and at == start


def test_quantised_lookahead_never_schedules_in_the_past(store):
    store.update({"bpm": 120.0})
    tempo = Tempo(store)
    tempo.set_origin(100.0)
    rec = PresetRecaller(store, tempo=tempo)
    # 100.45: the next beat (100.5) minus 80 ms is already past, so the one after
    assert rec.tempo.next_boundary("beat", 100.45, 0.08) == pytest.approx(100.92)
    tempo.detach()
