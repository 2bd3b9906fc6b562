"""MIDI notes that run actions of the one action table: the mapping file format (old files
still load), learning an action, unmapping one, and `dreamdeck midi learn ACTION` through a
real JACK port."""

from __future__ import annotations

import json

import pytest
from mido import Message

from app.midi import MappingFileError, NoteMapping
from app.midi.errors import MappingError
from app.midi.mapping_file import dump_mappings, parse_mappings
from app.midi.router import MidiRouter


class Recorder:
    def __init__(self):
        self.calls = []

    def trigger(self, name, arg=None, source=None):
        self.calls.append((name, arg, source))


def _doc(*mappings):
    return json.dumps({"schema_version": 1, "mappings": list(mappings)})


def note_on(note):
    return Message("note_on", note=note, velocity=100)


@pytest.fixture
def router(store):
    r = MidiRouter(store, Recorder())
    yield r
    r.close()


def test_an_older_file_loads_with_the_table_names_and_saves_in_them(store):
    old = _doc({"type": "note", "note": 40, "action": "recall_preset", "preset": 0},
               {"type": "note", "note": 41, "action": "recall_preset", "preset": "intro"},
               {"type": "note", "note": 42, "action": "tap"})
    mappings = parse_mappings(old, store)
    assert mappings == [NoteMapping(note=40, action="preset_recall", arg=0),
                        NoteMapping(note=41, action="preset_recall", arg="intro"), NoteMapping(note=42, action="tap")]
    saved = json.loads(dump_mappings(mappings))["mappings"]
    assert saved[0] == {"type": "note", "channel": 1, "note": 40, "action": "preset_recall", "arg": 0}
    assert parse_mappings(dump_mappings(mappings), store) == mappings


def test_any_runnable_action_of_the_table_loads(store):
    doc = _doc({"type": "note", "note": 1, "action": "panic"}, {"type": "note", "note": 2, "action": "preset_next"},
               {"type": "note", "note": 3, "action": "blackout"},
               {"type": "note", "note": 4, "action": "preset_rename", "arg": ["a", "b"]})
    assert [m.action for m in parse_mappings(doc, store)] == ["panic", "preset_next", "blackout", "preset_rename"]
    assert parse_mappings(doc, store)[3].arg == ("a", "b")


@pytest.mark.parametrize("mapping, words", [
    ({"type": "note", "note": 1, "action": "warp"}, "there is no action 'warp'"),
    ({"type": "note", "note": 1, "action": "preset_list"}, "preset_list answers a question that MIDI cannot hear"),
    ({"type": "note", "note": 1, "action": "preset_save"}, "preset_save takes a preset name; got none"),
    ({"type": "note", "note": 1, "action": "panic", "arg": 2}, "panic takes no argument"),
    ({"type": "note", "note": 1, "action": "tap", "mode": "toggle"}, "mode is for param mappings"),
    ({"type": "note", "note": 1, "param": "blackout", "arg": 2}, "arg goes with an action"),
    ({"type": "note", "note": 1, "action": "recall_preset", "preset": 1, "arg": 2}, "give the action's argument once"),
])
def test_a_bad_action_mapping_is_one_line(store, mapping, words):
    with pytest.raises(MappingFileError, match=words) as e:
        parse_mappings(_doc(mapping), store)
    assert "\n" not in str(e.value)


def test_notes_run_actions_through_trigger_on_note_on_only(router):
    router.map(NoteMapping(note=1, action="panic"))
    router.map(NoteMapping(note=2, action="preset_recall", arg=3))
    for m in (note_on(1), Message("note_off", note=1), note_on(2), Message("note_on", note=2, velocity=0)):
        router.handle(m)
    assert router.actions.calls == [("panic", None, "midi"), ("preset_recall", 3, "midi")]
    assert router.stats()["applied"] == 2


