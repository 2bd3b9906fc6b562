"""MIDI learn and mappings through real virtual MIDI ports (JACK dummy server, rtmidi's JACK API)."""

from __future__ import annotations

import pytest
from mido import Message

from app.midi import CCMapping, MidiController, MidiError, NoteMapping, list_input_ports, read_mappings
JACK_API = "UNIX_JACK"


def cc(control, value, channel=1):
    return Message("control_change", channel=channel - 1, control=control, value=value)


def note_on(note, velocity=100, channel=1):
    return Message("note_on", channel=channel - 1, note=note, velocity=velocity)


def note_off(note, channel=1):
    return Message("note_off", channel=channel - 1, note=note)


def test_ports_are_listed_and_opened_by_part_of_their_name(controller_port, store, midi_options, open_midi, send):
    port, name = controller_port
    assert name in list_input_ports(JACK_API, client_name=midi_options["client_name"])
    with open_midi(store, port, port_name=port.name.upper()) as ctl:
        assert ctl.port_name == name
        ctl.map(CCMapping(control=1, param="brightness"))
        send(ctl, port, cc(1, 0))
        assert store.get("brightness") == 0.0
    assert ctl.closed
    with pytest.raises(MidiError, match="no MIDI input port matches 'no-such-controller'"):
        MidiController(store, port_name="no-such-controller", **midi_options)


def test_learn_binds_the_next_cc_and_relearning_replaces(midi, controller_port, store, send):
    port, _ = controller_port
    midi.learn("strength")
    assert midi.learning == "strength"
    send(midi, port, cc(7, 30, channel=3))
    learned = midi.wait_learned(timeout=2)
    assert learned == CCMapping(channel=3, control=7, param="strength", lo=0.02, hi=1.0)
    assert midi.learning is None
    assert store.get("strength") == 0.5  # the binding move only binds
    send(midi, port, cc(7, 127, channel=3))
    assert store.get("strength") == 1.0
    send(midi, port, cc(7, 0, channel=1))  # same CC number, other channel: not mapped
    assert store.get("strength") == 1.0

    midi.learn("delta")  # relearn the same control: it now drives delta only
    send(midi, port, cc(7, 5, channel=3))
    assert midi.wait_learned(timeout=2).param == "delta"
    send(midi, port, cc(7, 127, channel=3))
    assert store.get("delta") == 2.0 and store.get("strength") == 1.0
    assert [m.param for m in midi.mappings()] == ["delta"]
    # learned mappings are saved at once (autosave) in the data dir
    assert midi.mappings_path.exists()


def test_learn_a_note_picks_toggle_momentary_or_trigger_by_kind(midi, controller_port, store, send):
    port, _ = controller_port
    for param, key, mode in (("passthrough", 36, "toggle"), ("blackout_momentary", 37, "momentary"), ("tap", 38, "trigger")):
        midi.learn(param)
        send(midi, port, note_off(key))  # a key release does not bind
        assert midi.learning == param
        send(midi, port, note_on(key))
        assert midi.wait_learned(timeout=2) == NoteMapping(note=key, param=param, mode=mode)
    midi.learn("passthrough")
    midi.cancel_learn()
    assert midi.learning is None and midi.wait_learned(timeout=0.01) is None
    send(midi, port, note_on(50))
    assert len(midi.mappings()) == 3


