"""Preset files: round trip, partial presets, names, atomic saves, bad files, shipped presets."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from waiting import wait_for

from app.errors import UserError
from app.presets import PresetError, PresetStore, check_name
from app.presets.store import SHIPPED_DIR

ROOT = Path(__file__).resolve().parents[3]


def test_round_trip(presets):
    values = {"strength": 1, "prompt.1.text": "a forest", "prompt.1.weight": 0.8, "guidance": "full", "seed.1.value": 42.0}
    saved = presets.save("forest", values, description="green")
    loaded = presets.load("forest")
    assert dict(loaded.values) == {"strength": 1.0, "prompt.1.text": "a forest", "prompt.1.weight": 0.8,
                                   "guidance": "full", "seed.1.value": 42}
    assert dict(loaded.values) == dict(saved.values) and loaded.description == "green" and loaded.origin == "user"
    assert isinstance(loaded.values["strength"], float) and isinstance(loaded.values["seed.1.value"], int)
    doc = json.loads((presets.directory / "forest.json").read_text())
    assert doc["schema_version"] == 2 and doc["name"] == "forest"
    assert list(doc["values"]) == ["strength", "guidance", "prompt.1.text", "prompt.1.weight", "seed.1.value"]  # registry order


def test_partial_preset_keeps_only_its_values(presets):
    presets.save("only-strength", {"strength": 0.3})
    assert dict(presets.load("only-strength").values) == {"strength": 0.3}


def test_unknown_parameters_are_listed(presets):
    with pytest.raises(PresetError, match="unknown parameters nope, zzz"):
        presets.save("x", {"zzz": 1, "strength": 0.3, "nope": 2})
    assert not presets.directory.exists() or not list(presets.directory.iterdir())
    presets.directory.mkdir(parents=True, exist_ok=True)
    (presets.directory / "hand.json").write_text(json.dumps({"schema_version": 2, "name": "hand", "values": {"strenght": 0.4}}))
    with pytest.raises(PresetError, match=r"preset 'hand' \(.*hand\.json\): unknown parameter strenght"):
        presets.load("hand")


def test_values_are_checked_by_the_registry(presets):
    with pytest.raises(PresetError, match=r"strength takes 0.02..1; got 7.0.*guidance takes one of"):
        presets.save("x", {"strength": 7, "guidance": "loud"})
    with pytest.raises(PresetError, match="not part of a look"):
        presets.save("x", {"tap": True, "bpm": 128})


def test_errors_are_user_errors_of_one_line(presets):
    presets.directory.mkdir(parents=True)
    (presets.directory / "bad.json").write_text('{"schema_version": 2,\n "name": "bad",\n "values": {\n')
    with pytest.raises(UserError) as e:
        presets.load("bad")
    assert "\n" not in str(e.value) and "not valid JSON" in str(e.value) and "bad.json" in str(e.value)


@pytest.mark.parametrize(
    "text, expect",
    [
        ('{"schema_version": 2, "name": "x", "values": {"strength": ', "not valid JSON"),
        ("\xff\xfe garbage", "not UTF-8"),
        ("[1, 2]", "not a JSON object"),
        ('{"name": "x", "values": {}}', "no whole-number 'schema_version'"),
        ('{"schema_version": true, "name": "x"}', "no whole-number 'schema_version'"),
        ('{"schema_version": 3, "name": "x", "values": {}}', "newer DreamDeck (schema_version 3; this version reads up to 2)"),
        ('{"schema_version": 0, "name": "x"}', "not a version DreamDeck ever wrote"),
        ('{"schema_version": 2, "name": "x", "values": [1]}', "values: Input should be a valid dictionary"),
        ('{"schema_version": 2, "name": "x", "values": {"strength": [0.5]}}', "values.strength"),
        ('{"schema_version": 2, "name": "x", "values": {}, "colour": 1}', "colour: unknown field"),
        ('{"schema_version": 2, "name": "x", "values": {"strength": NaN}}', "strength takes a finite number"),
    ],
)
def test_bad_files_give_one_clear_line(presets, text, expect):
    presets.directory.mkdir(parents=True)
    path = presets.directory / "broken.json"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    with pytest.raises(PresetError) as e:
        presets.load("broken")
    msg = str(e.value)
    assert expect in msg and "\n" not in msg and msg.startswith("preset 'broken' ("), msg
    assert "broken" in presets.names()  # listing never fails on a bad file


def test_interrupted_save_keeps_the_old_preset(presets, monkeypatch):
    presets.save("look", {"strength": 0.3})
    before = (presets.directory / "look.json").read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(PresetError, match="could not save preset 'look'.*No space left"):
        presets.save("look", {"strength": 0.9, "prompt.1.text": "x" * 500})
    monkeypatch.undo()
    assert (presets.directory / "look.json").read_bytes() == before
    assert sorted(os.listdir(presets.directory)) == ["look.json"]  # the temp file is gone too
    assert presets.load("look").values["strength"] == 0.3


def test_a_save_killed_between_write_and_rename_never_truncates(presets, tmp_path):
    presets.save("look", {"strength": 0.3, "prompt.1.text": "old"})
    before = (presets.directory / "look.json").read_bytes()
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from app.presets.store import PresetStore
        real_fsync = os.fsync
        def stall(fd):
            real_fsync(fd)
            open({str(ready)!r}, "w").close()
            time.sleep(60)  # killed here: temp file written, not yet renamed
        os.fsync = stall
        PresetStore({str(presets.directory)!r}, shipped_directory=None).save("look", {{"strength": 0.9, "prompt.1.text": "new"}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, timeout=30, what="the save to reach its rename")
        assert proc.poll() is None, "the saving process ended early"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (presets.directory / "look.json").read_bytes() == before
    stray = [f for f in os.listdir(presets.directory) if f != "look.json"]
    assert len(stray) == 1 and stray[0].startswith(".look.") and stray[0].endswith(".tmp")  # the crash's leftover...
    assert presets.names() == ["look"]  # ...never lists as a preset
    assert presets.load("look").values["prompt.1.text"] == "old"
    presets.save("look", {"strength": 0.9})  # and a later save still works
    assert presets.load("look").values["strength"] == 0.9


@pytest.mark.parametrize(
    "name",
    ["../x", "/abs", "a/b", "a\\b", "..", ".", ".hidden", "a\x00b", "tab\there", "", "   ", "CON", "nul.txt", "com1",
     "LPT9.json", "x" * 65, "what?", "a:b", "pipe|d", 'quo"te', "ends.", "<tag>", 7, None],
)
def test_bad_names_are_refused(presets, name):
    with pytest.raises(PresetError) as e:
        presets.save(name, {"strength": 0.3})
    assert "\n" not in str(e.value)
    assert not presets.directory.exists() or not list(presets.directory.iterdir())


@pytest.mark.parametrize("name", ["neon punch", "Ünïcode-look", "v1.2", "x" * 64, "  padded  ", "(set 2) #3"])
def test_good_names_are_kept(presets, name):
    saved = presets.save(name, {"strength": 0.3})
    assert saved.name == name.strip() == check_name(name)
    assert saved.path.parent == presets.directory
    assert presets.names() == [name.strip()]


def test_rename_and_delete(presets):
    presets.save("a", {"strength": 0.3}, description="first")
    presets.save("b", {"strength": 0.4})
    with pytest.raises(PresetError, match="a preset named 'b' already exists"):
        presets.rename("a", "b")
    renamed = presets.rename("a", "c")
    assert presets.names() == ["b", "c"] and renamed.description == "first"
    assert json.loads((presets.directory / "c.json").read_text())["name"] == "c"
    presets.rename("c", "b", overwrite=True)
    assert presets.names() == ["b"] and presets.load("b").values["strength"] == 0.3
    with pytest.raises(PresetError, match="there is no preset named 'zz' \\(presets: b\\)"):
        presets.load("zz")
    with pytest.raises(PresetError, match="may not contain"):
        presets.rename("b", "../b")
    presets.delete("b")
    assert presets.names() == []
    with pytest.raises(PresetError, match="no preset named 'b' \\(there are no presets yet\\)"):
        presets.delete("b")


def test_list_skips_files_that_are_not_presets(presets):
    presets.save("real", {"strength": 0.3})
    for f in (".real.abc123.tmp", ".hidden.json", "notes.txt", "CON.json", " spaced.json"):
        (presets.directory / f).write_text("{}")
    (presets.directory / "folder.json").mkdir()
    assert presets.names() == ["real"]


def test_list_order_is_case_insensitive(presets):
    for n in ("beta", "Alpha", "gamma", "alpha2"):
        presets.save(n, {"strength": 0.3})
    assert presets.names() == ["Alpha", "alpha2", "beta", "gamma"]


def test_default_folder_follows_the_environment(private_data_dir):
    store = PresetStore(shipped_directory=None)
    assert store.directory == private_data_dir / "presets"
    store.save("env", {"strength": 0.3})
    assert (private_data_dir / "presets" / "env.json").is_file()


def test_shipped_presets_list_load_and_give_way(tmp_path, store):
    presets = PresetStore(tmp_path / "user", params=store.params)
    infos = presets.list()
    shipped = {i.name for i in infos if i.origin == "shipped"}
    assert {"dreamy-slow", "neon-punch", "camera-through", "blackout-safe"} <= shipped
    assert shipped == {p.stem for p in SHIPPED_DIR.glob("*.json")}
    for name in shipped:
        p = presets.load(name)
        assert p.origin == "shipped" and p.values and p.description
        store.update(p.values)  # every shipped value is one the registry takes
    with pytest.raises(PresetError, match="shipped preset and cannot be deleted"):
        presets.delete("neon-punch")
    with pytest.raises(PresetError, match="shipped preset and cannot be renamed"):
        presets.rename("neon-punch", "mine")
    presets.save("neon-punch", {"strength": 0.2})
    info = next(i for i in presets.list() if i.name == "neon-punch")
    assert info.origin == "user" and info.replaces_shipped
    assert dict(presets.load("neon-punch").values) == {"strength": 0.2}
    assert presets.names().count("neon-punch") == 1
    presets.delete("neon-punch")
    assert presets.load("neon-punch").origin == "shipped"
