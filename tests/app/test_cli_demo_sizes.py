"""`dreamdeck demo --size` is checked up front, and no command leaves a `.part` file behind on a failure."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.params.catalog import engine_store

from video_files import write_pattern_video

ROOT = Path(__file__).resolve().parents[2]


def dreamdeck(*args):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)


def one_error_line(r) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("dreamdeck: error: "), r.stderr
    return lines[0]


@pytest.mark.parametrize("size", [0, 7, 100, 2000])
def test_demo_refuses_a_bad_size_in_one_line_and_writes_nothing(tmp_path, size):
    out = tmp_path / "out"
    out.mkdir()
    line = one_error_line(dreamdeck("demo", "--size", str(size), "--seconds", "0.2", "--output", str(out / "d.mp4")))
    spec = engine_store().spec("size")  # what the registry declares, not a second copy of the range
    assert "--size" in line and f"got {size}" in line
    assert f"multiples of {spec.multiple_of}" in line and f"from {spec.minimum:g} to {spec.maximum:g}" in line
    assert "writable" not in line  # the size is the problem, not the folder
    assert list(out.iterdir()) == []


def test_demo_whose_model_fails_to_load_leaves_no_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    line = one_error_line(dreamdeck("demo", "--model", str(tmp_path / "no-such-model"), "--size", "64",
                                    "--output", str(out / "d.mp4")))
    assert "No model folder or file" in line
    assert list(out.iterdir()) == []
    # the file is opened only after the model load, but what the writer refuses is still said first
    line = one_error_line(dreamdeck("demo", "--model", str(tmp_path / "no-such-model"), "--output", str(out / "d.xyz")))
    assert "unsupported video extension" in line
    assert list(out.iterdir()) == []


def test_render_image_that_cannot_be_moved_into_place_leaves_no_partial_file(tmp_path):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.full((64, 64, 3), 120, np.uint8))
    out = tmp_path / "out"
    (out / "taken.png").mkdir(parents=True)  # a folder holds the output's name: the final rename fails
    line = one_error_line(dreamdeck("render", "-i", str(src), "-o", str(out / "taken.png"), "--size", "64", "-q"))
    assert "cannot write" in line
    assert [p.name for p in out.iterdir()] == ["taken.png"]


def test_render_video_that_cannot_be_moved_into_place_leaves_no_partial_file(tmp_path):
    src = tmp_path / "in.mp4"
    write_pattern_video(src, n=3, size=(64, 64), fps=10.0)
    out = tmp_path / "out"
    (out / "taken.mp4").mkdir(parents=True)
    line = one_error_line(dreamdeck("render", "-i", str(src), "-o", str(out / "taken.mp4"), "--size", "64", "-q"))
    assert "cannot write video" in line
    assert [p.name for p in out.iterdir()] == ["taken.mp4"]