def test_cc_sweep_covers_the_range_a_sub_range_and_inverted(midi, controller_port, store, send):
    port, _ = controller_port
    midi.map(CCMapping(control=0, param="guidance_scale"))
    midi.map(CCMapping(control=1, param="strength", lo=0.2, hi=0.6))
    midi.map(CCMapping(control=2, param="brightness", invert=True))
    midi.map(CCMapping(control=3, param="steps"))  # INT 1..8
    midi.map(CCMapping(control=4, param="guidance"))  # CHOICE none/self/initialize/full
    midi.map(CCMapping(control=5, param="freeze"))  # BOOL at >= 64
    seen = {n: [] for n in ("guidance_scale", "strength", "brightness", "steps", "guidance", "freeze")}
    for v in range(128):
        send(midi, port, *(cc(c, v) for c in range(6)))
        for n in seen:
            seen[n].append(store.get(n))
    assert seen["guidance_scale"][0] == 0.0 and seen["guidance_scale"][127] == 10.0
    assert seen["guidance_scale"][64] == pytest.approx(64 / 127 * 10)
    assert seen["guidance_scale"] == sorted(seen["guidance_scale"])
    assert seen["strength"][0] == pytest.approx(0.2) and seen["strength"][127] == pytest.approx(0.6)
    assert all(0.2 - 1e-9 <= s <= 0.6 + 1e-9 for s in seen["strength"])
    assert seen["brightness"][0] == 2.0 and seen["brightness"][127] == 0.0
    assert seen["brightness"] == sorted(seen["brightness"], reverse=True)
    assert seen["steps"][0] == 1 and seen["steps"][127] == 8 and set(seen["steps"]) == set(range(1, 9))
    assert seen["guidance"][:32] == ["none"] * 32 and seen["guidance"][-32:] == ["full"] * 32
    assert seen["guidance"][32] == "self" and seen["guidance"][64] == "initialize"
    assert seen["freeze"] == [False] * 64 + [True] * 64


def test_notes_toggle_hold_and_fire(midi, controller_port, store, send):
    port, _ = controller_port
    midi.map(NoteMapping(note=36, param="passthrough"))
    midi.map(NoteMapping(note=37, param="blackout_momentary"))
    midi.map(NoteMapping(note=38, param="tap"))
    taps = []
    store.subscribe(lambda name, value, source: taps.append(source) if name == "tap" else None)

    send(midi, port, note_on(36), note_off(36))
    assert store.get("passthrough") is True
    send(midi, port, note_on(36), note_on(36, velocity=0))  # velocity 0 is a release
    assert store.get("passthrough") is False

    send(midi, port, note_on(37))
    assert store.get("blackout_momentary") is True
    send(midi, port, note_off(37))
    assert store.get("blackout_momentary") is False

    send(midi, port, note_on(38), note_off(38), note_on(38))
    assert taps == ["midi", "midi"]


class RecordingActions:
    """The show-actions seam (app.show_actions.ShowActions), recording what MIDI asks of it."""

    def __init__(self):
        self.calls = []

    def trigger(self, name, arg=None, source=None):
        if arg == 9:
            from app.show_actions import ShowActionError

            raise ShowActionError("there is no preset 9")
        self.calls.append((name, arg, source))


def test_notes_run_show_actions(store, controller_port, open_midi, send):
    port, name = controller_port
    actions = RecordingActions()
    with open_midi(store, port, actions, port_name=name) as ctl:
        ctl.map(NoteMapping(note=40, action="tap"))
        ctl.map(NoteMapping(note=41, action="recall_preset", preset=1))  # the older files' names still load
        ctl.map(NoteMapping(note=42, action="preset_recall", arg=9))
        ctl.learn_action("recall_preset", preset="intro")
        send(ctl, port, note_on(43))
        assert ctl.wait_learned(timeout=2) == NoteMapping(note=43, action="preset_recall", arg="intro")
        ctl.learn("panic")  # an action that is no parameter is learned by its name alone
        send(ctl, port, note_on(44))
        assert ctl.wait_learned(timeout=2) == NoteMapping(note=44, action="panic")
        send(ctl, port, note_on(40), note_off(40), note_on(41), note_on(42), note_on(43), note_on(44))
        assert actions.calls == [("tap", None, "midi"), ("preset_recall", 1, "midi"), ("preset_recall", "intro", "midi"),
                                 ("panic", None, "midi")]
        assert ctl.stats()["action_errors"] == 1  # preset 9 refused, input keeps going


