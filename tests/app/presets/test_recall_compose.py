"""A recall that interrupts another composes with it (issue 13, item 5).

The parameters the new preset names fade from their values on screen to its targets;
the ones it does not name finish the first fade, on that fade's own schedule.  Most
tests move time by hand (a fake clock and ``recaller.tick()``, no timer thread); the
last one runs the real timer thread and waits on conditions, never on the wall clock.
"""

import threading

import pytest

from app.presets import PresetStore
from app.show_control import ShowControl
from waiting import ManualClock

NEON_1 = "neon cyberpunk city at night, vivid magenta and cyan, glowing signs, high contrast"
NEON_2 = "laser light show, lens flares, chrome reflections"
TICK = 1 / 60


@pytest.fixture
def clock():
    return ManualClock(100.0)


@pytest.fixture
def show(store, tmp_path, clock):
    """The show's presets (the shipped looks plus user presets in a temp folder), fades moved by hand."""
    presets = PresetStore(tmp_path / "presets", params=store.params)
    s = ShowControl(store, presets, clock=clock, timer_thread=False)
    s.start()
    yield s
    s.stop()


class Writes:
    """Every value the registry takes, in order: {name: [value, ...]}."""

    def __init__(self, store):
        self.values: dict[str, list] = {}
        store.subscribe(lambda name, value, source: self.values.setdefault(name, []).append(value))


def run_until(show, clock, t: float) -> None:
    """Tick the recaller at about 60 Hz of fake time up to ``t``, the last tick at ``t`` exactly."""
    t0 = clock.t
    n = max(1, round((t - t0) / TICK))
    for k in range(1, n + 1):
        clock.t = t if k == n else t0 + (t - t0) * k / n
        show.recaller.tick()


def recall_at(show, clock, name: str) -> None:
    show.recall_preset(name)
    show.recaller.tick()  # the tick that starts it, at the same instant


def test_a_partial_preset_lets_the_first_fade_finish_on_its_schedule(show, store, clock):
    """The case seen: neon-punch, then 1 s into its 2 s fade, the partial blackout-safe."""
    assert store.get("preset_fade_time") == 2.0 and store.get("strength") == 0.5
    recall_at(show, clock, "neon-punch")
    run_until(show, clock, 101.0)
    assert store.get("strength") == pytest.approx(0.625) and store.get("prompt.1.weight") == pytest.approx(0.5)
    recall_at(show, clock, "blackout-safe")
    assert store.get("fade_to_black") is True  # switches land at the start of the new recall
    run_until(show, clock, 101.5)
    assert store.get("strength") == pytest.approx(0.6875)  # still on neon-punch's own schedule
    run_until(show, clock, 102.0)
    v = store.snapshot()
    assert v["strength"] == 0.75 and v["guidance_scale"] == 1.8 and v["delta"] == 1.2  # exactly, at neon-punch's end
    assert (v["prompt.1.text"], v["prompt.1.weight"]) == (NEON_1, 1.0)
    assert (v["prompt.2.text"], v["prompt.2.weight"]) == (NEON_2, 0.4)
    assert (v["prompt.3.text"], v["prompt.3.weight"]) == ("", 0.0)  # the crossfade's helper slot is idle again
    assert v["fade_to_black"] is True and v["negative_prompt"] == "dull, washed out, blurry, grey"
    assert show.recaller.busy  # blackout-safe's own fade runs to 103
    run_until(show, clock, 103.0)
    assert not show.recaller.busy and store.get("fade_to_black") is True


def test_named_parameters_fade_from_the_values_on_screen(show, store, clock):
    show.presets.save("calm", {"strength": 0.3, "prompt.2.weight": 0.0})
    writes = Writes(store)
    recall_at(show, clock, "neon-punch")
    run_until(show, clock, 101.0)
    on_screen = store.get("strength")
    assert on_screen == pytest.approx(0.625)
    recall_at(show, clock, "calm")
    assert store.get("strength") == on_screen  # no jump, back or forward
    run_until(show, clock, 102.0)
    assert store.get("strength") == pytest.approx(on_screen + (0.3 - on_screen) / 2)  # halfway along calm's fade
    assert store.get("guidance_scale") == 1.8 and store.get("prompt.1.weight") == 1.0  # neon-punch's, finished
    run_until(show, clock, 103.0)
    assert store.get("strength") == 0.3 and store.get("prompt.2.weight") == 0.0
    assert store.get("prompt.2.text") == NEON_2 and not show.recaller.busy
    steps = writes.values["strength"]
    assert max(abs(b - a) for a, b in zip(steps, steps[1:])) < 0.01  # one smooth line through the takeover


