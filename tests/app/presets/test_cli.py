"""`dreamdeck preset ...` and `dreamdeck live --preset` (in-process: fast)."""

import json

import pytest

from app.cli import build_parser, main
from app.flags import build_store
from app.presets import PresetError, PresetStore
from app.presets.commands import apply_live_preset


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_save_show_list_rename_delete(capsys, private_data_dir):
    code, out, _ = run(capsys, "preset", "save", "my look", "--prompt", "a cat", "--strength", "0.4",
                       "--set", "prompt.1.weight=1", "--set", "guidance=full", "--description", "cats")
    assert code == 0 and "saved preset 'my look' (4 values)" in out
    code, out, _ = run(capsys, "preset", "show", "my look")
    doc = json.loads(out)
    assert doc == {"schema_version": 2, "name": "my look", "description": "cats",
                   "values": {"strength": 0.4, "guidance": "full", "prompt.1.text": "a cat", "prompt.1.weight": 1.0}}
    code, out, _ = run(capsys, "preset", "list")
    assert str(private_data_dir / "presets") in out
    assert any(l.startswith("my look") and "user" in l and "4 values" in l for l in out.splitlines())
    assert any(l.startswith("neon-punch") and "shipped" in l for l in out.splitlines())
    code, out, _ = run(capsys, "preset", "rename", "my look", "cats")
    assert code == 0 and "renamed" in out
    code, out, _ = run(capsys, "preset", "recall", "cats")
    assert code == 0 and "strength: 0.5 -> 0.4  (fades)" in out and "guidance: 'self' -> 'full'  (switches at the start)" in out
    code, out, _ = run(capsys, "preset", "delete", "cats")
    assert code == 0 and PresetStore(shipped_directory=None).names() == []


@pytest.mark.parametrize(
    "args, expect",
    [
        (("preset", "save", "../up", "--prompt", "x"), "may not contain '/'"),
        (("preset", "save", "x"), "nothing to save"),
        (("preset", "save", "x", "--set", "strength"), "--set takes PARAM=VALUE"),
        (("preset", "save", "x", "--strength", "7"), "strength takes 0.02..1"),
        (("preset", "save", "x", "--set", "warp=1"), "unknown parameter warp"),
        (("preset", "show", "nope"), "there is no preset named 'nope'"),
        (("preset", "delete", "neon-punch"), "shipped preset and cannot be deleted"),
        (("preset", "rename", "nope", "x"), "no preset named 'nope'"),
        (("live", "--preset", "nope"), "there is no preset named 'nope'"),
        (("live", "--preset", "a/b"), "may not contain '/'"),
    ],
)
def test_errors_are_one_line(capsys, args, expect):
    code, out, err = run(capsys, *args)
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("dreamdeck: error: ") and expect in lines[0], err


def test_save_refuses_to_replace_without_force(capsys):
    assert run(capsys, "preset", "save", "x", "--strength", "0.3")[0] == 0
    code, _, err = run(capsys, "preset", "save", "x", "--strength", "0.4")
    assert code == 2 and "already exists (add --force to replace it)" in err
    assert run(capsys, "preset", "save", "x", "--strength", "0.4", "--force")[0] == 0
    assert PresetStore(shipped_directory=None).load("x").values["strength"] == 0.4


def test_live_preset_applies_under_the_command_line(capsys, tmp_path):
    presets = PresetStore(tmp_path / "p", shipped_directory=None)
    presets.save("look", {"strength": 0.8, "guidance_scale": 2.5, "prompt.1.text": "neon", "size": 256,
                          "model": "some/model", "output_size": "640x360", "blackout": True})
    a = build_parser().parse_args(["live", "--preset", "look", "--strength", "0.3"])
    store = build_store(a)
    preset = apply_live_preset(store, a, presets)
    assert preset.name == "look"
    v = store.snapshot()
    assert v["strength"] == 0.3  # given on the command line: it wins
    assert v["guidance_scale"] == 2.5 and v["prompt.1.text"] == "neon" and v["size"] == "256" and v["blackout"] is True
    assert (a.model, a.size, a.prompt, a.out_size, a.strength) == ("some/model", "256", "neon", "640x360", 0.3)
    out = capsys.readouterr().out
    assert "preset 'look' (user): 6 values; the command line sets strength" in out


def test_live_without_preset_changes_nothing():
    a = build_parser().parse_args(["live"])
    store = build_store(a)
    version = store.version
    assert apply_live_preset(store, a) is None and store.version == version


def test_live_preset_error_is_a_preset_error(tmp_path):
    presets = PresetStore(tmp_path / "p", shipped_directory=None)
    a = build_parser().parse_args(["live", "--preset", "missing"])
    with pytest.raises(PresetError):
        apply_live_preset(build_store(a), a, presets)
