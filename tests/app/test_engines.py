"""``dreamdeck engines``: list and clear the acceleration cache, never a build in progress."""

from __future__ import annotations

import json

import pytest

import app.engines as engines_cmd
from app.cli import main
from engine.accel.cache import EngineCache, cache_key


def _entry(cache: EngineCache, flavour: str, role: str, size: int) -> str:
    parts = {"role": role, "flavour": flavour, "precision": "float16", "gpu": "NVIDIA GeForce RTX 4090", "weights": "w" * 8}
    key = cache_key(parts)

    def build(path, progress, cancel):
        path.write_bytes(b"\x01" * size)

    cache.build(key, ".onnx" if flavour == "onnx" else ".plan", build, parts=parts, what=f"sd-turbo's {role}")
    return key


@pytest.fixture
def filled(tmp_path):
    cache = EngineCache(tmp_path / "engines")
    keys = {"onnx": _entry(cache, "onnx", "unet", 3000), "rtx": _entry(cache, "tensorrt-rtx", "unet", 5000),
            "rtx_dec": _entry(cache, "tensorrt-rtx", "vae_decoder", 700)}
    return cache, keys


def _cli(cache, *args) -> list[str]:
    return ["engines", *args, "--cache-dir", str(cache.root)]


def test_list_names_each_entry_its_size_and_the_total(filled, capsys):
    cache, keys = filled
    assert main(_cli(cache)) == 0
    out = capsys.readouterr().out
    assert "3 cached" in out and "8.5 KB in all" in out
    assert "sd-turbo's unet" in out and "tensorrt-rtx" in out and "NVIDIA GeForce RTX 4090" in out
    assert main(_cli(cache, "list", "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total_bytes"] == 8700 and {e["key"] for e in report["entries"]} == set(keys.values())


def test_clear_by_age_and_by_kind_then_everything(filled, capsys):
    cache, keys = filled
    assert main(_cli(cache, "clear", "--older-than", "1")) == 0  # all built just now: none is a day old
    assert "removed 0 of 3" in capsys.readouterr().out and len(cache.entries()) == 3
    assert main(_cli(cache, "clear", "--flavour", "tensorrt-rtx")) == 0
    assert "removed 2 of 3" in capsys.readouterr().out and cache.entries() == [keys["onnx"]]
    assert main(_cli(cache, "clear")) == 0
    assert cache.entries() == []
    assert main(_cli(cache)) == 0
    assert "no cached exports or engines" in capsys.readouterr().out


def test_an_entry_being_built_is_left_alone(filled, capsys, monkeypatch):
    cache, keys = filled
    monkeypatch.setattr(engines_cmd, "LOCK_WAIT_S", 0.2)
    lock = cache._lock_file(keys["rtx"])  # what a build of that engine holds, as another process would
    lock.acquire()
    try:
        assert main(_cli(cache, "clear")) == 0
    finally:
        lock.release()
    captured = capsys.readouterr()
    assert "removed 2 of 3" in captured.out and "being built right now" in captured.err
    assert cache.entries() == [keys["rtx"]] and cache.get(keys["rtx"]) is not None


def test_bad_input_is_one_line_and_changes_nothing(filled, capsys):
    cache, _ = filled
    assert main(_cli(cache, "clear", "--older-than", "-3")) == 2
    assert "0 or more" in capsys.readouterr().err
    assert main(_cli(cache, "clear", "--flavour", "warp")) == 2
    assert "no back end 'warp'" in capsys.readouterr().err
    assert len(cache.entries()) == 3