def test_a_new_prompt_on_a_crossfading_slot_takes_the_helper_slot_down_smoothly(show, store, clock):
    """neon-punch crossfades prompt 1 through the idle slot 3; a recall naming prompt 1 takes over both."""
    show.presets.save("fog", {"prompt.1.text": "fog", "prompt.1.weight": 0.8})
    writes = Writes(store)
    recall_at(show, clock, "neon-punch")
    run_until(show, clock, 101.0)
    assert store.get("prompt.3.text") == NEON_1 and store.get("prompt.3.weight") == pytest.approx(0.5)
    recall_at(show, clock, "fog")
    run_until(show, clock, 102.0)
    assert store.get("prompt.3.weight") == pytest.approx(0.25)  # fading out on fog's schedule, not cut
    assert (store.get("prompt.2.text"), store.get("prompt.2.weight")) == (NEON_2, 0.4)  # neon-punch's own, done
    run_until(show, clock, 103.0)
    v = store.snapshot()
    assert (v["prompt.1.text"], v["prompt.1.weight"]) == ("fog", 0.8)
    assert [v[f"prompt.{i}.weight"] for i in (3, 4)] == [0.0, 0.0] and not show.recaller.busy
    for i in (1, 3, 4):
        w = writes.values.get(f"prompt.{i}.weight", [])
        assert all(abs(b - a) < 0.05 for a, b in zip(w[:-1], w[1:-1])), (i, w)  # no cuts until the final swap


def test_the_real_timer_thread_composes_with_one_worker(store, tmp_path):
    """Wall-clock timer, synchronised on conditions only."""
    store.update({"preset_fade_time": 1.0})
    moved = threading.Event()
    unsubscribe = store.subscribe(lambda n, v, s: moved.set() if n == "strength" and v > 0.55 else None)
    show = ShowControl(store, PresetStore(tmp_path / "presets", params=store.params))
    try:
        show.start()
        show.recall_preset("neon-punch")
        assert moved.wait(10), "neon-punch's fade did not move strength"
        show.recall_preset("blackout-safe")
        assert [t.name for t in threading.enumerate()].count("preset-recall") == 1
        assert show.recaller.wait_idle(10)
    finally:
        show.stop()
        unsubscribe()
    v = store.snapshot()
    assert v["strength"] == 0.75 and (v["prompt.1.text"], v["prompt.1.weight"]) == (NEON_1, 1.0)
    assert v["prompt.3.weight"] == 0.0 and v["fade_to_black"] is True


def test_a_hand_that_moves_a_fader_between_a_step_and_its_write_keeps_its_value(store, clock):
    """The race a timer thread has: the step's values are computed, a hand moves the fader, then the step
    is written. Compare-and-set in the registry keeps the hand's value."""
    from app.presets.recall import PresetRecaller

    rec = PresetRecaller(store, clock=clock, timer_thread=False)
    rec.recall({"strength": 0.9, "delta": 2.0}, fade_time=1.0, quantize="none", lookahead_s=0.0)
    rec.tick()
    real_update = store.update
    moved = []

    def update(changes, source=None, expect=None):
        if "strength" in changes and not moved and source != "gui":  # the hand lands just before this step's write
            moved.append(real_update({"strength": 0.33}, source="gui"))
        return real_update(changes, source=source, expect=expect)

    store.update = update
    clock.t += 0.5
    rec.tick()
    assert moved and store.get("strength") == 0.33 and store.get("delta") == pytest.approx(1.5)
    clock.t += 0.5
    rec.tick()
    assert store.get("strength") == 0.33 and store.get("delta") == 2.0


def test_a_recall_that_breaks_is_reported_and_the_next_one_still_works(store, monkeypatch):
    from app.presets import recall as recall_module
    from app.presets.recall import PresetRecaller
    from waiting import wait_for

    faults = []
    real_build = recall_module.build_plan
    calls = []

    def build_once_broken(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("plan exploded")
        return real_build(*a, **k)

    monkeypatch.setattr(recall_module, "build_plan", build_once_broken)
    with PresetRecaller(store) as rec:
        rec.on_error = faults.append
        rec.recall({"strength": 0.9}, fade_time=0, quantize="none", lookahead_s=0.0)
        wait_for(lambda: faults, what="the broken recall reported")
        assert "plan exploded" in faults[0] and not rec.busy
        rec.recall({"strength": 0.8}, fade_time=0, quantize="none", lookahead_s=0.0)
        wait_for(lambda: store.get("strength") == 0.8, what="the next recall applied")
