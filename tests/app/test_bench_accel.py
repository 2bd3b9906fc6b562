"""``dreamdeck bench --accel``: every requested back end timed side by side, one JSON object."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from engine.torch_threads import torch_threads


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with torch_threads(1):  # behaviour, not speed: one thread is kinder to a shared machine
        yield


def test_bench_accel_json_has_fps_per_back_end_and_best_vs_eager(capsys):
    rc = main(["bench", "--accel", "--json", "--size", "64", "--frames", "12", "--backends", "onnxruntime,tensorrt"])
    assert rc == 0
    out, err = capsys.readouterr()
    report = json.loads(out)  # stdout is the one JSON object; progress went to stderr
    assert set(report["fps"]) == {"eager", "onnxruntime"} and all(v > 0 for v in report["fps"].values())
    assert report["best"] == "onnxruntime"
    assert report["best_vs_eager"] == pytest.approx(report["fps"]["onnxruntime"] / report["fps"]["eager"], rel=0.01)
    assert report["vs_eager"]["eager"] == 1.0
    assert "tensorrt" in report["unavailable"]  # not installed here: listed with the reason, not timed
    assert "bench --accel" in err


def test_bench_accel_text_and_bad_backend(capsys):
    assert main(["bench", "--accel", "--size", "128x64", "--frames", "4", "--backends", "eager"]) == 0
    out = capsys.readouterr().out
    assert "eager" in out and "128x64" in out  # a non-square frame, width x height
    assert main(["bench", "--accel", "--size", "100", "--backends", "eager"]) == 2
    err = capsys.readouterr().err
    assert "--size 100 does not suit Stable Diffusion: it takes multiples of 64" in err and err.count("\n") == 1
    assert main(["bench", "--accel", "--backends", "warp-drive"]) == 2
    assert "unknown back end warp-drive" in capsys.readouterr().err
    for bad in ("0", "-2"):
        assert main(["bench", "--accel", "--threads", bad, "--backends", "eager"]) == 2
        assert "--threads must be at least 1" in capsys.readouterr().err
