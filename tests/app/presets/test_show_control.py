"""ShowControl: the ShowActions surfaces call (recall by name or index, save, tap)."""

import json

import pytest

from app.presets import PresetStore
from app.show_actions import ShowActionError, ShowActions
from app.show_control import ShowControl, captured_values


@pytest.fixture
def show(store, tmp_path):
    presets = PresetStore(tmp_path / "presets", params=store.params)  # with the shipped presets
    s = ShowControl(store, presets)
    s.start()
    yield s
    s.stop()


def test_is_the_show_actions_seam(show):
    assert isinstance(show, ShowActions)


def test_recall_by_name_and_by_index(show, store):
    store.update({"preset_fade_time": 0.0})
    names = show.preset_names()
    assert names == sorted(names, key=str.casefold) and "neon-punch" in names
    show.recall_preset("neon-punch")
    assert show.recaller.wait_idle(10)
    assert store.get("strength") == 0.75 and store.get("prompt.2.weight") == 0.4
    show.recall_preset(names.index("camera-through"))
    assert show.recaller.wait_idle(10)
    assert store.get("strength") == 0.25
    show.recall_preset(str(names.index("dreamy-slow")))  # OSC may send the index as text
    assert show.recaller.wait_idle(10)
    assert store.get("strength") == 0.45
    with pytest.raises(ShowActionError, match="no preset number 99"):
        show.recall_preset(99)
    with pytest.raises(ShowActionError, match="no preset named 'nope'"):
        show.recall_preset("nope")
    with pytest.raises(ShowActionError, match="may not contain"):
        show.recall_preset("../etc/passwd")


def test_a_preset_named_like_a_number_is_found_by_name(show, store):
    store.update({"preset_fade_time": 0.0})
    show.presets.save("0", {"strength": 0.66})
    show.recall_preset("0")
    assert show.recaller.wait_idle(10)
    assert store.get("strength") == 0.66


@pytest.mark.parametrize(
    "text, expect",
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 5, "name": "x", "values": {"strength": 0.1}}', "newer DreamDeck"),
        ('{"schema_version": 2, "name": "x", "values": {"strength": 0.1, "warp": 3}}', "unknown parameter warp"),
    ],
)
def test_a_bad_preset_changes_nothing(show, store, text, expect):
    store.update({"preset_fade_time": 0.0, "strength": 0.4})
    show.presets.directory.mkdir(parents=True, exist_ok=True)
    (show.presets.directory / "broken.json").write_text(text)
    before = store.snapshot()
    with pytest.raises(ShowActionError) as e:
        show.recall_preset("broken")
    assert expect in str(e.value) and "\n" not in str(e.value)
    assert not show.recaller.busy  # nothing scheduled, so nothing can change later either
    assert store.snapshot() is before


def test_save_captures_the_look_not_the_show_settings(show, store):
    store.update({"strength": 0.3, "prompt.1.text": "cat", "blackout": True, "bpm": 90.0, "output_fps": 60})
    show.save_preset("mine")
    doc = json.loads((show.presets.directory / "mine.json").read_text())
    values = doc["values"]
    assert values["strength"] == 0.3 and values["prompt.1.text"] == "cat" and values["model"] == "styles"
    assert not {"blackout", "bpm", "tap", "output_fps", "preset_fade_time", "fade_to_black"} & set(values)
    assert values == captured_values(store)
    store.update({"strength": 0.9, "prompt.1.text": "dog", "preset_fade_time": 0.0})
    show.recall_preset("mine")
    assert show.recaller.wait_idle(10)
    assert store.get("strength") == 0.3 and store.get("prompt.1.text") == "cat"
    with pytest.raises(ShowActionError, match="may not contain"):
        show.save_preset("a/b")


def test_tap_from_the_api_and_from_the_registry(show, store):
    clock = [100.0]
    show.tempo.clock = lambda: clock[0]
    for t in (100.0, 100.5):
        clock[0] = t
        show.tap()
    assert store.get("bpm") == 120.0
    clock[0] = 100.9
    store.set("tap", True, source="osc")  # the OSC/MIDI path
    assert store.get("bpm") == pytest.approx(133.33, abs=0.01)
