"""Crossfaded recall on the real timer thread, and quantised starts on the tempo clock."""

import threading
import time

import pytest

from app.presets import PresetRecaller
from app.tempo import Tempo
from engine.params.registry import ParamError


class Writes:
    """Every update the registry makes: (time, source, changes)."""

    def __init__(self, store):
        self.items = []
        self._lock = threading.Lock()
        store.subscribe_batch(self._on)

    def _on(self, changes, source, version):
        with self._lock:
            self.items.append((time.monotonic(), source, dict(changes)))

    def by(self, source):
        with self._lock:
            return [w for w in self.items if w[1] == source]


def test_crossfade_reaches_the_target_at_the_set_time(store):
    writes = Writes(store)
    with PresetRecaller(store) as rec:
        t0 = rec.recall({"strength": 0.9, "guidance_scale": 3.2, "guidance": "full"}, fade_time=0.4)
        time.sleep(max(0.0, t0 + 0.2 - time.monotonic()))
        mid = store.snapshot()
        assert 0.55 < mid["strength"] < 0.85 and 1.5 < mid["guidance_scale"] < 2.9
        assert mid["guidance"] == "full"  # choices switch at the start
        assert rec.wait_idle(2.0)
        done = time.monotonic() - t0
    assert store.get("strength") == 0.9 and store.get("guidance_scale") == 3.2  # exactly, no float residue
    assert 0.39 <= done < 0.6, done
    ticks = writes.by("preset")
    assert 10 <= len(ticks) <= 30, len(ticks)  # ~60 Hz: one registry update (one OSC bundle) per tick
    assert ticks[-1][2].get("strength") == 0.9 and ticks[-1][0] - t0 >= 0.399


def test_zero_fade_is_one_update(store):
    writes = Writes(store)
    with PresetRecaller(store) as rec:
        rec.recall({"strength": 0.9, "prompt.2.text": "fog", "prompt.2.weight": 0.5}, fade_time=0)
        assert rec.wait_idle(2.0)
    assert [w[2] for w in writes.by("preset")] == [{"strength": 0.9, "prompt.2.text": "fog", "prompt.2.weight": 0.5}]


def test_fade_time_comes_from_the_registry(store):
    store.update({"preset_fade_time": 0.0})
    with PresetRecaller(store) as rec:
        rec.recall({"strength": 0.2})
        assert rec.wait_idle(1.0)
    assert store.get("strength") == 0.2


def test_a_new_recall_takes_over_from_where_the_values_are(store):
    with PresetRecaller(store) as rec:
        rec.recall({"strength": 1.0}, fade_time=5.0)
        time.sleep(0.15)
        now = store.get("strength")
        assert 0.5 < now < 0.6
        rec.recall({"strength": 0.1}, fade_time=0.2)
        time.sleep(0.05)
        assert 0.1 < store.get("strength") <= now + 0.02  # continues from where it was, no jump to 1.0
        assert rec.wait_idle(2.0)
    assert store.get("strength") == 0.1


def test_a_fader_moved_during_a_fade_wins(store):
    with PresetRecaller(store) as rec:
        rec.recall({"strength": 0.9, "delta": 2.0}, fade_time=0.3)
        time.sleep(0.1)
        store.set("strength", 0.33, source="gui")
        assert rec.wait_idle(2.0)
    assert store.get("strength") == 0.33 and store.get("delta") == 2.0


def test_bad_values_schedule_nothing(store):
    with PresetRecaller(store) as rec:
        with pytest.raises(ParamError):
            rec.recall({"strength": 0.9, "guidance": "loud"}, fade_time=0)
        assert not rec.busy
    assert store.get("strength") == 0.5


def test_stop_cancels_and_joins(store):
    rec = PresetRecaller(store)
    rec.recall({"strength": 1.0}, fade_time=10)
    time.sleep(0.05)
    rec.stop()
    v = store.get("strength")
    time.sleep(0.05)
    assert store.get("strength") == v < 1.0 and not rec.busy
    assert not any(t.name == "preset-recall" for t in threading.enumerate())
    rec.recall({"strength": 0.2}, fade_time=0)  # usable again after a stop
    assert rec.wait_idle(2.0) and store.get("strength") == 0.2
    rec.stop()


@pytest.mark.parametrize("kind, bpm, beats_per_bar", [("beat", 120.0, 4), ("bar", 300.0, 3)])
def test_quantised_recall_starts_on_the_next_boundary_minus_the_lookahead(store, kind, bpm, beats_per_bar):
    store.update({"bpm": bpm, "beats_per_bar": beats_per_bar, "preset_quantize": kind, "latency_compensation": 80.0,
                  "preset_fade_time": 0.0})
    tempo = Tempo(store)
    period = 60.0 / bpm * (beats_per_bar if kind == "bar" else 1)
    now = time.monotonic()
    tempo.set_origin(now - 0.1)  # the last boundary was 0.1 s ago
    writes = Writes(store)
    with PresetRecaller(store, tempo=tempo) as rec:
        start = rec.recall({"strength": 0.8}, now=now)
        assert start == pytest.approx(now - 0.1 + period - 0.08)  # next boundary, 80 ms early
        assert store.get("strength") == 0.5  # not yet
        assert rec.wait_idle(3.0)
    tempo.detach()
    (at, _, changes), = writes.by("preset")
    assert changes == {"strength": 0.8}
    assert start - 0.002 <= at <= start + 0.05, (at - start)


def test_quantised_lookahead_never_schedules_in_the_past(store):
    store.update({"bpm": 120.0})
    tempo = Tempo(store)
    tempo.set_origin(100.0)
    rec = PresetRecaller(store, tempo=tempo)
    # 100.45: the next beat (100.5) minus 80 ms is already past, so the one after
    assert rec.tempo.next_boundary("beat", 100.45, 0.08) == pytest.approx(100.92)
    tempo.detach()
