"""`dreamdeck live` says what is wrong while it happens, and never claims a recording it did not make."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def live(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "app.cli", "live", "--model", "tiny", "--size", "64", "--osc-port", "0",
                             *args], cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_a_source_that_never_delivers_is_named_in_the_next_status_line_and_fails_the_run(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for spec, expect in ((f"file:{tmp_path / 'nothere.mp4'}", "not found"), (f"file:{text}", "cannot read video")):
        p = live("--source", spec, "--duration", "2")
        out, err = p.communicate(timeout=120)
        lines = out.splitlines()
        status = [l for l in lines if " in " in l and " gen " in l]
        assert status and f"SOURCE {spec}" in status[0] and expect in status[0], out  # the first status line names it
        errors = [l for l in err.splitlines() if l.startswith("dreamdeck: error:")]
        assert p.returncode == 1 and len(errors) == 1 and "never delivered a frame" in errors[0], (p.returncode, err)
        assert not any(l.startswith("recorded") for l in lines)


def test_recording_paths_the_writer_would_refuse_are_refused_before_the_show(tmp_path):
    for path, expect in ((tmp_path / "out.xyz", "unsupported video extension"),
                         (tmp_path / "missing-folder" / ".." / "rec.mp4", "output folder does not exist")):
        p = live("--source", "pattern", "--duration", "1", "--record", str(path))
        out, err = p.communicate(timeout=120)
        lines = [l for l in err.splitlines() if l.strip()]
        assert p.returncode == 2 and len(lines) == 1 and expect in lines[0], (p.returncode, err)
        assert "live:" not in out  # nothing started
    assert list(tmp_path.iterdir()) == []


def test_recorded_is_printed_only_when_the_file_exists(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    p = live("--source", "pattern", "--duration", "4", "--record", str(folder / "rec.mp4"))
    for line in p.stdout:  # the show is recording: pull the disk out from under it
        if " gen " in line:
            shutil.rmtree(folder)
            break
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "nothing was recorded" in err, (p.returncode, out, err)
    assert "recorded " not in out
