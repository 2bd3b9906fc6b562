"""`dreamdeck live` end to end: a recording of the right length, and clear errors."""

import glob
import os
import subprocess
import sys
from pathlib import Path

from video_files import read_video

ROOT = Path(__file__).resolve().parents[2]


def dreamdeck(*args):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=120)


def test_live_records_at_the_output_rate_and_size(tmp_path):
    """The recording is a video at the output rate (in its own metadata) and size, holding the show's
    frames; how many a 3 s run makes depends on the machine's load, so it is not counted here (the
    recorder keeping real time is tested on made-up timestamps in tests/engine/live)."""
    out = tmp_path / "live.mp4"
    r = dreamdeck("live", "--source", "pattern", "--model", "tiny", "--size", "64", "--record", str(out),
                  "--duration", "3", "--out-size", "640x360", "--fps", "20")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert any(" out " in l and "latency" in l for l in lines)  # a status line each second
    assert lines[-1] == f"recorded {out}" and any(l.startswith("summary:") for l in lines)
    frames, fps = read_video(out)
    assert fps == 20 and len(frames) > 1
    assert all(f.shape == (360, 640, 3) for f in frames)
    assert frames[-1].std() > 5  # a picture, not a black frame


def test_live_bad_inputs_are_one_line():
    for args, expect in (
        (("--source", "webcam"), "unknown kind"),
        (("--out-size", "999x1"), "--out-size: invalid choice"),  # argparse lists the registry's choices
        (("--duration", "0"), "--duration"),
        (("--record", "/no/such/folder/x.mp4"), "output folder does not exist"),
        *([(("--vcam",), "modprobe v4l2loopback")] if not glob.glob("/dev/video*") else []),
    ):
        r = dreamdeck("live", "--model", "tiny", *args)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert r.returncode == 2 and len(lines) == 1 and expect in lines[0], (args, r.stderr)
