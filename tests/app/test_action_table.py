"""The one action table (engine.params.actions), walked action by action through every surface
here: each action is sent over real UDP to the OSC server, and run by a MIDI note mapping fed
to the router, and its effect is seen in the registry and the show control.  A new action
without a scenario below fails this test."""

from __future__ import annotations

import socket
from typing import Any, Callable

import mido
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket
from waiting import wait_for

from app.midi import NoteMapping
from app.midi.router import MidiRouter
from app.osc import OscServer
from app.osc import namespace as ns
from app.presets.store import PresetStore
from app.show_control import ShowControl
from engine.params.actions import ACTIONS, BY_ADDRESS, RUNNABLE, SAFE_PRESET, action
from engine.params.registry import Kind

NAMES = [a.name for a in ACTIONS]
Run = Callable[..., Any]  # run(arg=None): fire the action once through the surface; the answer of a query


class Show:
    """A show control on a clock the test moves, with two user presets besides the shipped ones."""

    def __init__(self, store, folder):
        self.store = store
        self.now = [1000.0]
        presets = PresetStore(folder, params=store.params)
        presets.save("one", {"strength": 0.11})
        presets.save("two", {"strength": 0.22})
        store.set("preset_fade_time", 0.0)
        self.control = ShowControl(store, presets, clock=lambda: self.now[0], timer_thread=False)
        self.control.start()

    def settle(self) -> None:
        """Move the recaller to now: a recall asked for is applied (fade time 0)."""
        self.control.recaller.tick()


# -- what each action does, seen from outside ----------------------------------------------
def _toggle(name: str):
    def scenario(run: Run, show: Show) -> None:
        assert show.store.get(name) is False
        run()
        assert show.store.get(name) is True
        run()
        assert show.store.get(name) is False  # it flips: a second press turns it off
    return scenario


def _panic(run: Run, show: Show) -> None:
    s = show.store
    s.update({"passthrough": True, "freeze": True, "preset_fade_time": 10.0})
    show.control.recall_preset("one")
    show.settle()
    assert show.control.recaller.busy  # a 10 s crossfade under way
    run()
    assert (s.get("blackout"), s.get("passthrough"), s.get("freeze")) == (True, False, False)
    assert s.get("fade_to_black") is True  # from the safe preset, applied at once
    assert not show.control.recaller.busy and show.control.last_preset == SAFE_PRESET


def _release(run: Run, show: Show) -> None:
    s = show.store
    s.update({"blackout": True, "blackout_momentary": True, "freeze": True, "passthrough": True, "fade_to_black": True})
    run()
    assert not any(s.get(n) for n in ("blackout", "blackout_momentary", "freeze", "passthrough", "fade_to_black"))
    show.control.panic()  # PANIC, then one release brings the picture back: nothing dimmed stays on
    run()
    assert not any(s.get(n) for n in ("blackout", "freeze", "passthrough", "fade_to_black"))


def _tap(run: Run, show: Show) -> None:
    show.store.set("bpm", 60.0)
    run()
    show.now[0] += 0.5
    run()
    assert show.store.get("bpm") == 120.0


def _recall(run: Run, show: Show) -> None:
    run("two")
    show.settle()
    assert show.store.get("strength") == 0.22
    run(show.control.preset_names().index("one"))
    show.settle()
    assert show.store.get("strength") == 0.11 and show.control.last_preset == "one"


def _next(run: Run, show: Show) -> None:
    show.control.recall_preset("one")
    run()
    show.settle()
    assert show.control.last_preset == "two" and show.store.get("strength") == 0.22
    run()  # "two" is the last in list order: around to the first
    show.settle()
    assert show.control.last_preset == show.control.preset_names()[0] == SAFE_PRESET


def _previous(run: Run, show: Show) -> None:
    show.control.recall_preset("two")
    run()
    show.settle()
    assert show.control.last_preset == "one" and show.store.get("strength") == 0.11


def _save(run: Run, show: Show) -> None:
    show.store.set("strength", 0.66)
    run("saved look")
    assert show.control.find_preset("saved look").values["strength"] == 0.66


def _list(run: Run, show: Show) -> None:
    names = show.control.preset_names()
    assert run() == names and run(2) == names[2:]


def _rename(run: Run, show: Show) -> None:
    run(("one", "uno"))
    assert "uno" in show.control.preset_names() and "one" not in show.control.preset_names()


def _delete(run: Run, show: Show) -> None:
    run("two")
    assert "two" not in show.control.preset_names()


def _take(run: Run, show: Show) -> None:
    show.control.cue.store.update({"strength": 0.77, "prompt.1.text": "next look"})
    assert show.store.get("strength") == 0.5 and show.store.get("prompt.1.text") == ""  # off-air
    run()
    show.settle()
    assert show.store.get("strength") == 0.77 and show.store.get("prompt.1.text") == "next look"


def _cue_preset(run: Run, show: Show) -> None:
    run("two")
    assert show.control.cue.store.get("strength") == 0.22 and show.store.get("strength") == 0.5
    run(show.control.preset_names().index("one"))
    show.settle()
    assert show.control.cue.store.get("strength") == 0.11 and show.store.get("strength") == 0.5
    show.control.take()
    show.settle()
    assert show.store.get("strength") == 0.11 and show.control.last_preset == "one"


def _cue_reset(run: Run, show: Show) -> None:
    show.control.cue.store.set("strength", 0.9)
    show.store.set("strength", 0.3)
    run()
    assert show.control.cue.store.get("strength") == 0.3 and show.store.get("strength") == 0.3


