"""ShowControl.trigger: the one executor of the action table (toggles, PANIC, preset stepping, refusals)."""

import pytest

from app.presets import PresetStore
from app.show_actions import ShowActionError
from app.show_control import ShowControl
from engine.params.actions import ACTIONS, SAFE_PRESET


def _show(store, presets):
    s = ShowControl(store, presets)
    s.start()
    return s


@pytest.fixture
def show(store, tmp_path):
    s = _show(store, PresetStore(tmp_path / "shipped-and-user", params=store.params))  # with the shipped presets
    yield s
    s.stop()


@pytest.fixture
def stepper(store, presets):
    """Three user presets and nothing shipped: a, B, c (list order ignores case), each its own strength."""
    for name, strength in (("a", 0.1), ("B", 0.2), ("c", 0.3)):
        presets.save(name, {"strength": strength})
    store.set("preset_fade_time", 0.0)
    s = _show(store, presets)
    yield s
    s.stop()


def _step(show, name):
    recalled = show.trigger(name)
    assert show.recaller.wait_idle(10)
    return recalled


@pytest.mark.parametrize("name", [a.name for a in ACTIONS if a.toggle])
def test_a_toggle_flips_its_parameter_with_the_callers_source(show, store, name):
    seen = []
    store.subscribe(lambda n, v, src: seen.append((n, v, src)))
    assert show.trigger(name, source="osc:1.2.3.4:5") is None
    assert show.trigger(name) is None
    assert seen == [(name, True, "osc:1.2.3.4:5"), (name, False, "show")]


def test_panic_blacks_out_stops_fades_and_recalls_the_safe_preset_at_once(show, store):
    store.update({"preset_fade_time": 10.0, "passthrough": True, "freeze": True})
    show.recall_preset("neon-punch")  # a 10 s crossfade in progress
    assert show.trigger("panic", source="gui") is None
    assert (store.get("blackout"), store.get("passthrough"), store.get("freeze")) == (True, False, False)
    assert store.get("fade_to_black") is True  # from 'blackout-safe', not faded
    assert not show.recaller.busy
    assert show.last_preset == SAFE_PRESET
    assert _step(show, "panic") is None  # again: still black, nothing scheduled
    assert store.get("blackout") is True


def test_panic_without_the_safe_preset_is_still_black_and_says_why(store, presets):
    show = _show(store, presets)  # no shipped presets: there is no 'blackout-safe'
    try:
        store.update({"passthrough": True, "freeze": True})
        note = show.trigger("panic")
    finally:
        show.stop()
    assert note.startswith("panic: blackout on; preset 'blackout-safe' not recalled:") and "\n" not in note
    assert (store.get("blackout"), store.get("passthrough"), store.get("freeze")) == (True, False, False)


def test_next_and_previous_walk_the_list_from_the_last_recall_and_wrap(stepper, store):
    assert stepper.preset_names() == ["a", "B", "c"]
    assert [_step(stepper, "preset_next") for _ in range(4)] == ["a", "B", "c", "a"]  # none recalled yet: the first
    assert store.get("strength") == 0.1
    assert [_step(stepper, "preset_previous") for _ in range(2)] == ["c", "B"]
    assert store.get("strength") == 0.2
    stepper.trigger("preset_recall", 2)  # any surface's recall is where the next step starts
    assert stepper.recaller.wait_idle(10) and _step(stepper, "preset_next") == "a"


def test_previous_with_nothing_recalled_starts_at_the_end(stepper):
    assert _step(stepper, "preset_previous") == "c"


def test_stepping_follows_a_rename_and_survives_a_delete(stepper, store):
    assert _step(stepper, "preset_next") == "a"
    stepper.trigger("preset_rename", ("a", "Ab"))
    assert stepper.last_preset == "Ab" and _step(stepper, "preset_next") == "B"
    stepper.trigger("preset_delete", "B")
    assert stepper.preset_names() == ["Ab", "c"]
    assert _step(stepper, "preset_next") == "c"  # from where 'B' stood
    stepper.trigger("preset_delete", "c")
    assert _step(stepper, "preset_previous") == "Ab"


def test_a_broken_preset_is_stepped_over_on_the_next_press(stepper, store):
    (stepper.presets.directory / "b2.json").write_text("{not json")
    assert _step(stepper, "preset_next") == "a" and _step(stepper, "preset_next") == "B"
    with pytest.raises(ShowActionError, match="not valid JSON"):
        stepper.trigger("preset_next")
    assert _step(stepper, "preset_next") == "c"


def test_stepping_without_presets_is_refused(store, presets):
    show = _show(store, presets)
    try:
        with pytest.raises(ShowActionError, match="no presets"):
            show.trigger("preset_next")
    finally:
        show.stop()


def test_save_recall_list_and_tap_through_trigger(stepper, store):
    store.set("strength", 0.77)
    stepper.trigger("preset_save", "mine")
    assert stepper.trigger("preset_list") == ["a", "B", "c", "mine"]
    assert stepper.trigger("preset_list", 2) == ["c", "mine"]
    store.set("strength", 0.5)
    stepper.trigger("preset_recall", "mine")
    assert stepper.recaller.wait_idle(10) and store.get("strength") == 0.77
    stepper.trigger("recall_preset", 0)  # the older name still runs
    assert stepper.recaller.wait_idle(10) and store.get("strength") == 0.1
    clock = [10.0]
    stepper.tempo.clock = lambda: clock[0]
    for t in (10.0, 10.5):
        clock[0] = t
        stepper.trigger("tap")
    assert store.get("bpm") == 120.0


@pytest.mark.parametrize("name, arg, expect", [
    ("warp", None, "there is no action 'warp' (actions: blackout, "),
    ("panic", 1, "panic takes no argument; got int 1"),
    ("preset_save", 3, "preset_save takes a preset name (text), not int 3"),
    ("preset_save", None, "preset_save takes a preset name; got none"),
    ("preset_save", "x" * 201, "limited to 200 characters"),
    ("preset_recall", -1, "an index is 0 or more"),
    ("preset_recall", 1.5, "a preset name or a 0-based index; got float 1.5"),
    ("preset_rename", "old", "takes two names (old, new)"),
    ("preset_recall", "no-such", "no preset named 'no-such'"),
    ("preset_delete", "../up", "may not contain"),
])
def test_an_unknown_action_or_a_bad_argument_is_one_line(stepper, store, name, arg, expect):
    before = store.snapshot()
    with pytest.raises(ShowActionError) as e:
        stepper.trigger(name, arg)
    assert expect in str(e.value) and "\n" not in str(e.value)
    assert store.snapshot() is before
