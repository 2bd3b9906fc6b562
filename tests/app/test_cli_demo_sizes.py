"""`dreamdeck demo --size` is checked up front, and no command leaves a `.part` file behind on a failure."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

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


@pytest.mark.parametrize("model, size, says", [
    ("tiny", "0", "a long side from 32 to 2048 px"),  # no family takes it: the registry says so
    ("tiny", "12x", "a long side from 32 to 2048 px"),
    ("tiny", "100", "multiples of 64 from 64 to 1024 px"),  # Stable Diffusion's rule
    ("styles", "386", "multiples of 4 from 32 to 1920 px"),  # the style network's rule
    ("styles", "2000", "multiples of 4 from 32 to 1920 px"),
])
def test_demo_refuses_a_bad_size_in_one_line_and_writes_nothing(tmp_path, model, size, says):
    out = tmp_path / "out"
    out.mkdir()
    line = one_error_line(dreamdeck("demo", "--model", model, "--size", size, "--seconds", "0.2", "--output", str(out / "d.mp4")))
    assert "--size" in line and size in line and says in line, line
    assert "writable" not in line  # the size is the problem, not the folder
    assert list(out.iterdir()) == []


def test_render_refuses_an_unknown_style_before_loading_in_one_line(tmp_path):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.full((64, 96, 3), 128, np.uint8))
    line = one_error_line(dreamdeck("render", "-i", str(src), "-o", str(tmp_path / "o.png"), "--model", "styles",
                                    "--prompt", "neon jellyfish", "-q"))
    assert "is not a style" in line and "0-25" in line and "image:PATH" in line
    assert not (tmp_path / "o.png").exists()


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
