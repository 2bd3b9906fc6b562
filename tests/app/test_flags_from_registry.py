"""Command-line flags come from the registry: `live --help` and `gui --help` show its defaults, ranges and choices."""

import argparse

from app.cli import build_parser
from app.flags import FLAGS, SAVE
from engine.params.catalog import engine_store
from engine.params.registry import Kind


def _sub(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _flags(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {opt: a for a in p._actions for opt in a.option_strings}


def _number(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def test_live_and_gui_show_the_registry_defaults_ranges_and_choices():
    params = engine_store().params
    live, gui = _flags(_sub("live")), _flags(_sub("gui"))
    for f in FLAGS:
        p = params[f.param]
        assert f.flag in live and f.flag in gui, f.flag
        a, b = live[f.flag], gui[f.flag]
        assert a.help == b.help and a.default is None and b.default is None, f.flag  # None: the registry's default
        if p.kind in (Kind.INT, Kind.FLOAT):
            assert f"default {_number(p.default)}" in a.help, (f.flag, a.help)
            lo, hi = (int(p.minimum), int(p.maximum)) if p.kind is Kind.INT else (_number(p.minimum), _number(p.maximum))
            assert f"{lo}..{hi}" in a.help, (f.flag, a.help)
        if p.kind is Kind.CHOICE:
            assert tuple(a.choices) == tuple(p.choices) and f"default {p.default}" in a.help, f.flag
        if p.kind is Kind.BOOL:
            assert f"default {'on' if p.default else 'off'}" in a.help, f.flag
        assert p.description.split()[0].lower() in a.help.lower(), (f.flag, a.help)


def test_the_help_text_of_both_commands_names_every_flag(capsys):
    for command in ("live", "gui"):
        text = _sub(command).format_help()
        assert all(f.flag in text for f in FLAGS), command


def test_preset_save_takes_the_same_flags():
    save = _flags(next(a for a in _sub("preset")._actions if isinstance(a, argparse._SubParsersAction)).choices["save"])
    live = _flags(_sub("live"))
    for f in SAVE:
        # the same declaration (live's --size adds the tiny model's 256, which a saved preset does not apply)
        assert live[f.flag].help.startswith(save[f.flag].help[:-1]) and save[f.flag].type == live[f.flag].type, f.flag


def test_values_typed_on_the_command_line_reach_the_registry_and_the_rest_stay_its_defaults():
    from app.flags import build_store

    a = _sub("live").parse_args(["--strength", "0.3", "--out-size", "640x360", "--no-tiny-vae", "--model", "some/model"])
    store = build_store(a)
    defaults = engine_store()
    assert store.get("strength") == 0.3 and store.get("output_size") == "640x360" and store.get("tiny_vae") is False
    assert store.get("size") == defaults.get("size")  # a real model: the registry's 512
    assert store.get("guidance_scale") == defaults.get("guidance_scale")
    assert a.typed_params == {"strength", "output_size", "tiny_vae", "model"}
    plain = build_store(_sub("live").parse_args([]))  # the built-in styles: 384 px, fully painted, unless typed
    assert (plain.get("model"), plain.get("size"), plain.get("strength")) == ("styles", "384", 1.0)
    tiny = _sub("live").parse_args(["--model", "tiny"])
    assert build_store(tiny).get("size") == "256"  # the built-in tiny model runs at 256 unless --size says otherwise


def test_a_preset_that_names_a_real_model_runs_it_at_the_registry_size(tmp_path):
    from app.flags import build_store
    from app.presets.commands import apply_live_preset
    from app.presets.store import PresetStore

    presets = PresetStore(tmp_path / "p", shipped_directory=None)
    presets.save("sd", {"model": "stabilityai/sd-turbo"})
    presets.save("sd-small", {"model": "stabilityai/sd-turbo", "size": "384"})
    for command in ("live", "gui"):
        a = _sub(command).parse_args(["--preset", "sd"])
        store = build_store(a)
        apply_live_preset(store, a, presets)
        assert (store.get("model"), store.get("size"), a.size) == ("stabilityai/sd-turbo", "512", "512"), command
        a = _sub(command).parse_args(["--preset", "sd-small"])
        store = build_store(a)
        apply_live_preset(store, a, presets)
        assert store.get("size") == "384", command
        a = _sub(command).parse_args(["--preset", "sd", "--size", "128"])
        store = build_store(a)
        apply_live_preset(store, a, presets)
        assert store.get("size") == "128", command
