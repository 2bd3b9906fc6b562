"""What a control surface receives when a preset is recalled (issue 13, item 5), over real UDP.

A recall's crossfade writes the registry 60 times a second; feedback sends one bundle
when it starts, at most 10 bundles a second while it fades (each carrying every value
changed since the last), and one when it ends.  The recaller and the feedback share a
fake clock and the fade is moved by hand, so the counts are exact, never timed.
"""

from __future__ import annotations

import pytest

from app.osc import OscFeedback
from app.presets import PresetRecaller, PresetStore
from waiting import ManualClock

NEON_1 = "neon cyberpunk city at night, vivid magenta and cyan, glowing signs, high contrast"
SENTINEL = "/dreamdeck/bpm"  # a change after the recall: once it arrives, every earlier datagram has (UDP on loopback keeps order)


@pytest.fixture
def clock():
    return ManualClock(100.0)


@pytest.fixture
def recaller(store, clock):
    rec = PresetRecaller(store, clock=clock, timer_thread=False)
    yield rec
    rec.stop()


def shipped(store, name: str, tmp_path) -> dict:
    return PresetStore(tmp_path / "presets", params=store.params).load(name).values


def run_until(rec, clock, t: float, hz: float = 60.0) -> None:
    """Tick at ``hz`` of fake time up to ``t``, the last tick at ``t`` exactly."""
    t0 = clock.t
    n = max(1, round((t - t0) * hz))
    for k in range(1, n + 1):
        clock.t = t if k == n else t0 + (t - t0) * k / n
        rec.tick()


def received(store, listener) -> list[dict]:
    """Every datagram the listener got before the sentinel, each as {address: first argument}."""
    store.set("bpm", 99.0, source="gui")
    out = []
    while True:
        got = listener.recv(5.0)
        assert got is not None, "the sentinel change was not fed back"
        values = {address: args[0] for address, args in got}
        if SENTINEL in values:
            return out
        out.append(values)


def test_a_recall_is_one_bundle_then_at_most_ten_a_second_then_the_end(store, listener, recaller, clock, tmp_path):
    with OscFeedback(store, *listener.address, clock=clock).start(sync=False):
        recaller.recall(shipped(store, "neon-punch", tmp_path), fade_time=2.0)
        recaller.tick()
        run_until(recaller, clock, 102.0)  # 120 registry updates
        assert not recaller.busy
        got = received(store, listener)
    first, steps, last = got[0], got[1:-1], got[-1]
    assert first["/dreamdeck/prompt/3/text"] == NEON_1 and "/dreamdeck/prompt/2/text" in first  # switches land at the start
    assert 10 <= len(steps) <= 2.0 * 10, len(steps)  # 2 s of fade at most 10 a second, and not nothing
    assert all(len(b) > 1 for b in steps)  # each step is one bundle with every value that moved
    strength = [b["/dreamdeck/strength"] for b in steps]
    assert strength == sorted(strength) and 0.5 < strength[0] and strength[-1] < 0.75
    assert last["/dreamdeck/strength"] == 0.75 and last["/dreamdeck/guidance_scale"] == pytest.approx(1.8)
    assert last["/dreamdeck/prompt/1/text"] == NEON_1 and last["/dreamdeck/prompt/1/weight"] == 1.0
    assert last["/dreamdeck/prompt/3/weight"] == 0.0  # the crossfade's helper slot handed back


def test_an_interrupted_recall_keeps_the_rate_and_ends_with_the_first_presets_values(store, listener, recaller, clock,
                                                                                     tmp_path):
    with OscFeedback(store, *listener.address, clock=clock).start(sync=False) as fb:
        recaller.recall(shipped(store, "neon-punch", tmp_path), fade_time=2.0)
        recaller.tick()
        run_until(recaller, clock, 101.0)
        recaller.recall(shipped(store, "blackout-safe", tmp_path), fade_time=2.0)
        recaller.tick()
        run_until(recaller, clock, 103.0)
        assert not recaller.busy
        got = received(store, listener)
        assert fb.stats["packets"] == len(got) + 1
    starts = [i for i, b in enumerate(got) if b.get("/dreamdeck/fade_to_black") in (1, True)]
    assert len(starts) == 1 and 8 <= starts[0] <= 11  # blackout-safe's start: its own bundle, about 1 s in
    assert len(got) <= 2 + 2 + 10 * 2.0  # two starts, neon-punch's end, at most 10 a second over its 2 s fade
    end = got[-1]  # neon-punch's end (blackout-safe only switches: nothing moves at its end)
    assert end["/dreamdeck/strength"] == 0.75 and end["/dreamdeck/prompt/1/weight"] == 1.0


def test_a_surface_moving_a_fading_value_is_not_sent_an_older_fade_value(store, listener, recaller, clock):
    """The surface's own move is not echoed, and a fade value held back by the rate must not follow it."""
    with OscFeedback(store, *listener.address, clock=clock).start(sync=False) as fb:
        recaller.recall({"strength": 1.0, "delta": 2.0}, fade_time=1.0)
        recaller.tick()
        run_until(recaller, clock, 100.15)  # a step went out about 100.1; the ones after it are held
        sent_before = fb.stats["packets"]
        store.set("strength", 0.2, source=listener.address)  # what the OSC server writes for the surface
        run_until(recaller, clock, 101.0)
        got = received(store, listener)
    after = got[sent_before:]
    assert sent_before >= 1 and after and not any("/dreamdeck/strength" in b for b in after), after
    assert store.get("strength") == 0.2 and got[-1]["/dreamdeck/delta"] == 2.0


def test_every_step_with_no_step_rate(store, listener, recaller, clock):
    with OscFeedback(store, *listener.address, clock=clock, step_rate=None).start(sync=False):
        recaller.recall({"strength": 0.9}, fade_time=0.5)
        recaller.tick()
        run_until(recaller, clock, 100.5)
        got = received(store, listener)
    assert len(got) == 30 and got[-1] == {"/dreamdeck/strength": pytest.approx(0.9)}  # one message per tick


def test_a_step_rate_must_be_positive(store, listener):
    with pytest.raises(ValueError, match="step_rate must be more than 0"):
        OscFeedback(store, *listener.address, step_rate=0)