SCENARIOS = {
    **{a.name: _toggle(a.param) for a in ACTIONS if a.toggle},
    "panic": _panic, "release": _release, "tap": _tap, "preset_recall": _recall, "preset_next": _next, "preset_previous": _previous,
    "preset_save": _save, "preset_list": _list, "preset_rename": _rename, "preset_delete": _delete,
    "take": _take, "cue_preset": _cue_preset, "cue_reset": _cue_reset,
}


@pytest.fixture
def show(store, tmp_path):
    s = Show(store, tmp_path / "presets")
    yield s
    s.control.stop()


def test_every_action_has_a_scenario_and_the_table_is_consistent(store):
    assert set(SCENARIOS) == set(NAMES), "give each new action a scenario here"
    assert len(NAMES) == len(set(NAMES)) and len(BY_ADDRESS) == len(ACTIONS)
    keys = [a.key for a in ACTIONS if a.key]
    assert len(keys) == len(set(keys))
    assert {"blackout": "B", "freeze": "F", "passthrough": "P", "fade_to_black": "Shift+B", "panic": "Shift+Esc"}.items() \
        <= {a.name: a.key for a in ACTIONS}.items()
    for a in ACTIONS:
        if a.toggle:
            assert store.spec(a.param).kind is Kind.BOOL
        assert a.osc_address.startswith("/dreamdeck/") and a.description and a.label
    assert action("recall_preset") is action("preset_recall")  # older mapping files' name


# -- OSC: real UDP to the server ---------------------------------------------------------
class OscSender:
    def __init__(self, server: OscServer):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)

    def run(self, name: str) -> Run:
        a = action(name)

        def run(arg: Any = None) -> Any:
            if arg is None:  # a button sends 1; an optional argument left out is no argument
                args = (1,) if a.argument is None else ()
            else:
                args = arg if isinstance(arg, tuple) else (arg,)
            counter = "queries" if a.query else "actions"
            before = self.server.stats[counter]
            self.sock.sendto(_msg(a.osc_address, *args), self.server.address)
            wait_for(lambda: self.server.stats[counter] > before or self.server.errors,
                     what=f"the OSC server to run {a.osc_address}")
            assert self.server.errors == 0, self.server.stats
            if a.query:
                (msg,) = [m.message for m in OscPacket(self.sock.recv(65535)).messages]
                assert msg.address == a.osc_address
                return msg.params
            return None
        return run

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("name", NAMES)
def test_each_action_over_osc(show, store, name):
    with OscServer(store, show.control, port=0) as server:
        sender = OscSender(server)
        try:
            SCENARIOS[name](sender.run(name), show)
        finally:
            sender.close()


# -- MIDI: a pad learned for the action, then pressed (fed to the router) ----------------------
@pytest.mark.parametrize("name", NAMES)
def test_each_action_from_a_midi_note(show, store, name):
    router = MidiRouter(store, show.control)
    try:
        if action(name).query:  # an answer MIDI could not hear: no note runs it, and the mapping says why
            assert name not in RUNNABLE
            with pytest.raises(ValueError, match="MIDI cannot hear"):
                NoteMapping(note=60, action=name)
            return
        notes = iter(range(60, 128))

        def run(arg: Any = None) -> None:
            note = next(notes)
            router.learn_action(name, arg)  # MIDI learn, as the console's panel and `dreamdeck midi learn` start it
            router.handle(mido.Message("note_on", note=note, velocity=100))  # the pad pressed while learning: bound
            router.handle(mido.Message("note_off", note=note))
            assert router.learning is None and router.mappings()[-1].describe().startswith(f"note {note}"), router.mappings()
            router.handle(mido.Message("note_on", note=note, velocity=100))  # pressed again: runs the action
            router.handle(mido.Message("note_off", note=note))  # a release runs nothing
            assert router.stats()["action_errors"] == 0

        SCENARIOS[name](run, show)
        assert router.stats()["applied"] >= 1
    finally:
        router.close()


def test_an_action_refused_by_the_show_is_counted_on_both_surfaces(show, store):
    router = MidiRouter(store, show.control)
    try:
        router.map(NoteMapping(note=1, action="preset_recall", arg="no-such-preset"))
        router.handle(mido.Message("note_on", note=1, velocity=100))
        assert router.stats()["action_errors"] == 1
    finally:
        router.close()
    with OscServer(store, show.control, port=0) as server:
        sender = OscSender(server)
        try:
            sender.sock.sendto(OscMessageBuilder(address=ns.PRESET_RECALL).build().dgram, server.address)  # no name
            sender.sock.sendto(_msg(ns.PRESET_RECALL, "no-such-preset"), server.address)
            sender.sock.sendto(_msg(action("panic").osc_address, 0), server.address)  # a button's release
            wait_for(lambda: (server.stats["wrong_type"], server.stats["action_refused"], server.stats["ignored"])
                     == (1, 1, 1), what=lambda: f"the refusals to be counted: {server.stats}")
        finally:
            sender.close()
    assert store.get("blackout") is False


def test_an_address_only_message_fires_an_action_without_argument(show, store):
    with OscServer(store, show.control, port=0) as server:
        sender = OscSender(server)
        try:
            sender.sock.sendto(_msg(action("blackout").osc_address), server.address)
            wait_for(lambda: store.get("blackout") is True, what="the blackout toggle")
            assert server.stats["actions"] == 1 and server.errors == 0
        finally:
            sender.close()


def _msg(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for x in args:
        b.add_arg(x)
    return b.build().dgram