def test_soft_takeover_waits_until_the_control_passes_the_value(midi, controller_port, store, send):
    port, _ = controller_port
    midi.map(CCMapping(control=0, param="strength", lo=0.0 + 0.02, hi=1.0))
    midi.map(CCMapping(control=1, param="guidance_scale", takeover=False))
    send(midi, port, cc(0, 0), cc(1, 0))
    assert store.get("strength") == pytest.approx(0.02)

    store.set("strength", 0.8, source="osc")  # another surface moves it; the fader still sits at 0
    store.set("guidance_scale", 8.0, source="osc")
    assert midi.router.engaged("cc", 1, 0) is False
    send(midi, port, cc(0, 10), cc(0, 40), cc(0, 90))  # far below 0.8 (~CC 101): held
    assert store.get("strength") == 0.8
    assert midi.stats()["held"] == 3
    send(midi, port, cc(1, 10))  # without takeover the value jumps at once
    assert store.get("guidance_scale") == pytest.approx(10 / 127 * 10)

    send(midi, port, cc(0, 105))  # passes 0.8 between 90 and 105: picks up
    assert store.get("strength") == pytest.approx(0.02 + 105 / 127 * 0.98)
    assert midi.router.engaged("cc", 1, 0) is True
    send(midi, port, cc(0, 20))
    assert store.get("strength") == pytest.approx(0.02 + 20 / 127 * 0.98)

    # coming within the tolerance (2 CC steps) of the value picks up too, without passing it
    store.set("strength", 0.5, source="gui")
    send(midi, port, cc(0, 30), cc(0, 60))
    assert store.get("strength") == 0.5
    send(midi, port, cc(0, 63))  # 0.5 sits at CC ~63.5
    assert store.get("strength") == pytest.approx(0.02 + 63 / 127 * 0.98)


def test_two_controls_on_one_parameter_take_over_from_each_other(midi, controller_port, store, send):
    port, _ = controller_port
    midi.map(CCMapping(control=0, param="brightness"))
    midi.map(CCMapping(control=1, param="brightness"))
    send(midi, port, cc(0, 127))
    assert store.get("brightness") == 2.0
    assert midi.router.engaged("cc", 1, 0) is True and midi.router.engaged("cc", 1, 1) is False
    send(midi, port, cc(1, 0))
    assert store.get("brightness") == 2.0


def test_dreamdecks_own_virtual_port_takes_connections(store, midi_options, send, wait_connected):
    import rtmidi

    class Sender:  # another program connecting to DreamDeck's port
        def __init__(self):
            self.rt = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=midi_options["client_name"] + "-sender")

        def send(self, msg):
            self.rt.send_message(msg.bytes())

    with MidiController(store, virtual=True, **midi_options) as ctl:
        assert ctl.port_name == "midi_in"
        out = Sender()
        try:
            ports = out.rt.get_ports()
            out.rt.open_port(ports.index(midi_options["client_name"] + ":midi_in"))
            wait_connected(ctl, out)
            ctl.map(CCMapping(channel=16, control=127, param="fade_time"))
            send(ctl, out, cc(127, 127, channel=16))
            assert store.get("fade_time") == 30.0
        finally:
            out.rt.delete()


