"""Plain `dreamdeck` opens the console; without a display it says what to do in one line."""

import os
import subprocess
import sys


def test_plain_dreamdeck_without_a_display_says_so_and_exits_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "app.cli"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "dreamdeck: no display: run 'dreamdeck demo' or set QT_QPA_PLATFORM=offscreen/xcb with a desktop session"
    ]


def test_gui_subcommand_parses_its_options():
    from app.cli import build_parser

    a = build_parser().parse_args(["gui", "--model", "tiny", "--source", "pattern", "--size", "64"])
    assert (a.model, a.source, a.size, a.func.__name__) == ("tiny", "pattern", "64", "run_gui")
