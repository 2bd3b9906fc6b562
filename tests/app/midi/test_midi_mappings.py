"""Mappings without ports: conversions, validation against the registry, the JSON file
(atomic writes, bad files), and the optional extra's import behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.midi import CCMapping, MappingError, MappingFileError, MidiRouter, NoteMapping, read_mappings, write_mappings
from app.midi.mapping import cc_to_value, resolve, value_to_cc
from engine.params.registry import Kind, Param, ParamError, ParamStore

ROOT = Path(__file__).resolve().parents[3]


def test_importing_app_midi_needs_no_mido_and_using_it_says_what_to_install():
    code = (
        "import sys\n"
        "sys.modules['mido'] = sys.modules['rtmidi'] = None  # as if the midi extra were not installed\n"
        "import app.midi\n"
        "from engine.params.catalog import engine_store\n"
        "for use in (lambda: app.midi.MidiController(engine_store(), data_dir='.'), app.midi.list_input_ports):\n"
        "    try:\n"
        "        use()\n"
        "    except app.midi.MidiUnavailable as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.splitlines() == ["MIDI needs: pip install 'dreamdeck[midi]' (mido is not installed)"] * 2


def test_resolve_fills_defaults_and_refuses_what_does_not_fit(store):
    assert resolve(CCMapping(control=0, param="delta"), store).hi == 2.0
    assert resolve(CCMapping(control=0, param="guidance"), store) == CCMapping(control=0, param="guidance", lo=0, hi=3)
    assert resolve(NoteMapping(note=1, param="blackout"), store).mode == "toggle"
    for bad, words in (
        (CCMapping(control=0, param="nope"), "no parameter named 'nope'"),
        (CCMapping(control=0, param="prompt.1.text"), "takes text"),
        (CCMapping(control=0, param="strength", lo=0.0, hi=0.5), "leaves the parameter's values"),
        (CCMapping(control=0, param="strength", lo=0.6, hi=0.5), "lo must be below hi"),
        (CCMapping(control=0, param="freeze", lo=0, hi=1), "takes no lo/hi"),
        (CCMapping(control=0, param="guidance", lo=0.5, hi=2), "whole numbers"),
        (NoteMapping(note=1, param="strength"), "a note cannot drive strength"),
        (NoteMapping(note=1, param="tap", mode="toggle"), "trigger, not toggle"),
    ):
        with pytest.raises(MappingError, match=words):
            resolve(bad, store)


def test_conversions_invert_each_other(store):
    for name in ("strength", "guidance_scale", "bpm", "steps", "guidance", "max_skip_frame"):
        spec = store.spec(name)
        for m in (resolve(CCMapping(control=0, param=name), store), resolve(CCMapping(control=0, param=name, invert=True), store)):
            for v in range(128):
                value = cc_to_value(spec, m, v)
                spec.validate(value)  # always a valid value
                assert cc_to_value(spec, m, round(value_to_cc(spec, m, value))) == value or spec.kind is Kind.INT


def test_a_refused_value_is_counted_and_never_stored():
    class Picky(ParamStore):
        def update(self, changes, source=None):
            if changes.get("x") == 5.0:
                raise ParamError("x refuses 5")
            return super().update(changes, source)

    import mido

    store = Picky([Param("x", Kind.FLOAT, 0.0, "x", 0.0, 127.0)])
    router = MidiRouter(store)
    try:
        router.map(CCMapping(control=0, param="x"))
        router.handle(mido.Message("control_change", control=0, value=5))
        assert store.get("x") == 0.0 and router.stats()["refused"] == 1
        router.handle(mido.Message("control_change", control=0, value=6))
        assert store.get("x") == 6.0
    finally:
        router.close()


def _doc(*mappings, version=1):
    return json.dumps({"schema_version": version, "mappings": list(mappings)})


def test_save_and_load_round_trip(store, tmp_path):
    mappings = [
        resolve(CCMapping(channel=2, control=7, param="strength", lo=0.2, hi=0.6, invert=True, takeover=False), store),
        resolve(NoteMapping(note=36, param="blackout_momentary"), store),
        NoteMapping(channel=10, note=40, action="recall_preset", preset=3),
        NoteMapping(note=41, action="recall_preset", preset="intro"),
        NoteMapping(note=42, action="tap"),
    ]
    path = write_mappings(tmp_path / "deep" / "m.json", mappings)
    assert read_mappings(path, store) == mappings
    assert [p.name for p in path.parent.iterdir()] == ["m.json"]  # no temporary file left


def test_an_interrupted_save_keeps_the_old_file_whole(store, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    old = [resolve(CCMapping(control=1, param="delta"), store)]
    write_mappings(path, old)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)  # the crash lands between write and rename
    with pytest.raises(MappingFileError, match="cannot save MIDI mappings .*No space left"):
        write_mappings(path, old + [resolve(CCMapping(control=2, param="strength"), store)])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    ("[]", "expected a JSON object"),
    (_doc(version=2), "written by a newer DreamDeck"),
    (_doc(version="1"), "schema_version must be 1"),
    (_doc({"type": "cc", "control": 1, "param": "nope"}), "mappings.0: there is no parameter named 'nope'"),
    (_doc({"type": "cc", "control": 300, "param": "delta"}), "mappings.0.cc.control"),
    (_doc({"type": "knob", "control": 1, "param": "delta"}), "mappings.0"),
    (_doc({"type": "note", "note": 1, "param": "bpm"}), "a note cannot drive bpm"),
    (_doc({"type": "cc", "control": 1, "param": "delta"}, {"type": "cc", "control": 1, "param": "bpm"}), "already mapped"),
])
def test_a_bad_file_gives_one_line_and_keeps_the_mappings(store, tmp_path, text, words):
    path = tmp_path / "midi_mappings.json"
    path.write_text(text)
    router = MidiRouter(store)
    try:
        current = [router.map(CCMapping(control=5, param="brightness"))]
        with pytest.raises(MappingFileError, match=words) as err:
            router.set_mappings(read_mappings(path, store))
        assert "\n" not in str(err.value)
        assert router.mappings() == current
    finally:
        router.close()


def test_cc_buttons_fire_triggers_on_the_rising_edge_and_mappings_can_be_removed(store):
    import mido

    fired = []
    store.subscribe(lambda name, value, source: fired.append(name) if name == "tap" else None)
    changes = []
    router = MidiRouter(store, on_mappings_changed=lambda: changes.append(len(router.mappings())))
    try:
        router.map(CCMapping(control=64, param="tap"))
        router.map(CCMapping(control=65, param="tap"))
        router.map(CCMapping(control=1, param="delta"))
        for value in (127, 127, 0, 100, 0, 63):
            router.handle(mido.Message("control_change", control=64, value=value))
        assert fired == ["tap", "tap"]
        assert router.unmap("cc", 1, 64).param == "tap" and router.unmap("cc", 1, 64) is None
        assert [m.control for m in router.unmap_param("tap")] == [65]
        assert [m.param for m in router.mappings()] == ["delta"]
        assert changes == [1, 2, 3, 2, 1]
        router.handle(mido.Message("control_change", control=64, value=127))
        assert fired == ["tap", "tap"] and router.stats()["unmapped"] == 1
    finally:
        router.close()


def test_the_mappings_file_lives_in_the_presets_data_dir(monkeypatch, tmp_path):
    from app.midi import default_path

    monkeypatch.setenv("DREAMDECK_DATA_DIR", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "midi_mappings.json"
    assert default_path(tmp_path) == tmp_path / "midi_mappings.json"
    monkeypatch.delenv("DREAMDECK_DATA_DIR")
    from platformdirs import user_data_dir

    assert default_path() == Path(user_data_dir("DreamDeck", appauthor=False)) / "midi_mappings.json"