def test_mappings_survive_a_restart_and_a_bad_file_keeps_them(store, controller_port, open_midi, tmp_path, send):
    port, name = controller_port
    with open_midi(store, port, port_name=name) as ctl:
        ctl.learn("brightness")
        send(ctl, port, cc(9, 1))
        assert ctl.wait_learned(timeout=2) is not None
        ctl.map(NoteMapping(note=60, param="freeze"))  # map() saves too
        learned = ctl.mappings()
    saved = (tmp_path / "midi_mappings.json").read_text()

    with open_midi(store, port, port_name=name) as ctl:  # a restart
        assert ctl.mappings() == learned and ctl.load_error is None
        bad = tmp_path / "bad.json"
        bad.write_text('{"schema_version": 1, "mappings": [{"type": "cc", "control": 1, "param": "no_such"}]}')
        with pytest.raises(MidiError, match="bad.json: mappings.0: there is no parameter named 'no_such'"):
            ctl.load(bad)
        assert ctl.mappings() == learned
        send(ctl, port, cc(9, 127))
        assert store.get("brightness") == 2.0

    (tmp_path / "midi_mappings.json").write_text(saved[:-20])  # a truncated file (edited by hand, say)
    with open_midi(store, port, port_name=name) as ctl:
        assert ctl.mappings() == [] and "not valid JSON" in ctl.load_error and "\n" not in ctl.load_error
        send(ctl, port, cc(9, 0))
        assert store.get("brightness") == 2.0
        ctl.map(CCMapping(control=9, param="delta"))  # autosave leaves the broken file for the user to fix
        assert (tmp_path / "midi_mappings.json").read_text() == saved[:-20] and "did not load" in ctl.save_error
        ctl.save()  # an explicit save replaces it
        assert read_mappings(tmp_path / "midi_mappings.json", store) == ctl.mappings() and ctl.load_error is None


def test_the_shipped_generic_controller_mapping_drives_dreamdeck(store, controller_port, open_midi, send):
    from app.midi.templates import TEMPLATE_DIR

    port, name = controller_port
    with open_midi(store, port, RecordingActions(), port_name=name) as ctl:
        ctl.load(TEMPLATE_DIR / "generic-midi-controller.json")
        send(ctl, port, cc(0, 127), cc(23, 127), note_on(33))
        assert store.get("strength") == 1.0 and store.get("bpm") == 180.0 and store.get("blackout_momentary") is True
        send(ctl, port, note_off(33), note_on(38), note_on(49))
        assert store.get("blackout_momentary") is False
        assert ctl.router.actions.calls == [("tap", None, "midi"), ("preset_recall", 1, "midi")]


def test_the_command_line_lists_learns_and_runs_live(store, controller_port, midi_options, tmp_path, monkeypatch,
                                                      capsys, send, wait_connected):
    import argparse
    import threading

    from app.midi import commands

    monkeypatch.setenv("DREAMDECK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DREAMDECK_MIDI_API", JACK_API)
    monkeypatch.setattr("app.midi.input.CLIENT_NAME", midi_options["client_name"])
    parser = argparse.ArgumentParser()
    commands.add_midi_parser(parser.add_subparsers())
    port, name = controller_port

    a = parser.parse_args(["midi", "ports"])
    assert a.func(a) == 0 and name in capsys.readouterr().out.splitlines()

    a = parser.parse_args(["midi", "learn", "delta", "--port", port.name, "--timeout", "10"])
    done = threading.Thread(target=a.func, args=(a,))
    done.start()
    try:  # keep moving the knob until the learn command (once connected) binds it
        while done.is_alive():
            port.send(cc(21, 64))
            done.join(0.05)
    finally:
        done.join()
    assert "learned: CC 21 ch 1 -> delta 0..2" in capsys.readouterr().out
    a = parser.parse_args(["midi", "list"])
    a.func(a)
    assert "1 mappings" in capsys.readouterr().out

    live = argparse.ArgumentParser()
    commands.add_midi_arguments(live)
    from app.session import config_from_args
    from app.session.midi import SessionMidi

    config = config_from_args(live.parse_args(["--midi", port.name]), "pattern")  # what `live --midi` gives the session
    midi = SessionMidi(store, None, **config.midi_options())
    assert midi.open(config.midi_port) == f"midi: {name}, 1 mappings"
    try:
        wait_connected(midi.controller, port)
        send(midi.controller, port, cc(21, 127))
        assert store.get("delta") == 2.0
    finally:
        midi.close()
    assert config_from_args(live.parse_args([]), "pattern").midi_port is None  # no --midi: MIDI off
