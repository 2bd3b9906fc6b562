"""Cue and take (issue 15): the next look is edited off-air and taken with the preset crossfade."""

from __future__ import annotations

import numpy as np
import pytest
from waiting import wait_for

from app.presets.cue import captured_values, cue_names
from app.presets.store import PresetStore
from app.show_actions import ShowActionError
from app.show_control import ShowControl
from engine.live.pipeline import IdentityStage, LivePipeline
from engine.sinks.preview import PreviewSink
from engine.sources import PatternSource


class Show:
    """A show control on a clock the test moves (no timer thread: ``at(t)`` ticks the recaller)."""

    def __init__(self, store, folder):
        self.store = store
        self.now = [100.0]
        presets = PresetStore(folder, shipped_directory=None, params=store.params)
        presets.save("warm", {"strength": 0.9, "prompt.1.text": "embers", "prompt.1.weight": 1.0,
                              "guidance": "full", "model": "big-model"})
        self.control = ShowControl(store, presets, clock=lambda: self.now[0], timer_thread=False)
        self.control.start()

    def at(self, t: float) -> None:
        self.now[0] = t
        self.control.recaller.tick()


@pytest.fixture
def show(store, tmp_path):
    s = Show(store, tmp_path / "presets")
    yield s
    s.control.stop()


def test_a_cued_preset_is_off_air_until_taken_then_crossfades_to_it(show, store):
    store.update({"preset_fade_time": 2.0, "prompt.1.text": "ice", "strength": 0.3})
    show.control.trigger("cue_reset", source="gui")
    program = store.snapshot()
    show.control.trigger("cue_preset", "warm", source="osc")
    cue = show.control.cue
    assert (cue.store.get("strength"), cue.store.get("prompt.1.text"), cue.store.get("guidance")) == (0.9, "embers", "full")
    show.at(105.0)
    assert store.snapshot() is program  # cueing wrote nothing to the program, and nothing is scheduled
    assert not show.control.recaller.busy

    show.control.trigger("take", source="gui")
    show.at(105.0)  # the recall starts: switches at the start, numbers fade
    assert store.get("guidance") == "full" and store.get("strength") == pytest.approx(0.3)
    show.at(106.0)
    assert store.get("strength") == pytest.approx(0.6)  # half way through a 2 s fade
    show.at(107.0)
    assert store.get("strength") == 0.9 and store.get("prompt.1.text") == "embers"
    assert not show.control.recaller.busy
    assert show.control.last_preset == "warm"  # taken unchanged: next/previous step from it
    assert store.get("model") == program["model"]  # a take never touches reload-level settings
    assert cue.store.get("strength") == 0.9  # the cue keeps the look taken


def test_edits_to_the_cue_stay_off_air_and_a_take_is_quantised_like_a_recall(show, store):
    store.update({"preset_fade_time": 0.0, "preset_quantize": "bar", "bpm": 120.0})
    show.control.tempo.set_origin(100.0)  # bars of 2 s from t = 100
    before = store.snapshot()
    show.control.cue.store.update({"prompt.2.text": "fog", "prompt.2.weight": 0.5, "seed.1.value": 7})
    assert store.snapshot() is before
    show.control.trigger("cue_preset", "warm")
    show.control.cue.store.set("strength", 0.7)  # a hand on the cue: it is no longer just 'warm'
    show.at(100.5)
    show.control.take()
    show.at(101.9)
    assert store.snapshot() is before  # waits for the bar
    show.at(102.0)
    s = store.snapshot()
    assert (s["prompt.2.text"], s["prompt.2.weight"], s["seed.1.value"], s["strength"]) == ("fog", 0.5, 7, 0.7)
    assert show.control.last_preset is None


def test_cue_reset_copies_the_program_and_the_cue_holds_the_look_only(show, store):
    names = cue_names(store.params)
    assert "strength" in names and "prompt.1.text" in names and "seed.2.weight" in names
    assert not {"model", "size", "steps", "accel", "blackout", "bpm", "tap", "output_fps", "preset_fade_time"} & set(names)
    assert set(names) <= set(captured_values(store))
    store.update({"strength": 0.25, "prompt.3.text": "moss", "blackout": True})
    show.control.cue.store.set("strength", 0.8)
    show.control.trigger("cue_reset")
    assert show.control.cue.values() == {n: store.get(n) for n in names}
    assert show.control.cue.store.get("blackout") is False  # not part of a look: never copied, never taken


def test_refusals_change_neither_cue_nor_program(show, store):
    cue_before, before = show.control.cue.store.snapshot(), store.snapshot()
    for name, arg in (("cue_preset", "nope"), ("cue_preset", 5), ("cue_preset", None), ("take", 1), ("cue_reset", "x")):
        with pytest.raises(ShowActionError):
            show.control.trigger(name, arg)
    assert show.control.cue.store.snapshot() is cue_before and store.snapshot() is before


class StrengthStage(IdentityStage):
    """A model whose picture is the strength it was last synced with (grey level = strength * 255)."""

    def sync(self, snapshot) -> bool:
        self.level = round(snapshot["strength"] * 255)
        return False

    def process(self, frames):
        return [np.full((self.size, self.size, 3), self.level, np.uint8) for _ in frames]


def test_end_to_end_the_output_is_unchanged_until_the_take(store, tmp_path):
    store.update({"size": 64, "output_size": "512x512", "output_fps": 30, "preset_fade_time": 0.0, "strength": 0.2})
    presets = PresetStore(tmp_path / "presets", shipped_directory=None, params=store.params)
    presets.save("bright", {"strength": 1.0})
    show = ShowControl(store, presets)
    pipeline = LivePipeline(store, StrengthStage(64), PatternSource(64, 64, fps=30, static=True))
    preview = PreviewSink()
    pipeline.add_sink(preview)
    centre = lambda: int(preview.latest()[0][256, 256, 0]) if preview.latest()[0] is not None else None  # noqa: E731
    show.start()
    pipeline.start()
    try:
        wait_for(lambda: centre() == 51, what="the program's look on the output")
        show.trigger("cue_preset", "bright")
        show.cue.store.set("prompt.1.text", "sun")
        seen = preview.count
        wait_for(lambda: preview.count >= seen + 10, what="ten more output frames")
        assert centre() == 51 and store.get("strength") == 0.2
        show.trigger("take")
        wait_for(lambda: centre() == 255, what="the cue on the output")
        assert store.get("prompt.1.text") == "sun"
    finally:
        pipeline.stop()
        show.stop()