def test_learn_takes_an_action_by_name_and_learn_action_takes_one_that_is_a_parameter_too(router, store):
    router.learn("preset_next")  # no parameter has that name
    assert router.learning == "preset_next"
    router.handle(note_on(10))
    router.learn("blackout")  # the parameter...
    router.handle(note_on(11))
    router.learn_action("blackout")  # ...and the action
    router.handle(note_on(12))
    router.learn_action("preset_recall", "intro")
    router.handle(Message("control_change", control=5, value=9))  # actions bind to notes: a knob is not learned
    router.handle(note_on(13))
    assert [m.describe() for m in router.mappings()] == [
        "note 10 ch 1 -> action preset_next", "note 11 ch 1 -> blackout (toggle)", "note 12 ch 1 -> action blackout",
        "note 13 ch 1 -> action preset_recall 'intro'"]
    with pytest.raises(MappingError, match="preset_save takes a preset name"):
        router.learn_action("preset_save")
    with pytest.raises(MappingError, match="there is no parameter named 'warp'"):
        router.learn("warp")


def test_unmap_action_removes_the_notes_of_that_action(router):
    for note, name, arg in ((1, "panic", None), (2, "preset_recall", 0), (3, "preset_recall", 1), (4, "tap", None)):
        router.map(NoteMapping(note=note, action=name, arg=arg))
    assert [m.note for m in router.unmap_action("recall_preset")] == [2, 3]
    assert [m.action for m in router.mappings()] == ["panic", "tap"]
    with pytest.raises(MappingError, match="there is no action 'warp'"):
        router.unmap_action("warp")


def test_a_show_actions_refusal_is_counted_and_the_input_goes_on(store):
    class Refuses:
        def trigger(self, name, arg=None, source=None):
            from app.show_actions import ShowActionError

            raise ShowActionError("there are no presets to step through")

    router = MidiRouter(store, Refuses())
    try:
        router.map(NoteMapping(note=1, action="preset_next"))
        router.map(NoteMapping(note=2, action="blackout"))
        router.handle(note_on(1))
        assert router.stats()["action_errors"] == 1
    finally:
        router.close()
    no_show = MidiRouter(store)  # without show control only the registry's tap runs
    try:
        no_show.map(NoteMapping(note=2, action="blackout"))
        no_show.handle(note_on(2))
        assert no_show.stats()["action_errors"] == 1 and store.get("blackout") is False
    finally:
        no_show.close()


def test_the_command_line_learns_and_unmaps_an_action(store, controller_port, midi_options, tmp_path, monkeypatch,
                                                        capsys):
    import argparse
    import threading

    from app.midi import commands

    monkeypatch.setenv("DREAMDECK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DREAMDECK_MIDI_API", "UNIX_JACK")
    monkeypatch.setattr("app.midi.input.CLIENT_NAME", midi_options["client_name"])
    parser = argparse.ArgumentParser()
    commands.add_midi_parser(parser.add_subparsers())
    port, _ = controller_port
    for argv, pad, learned in ((["panic"], 20, "note 20 ch 1 -> action panic"),
                               (["blackout", "--action"], 21, "note 21 ch 1 -> action blackout"),
                               (["preset_recall", "--arg", "2"], 22, "note 22 ch 1 -> action preset_recall 2")):
        a = parser.parse_args(["midi", "learn", *argv, "--port", port.name, "--timeout", "10"])
        done = threading.Thread(target=a.func, args=(a,))
        done.start()
        try:  # keep pressing the pad until the learn command (once connected) binds it
            while done.is_alive():
                port.send(note_on(pad))
                done.join(0.05)
        finally:
            done.join()
        assert f"learned: {learned}" in capsys.readouterr().out
    a = parser.parse_args(["midi", "unmap", "blackout", "--action"])
    assert a.func(a) == 0 and "removed 1 mapping(s) of blackout" in capsys.readouterr().out
    a = parser.parse_args(["midi", "list"])
    a.func(a)
    out = capsys.readouterr().out
    assert "2 mappings" in out and "action panic" in out and "action preset_recall 2" in out
