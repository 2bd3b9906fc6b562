"""The show file (app.session.persist): the running show saved as it changes, and restored at start."""

import json
import logging

import pytest
from waiting import wait_for

from app.session.persist import FORMAT, SAFETY_OFF, ShowFile, read_document
from engine.params.catalog import engine_store

LOOK = {"prompt.1.text": "neon jellyfish", "prompt.2.text": "rusty robot", "prompt.2.weight": 0.4, "strength": 0.73,
        "steps": 3, "guidance": "full", "guidance_scale": 2.5, "delta": 0.6, "seed.1.value": 1234, "seed_blend": "linear",
        "output_size": "640x360", "output_fps": 24, "audio_azimuth": 45.0, "audio_distance": 3.0, "bpm": 128.0,
        "model": "stabilityai/sd-turbo", "size": "512"}


def saved(path) -> dict:
    return json.loads(path.read_text())


def on_disk(path) -> dict:
    """The file's document, empty until it is first written (to wait on)."""
    return saved(path) if path.exists() else {"values": {}, "extras": {}}


def test_round_trip_of_every_value_but_the_triggers(tmp_path):
    path = tmp_path / "show.json"
    store = engine_store()
    store.update(LOOK)
    show = ShowFile(store, path)
    show.remember("source", "file:/clips/waves.mp4")
    show.remember("live_lock", True)
    show.start()
    show.stop()
    doc = saved(path)
    assert doc["format"] == FORMAT and doc["extras"] == {"source": "file:/clips/waves.mp4", "live_lock": True}
    assert "tap" not in doc["values"]  # a trigger is not a state
    assert doc["values"]["blackout"] is False and len(doc["values"]) == len(store.params) - 1

    again = engine_store()
    back = ShowFile(again, path)
    restored = back.restore()
    assert {n: again.get(n) for n in LOOK} == LOOK
    assert again.snapshot().values == store.snapshot().values and set(restored) <= set(store.params)
    assert back.remembered("source") == "file:/clips/waves.mp4" and back.remembered("live_lock") is True
    assert back.remembered("nothing", "default") == "default" and back.notes == []


def test_writes_follow_changes_at_most_every_interval_and_the_last_value_wins(tmp_path):
    path = tmp_path / "show.json"
    store = engine_store()
    show = ShowFile(store, path, interval=0.2)
    show.start()
    wait_for(lambda: show.writes == 1, what="the write at start")
    store.set("tap", True)  # a trigger alone writes nothing
    for i in range(300):  # a fader moved for a while
        store.set("strength", 0.1 + i / 1000)
    wait_for(lambda: on_disk(path)["values"]["strength"] == pytest.approx(0.399), what="the last value in the file")
    show.flush()  # waits for a write under way (counted once it is done)
    assert show.writes <= 6, show.writes  # not one write per change
    writes = show.writes
    store.set("prompt.1.text", "ink in water")
    wait_for(lambda: on_disk(path)["values"].get("prompt.1.text") == "ink in water", what="the next change saved")
    show.flush()
    assert show.writes == writes + 1
    show.stop()
    assert show.writes == writes + 2  # once more at the end, the show as it stops
    store.set("strength", 0.9)  # after stop nothing is followed
    assert on_disk(path)["values"].get("strength") == pytest.approx(0.399)
    assert [p.name for p in tmp_path.iterdir()] == ["show.json"]  # no temp files left


def test_a_restart_never_comes_up_dark(tmp_path):
    path = tmp_path / "show.json"
    store = engine_store()
    store.update({**{name: True for name in SAFETY_OFF}, "brightness": 0.0, "watchdog_action": "passthrough",
                  "fade_time": 5.0})
    show = ShowFile(store, path)
    show.start()
    show.stop()
    assert all(saved(path)["values"][name] is True for name in SAFETY_OFF)  # saved as they were

    again = engine_store()
    ShowFile(again, path).restore()
    assert all(again.get(name) is False for name in SAFETY_OFF)
    assert again.get("brightness") == 1.0  # black by brightness is not restored either
    assert (again.get("watchdog_action"), again.get("fade_time")) == ("passthrough", 5.0)  # the rest of safety is


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"values": {}}', '{"format": 99, "values": {}}',
                                  '{"format": 1, "values": []}', "\xff\xfe"])
def test_an_unreadable_file_is_kept_aside_and_the_show_starts_from_the_defaults(tmp_path, text):
    path = tmp_path / "show.json"
    path.write_bytes(text.encode("latin-1"))
    store = engine_store()
    show = ShowFile(store, path)
    assert show.restore() == {}
    assert store.snapshot().values == engine_store().snapshot().values
    assert len(show.notes) == 1 and "\n" not in show.notes[0]
    assert show.notes[0].startswith("dreamdeck: warning: the saved show") and "show.json.bad" in show.notes[0]
    assert (tmp_path / "show.json.bad").read_bytes() == text.encode("latin-1")  # kept as it was
    show.start()
    show.stop()
    assert saved(path)["format"] == FORMAT  # the new show is saved beside it
    # a second bad file never replaces the first one
    path.write_text("{again")
    ShowFile(engine_store(), path).restore()
    assert (tmp_path / "show.json.bad").read_bytes() == text.encode("latin-1")
    assert (tmp_path / "show.json.bad.1").read_text() == "{again"


def test_a_bad_file_that_cannot_be_put_aside_is_never_written_over(tmp_path, monkeypatch):
    import app.session.persist as persist

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    path = tmp_path / "show.json"
    path.write_text("{bad")
    monkeypatch.setattr(persist, "put_aside", refuse)  # a folder this user may not rename in
    show = ShowFile(engine_store(), path)
    show.restore()
    assert len(show.notes) == 1 and "not saved" in show.notes[0] and "Permission denied" in show.notes[0]
    show.start()
    show.stop()
    assert path.read_text() == "{bad"


def test_unknown_names_and_refused_values_are_skipped_one_line_each(tmp_path, caplog):
    path = tmp_path / "show.json"
    path.write_text(json.dumps({"format": 1, "values": {"strength": 0.8, "warp_drive": 9, "steps": 99, "guidance": "maybe",
                                                        "prompt.1.text": "kept", "tap": True, "seed.1.value": True},
                                "extras": {"source": "pattern"}, "written_by": "a later DreamDeck"}))
    store = engine_store()
    with caplog.at_level(logging.WARNING, logger="dreamdeck.session"):
        restored = ShowFile(store, path).restore()
    assert restored == {"strength": 0.8, "prompt.1.text": "kept"}
    assert (store.get("steps"), store.get("guidance"), store.get("seed.1.value")) == (2, "self", 1)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and all("\n" not in line for line in lines)
    assert any("warp_drive" in line for line in lines) and any("steps" in line for line in lines)
    assert read_document(path)["extras"] == {"source": "pattern"}


def test_a_file_that_cannot_be_written_is_said_once_and_the_show_goes_on(tmp_path, caplog):
    (tmp_path / "blocked").write_text("a file where the folder should be")
    store = engine_store()
    show = ShowFile(store, tmp_path / "blocked" / "show.json", interval=0.01)
    with caplog.at_level(logging.WARNING, logger="dreamdeck.session"):
        show.start()
        for i in range(20):
            store.set("strength", 0.2 + i / 100)
            show.flush()
        show.stop()
    assert show.writes == 0
    assert len([r for r in caplog.records if "cannot save the show" in r.getMessage()]) == 1


def test_remember_takes_what_json_holds(tmp_path):
    show = ShowFile(engine_store(), None)  # no file: remembered in memory only
    show.remember("live_lock", {"on": True, "params": ["strength"]})
    assert show.remembered("live_lock") == {"on": True, "params": ["strength"]}
    with pytest.raises(TypeError):
        show.remember("bad", object())
    show.start()
    show.stop()  # nothing to write, nothing fails


# -- the session owns it ---------------------------------------------------------------------------
def _session(tmp_path, monkeypatch, **config):
    from app.presets.store import PresetStore
    from app.session import SessionConfig, ShowSession
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage

    monkeypatch.setenv("DREAMDECK_DATA_DIR", str(tmp_path / "data"))
    store = config.pop("store", None) or engine_store()
    show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
    config = SessionConfig(osc=None, show_file=str(tmp_path / "show.json"), **config)
    return ShowSession(store, config, show=show, generator=IdentityStage(64)), store


def _saved_show(tmp_path, values, extras=None):
    (tmp_path / "show.json").write_text(json.dumps({"format": 1, "values": values, "extras": extras or {}}))


def test_the_session_restores_before_building_and_typed_flags_win(tmp_path, monkeypatch):
    from app.cli import build_parser
    from app.flags import build_store
    from app.session.config import kept_params

    _saved_show(tmp_path, {**LOOK, "size": 448, "output_size": "640x360"}, {"source": "pattern:static"})
    a = build_parser().parse_args(["gui", "--strength", "0.3", "--model", "tiny", "--fps", "15"])
    store = build_store(a)
    session, store = _session(tmp_path, monkeypatch, store=store, source="pattern:static", keep=kept_params(a))
    try:
        assert store.get("strength") == 0.3 and store.get("output_fps") == 15  # the command line's
        assert store.get("model") == "tiny" and store.get("size") == "256"  # a typed model keeps its own size
        assert store.get("prompt.1.text") == "neon jellyfish" and store.get("steps") == 3  # the saved show's
        session.start(load_model=False)
        assert session.status().output[0] == (640, 360)  # restored before the output was built
        wait_for(lambda: on_disk(tmp_path / "show.json")["values"].get("strength") == 0.3, what="the running show saved")
    finally:
        session.stop()


def test_fresh_starts_from_the_defaults_and_the_show_then_replaces_the_saved_one(tmp_path, monkeypatch):
    _saved_show(tmp_path, LOOK, {"live_lock": True})
    session, store = _session(tmp_path, monkeypatch, fresh=True)
    assert store.snapshot().values == engine_store().snapshot().values
    assert session.remembered("live_lock") is None
    session.start(load_model=False)
    session.stop()
    assert saved(tmp_path / "show.json")["values"]["prompt.1.text"] == ""


def test_remembered_facts_and_the_source_on_air_come_back(tmp_path, monkeypatch):
    session, store = _session(tmp_path, monkeypatch)
    session.start(load_model=False)
    try:
        session.use_source("pattern:static")
        session.remember("live_lock", True)
        assert session.remembered("live_lock") is True
        wait_for(lambda: on_disk(tmp_path / "show.json")["extras"] == {"source": "pattern:static", "live_lock": True},
                 what="the extras saved")
    finally:
        session.stop()
    from app.gui import default_source_spec

    source = default_source_spec(tmp_path / "show.json")  # where the console starts
    assert source == "pattern:static"
    again, _ = _session(tmp_path, monkeypatch, source=source)
    try:
        assert again.remembered("source") == "pattern:static" and again.remembered("live_lock") is True
        assert again.status().source == "pattern:static"
    finally:
        again.stop()


def test_a_fresh_look_keeps_the_model_and_the_output(tmp_path, monkeypatch):
    session, store = _session(tmp_path, monkeypatch)
    store.update({**LOOK, "size": "448", "accel": "compile", "blackout": True})
    try:
        changed = session.fresh_look()
        defaults = engine_store()
        assert "tap" not in changed and "model" not in changed
        for name in ("prompt.1.text", "strength", "steps", "guidance", "seed.1.value", "audio_azimuth"):
            assert store.get(name) == defaults.get(name), name
        assert store.get("blackout") is True  # a fresh look never lifts a blackout (safety is not part of a look)
        for name in ("model", "size", "output_size", "output_fps", "accel"):
            assert store.get(name) != defaults.get(name), name
        assert session.fresh_look() == {}  # already fresh: nothing moves
    finally:
        session.stop()
