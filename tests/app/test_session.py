"""The show session: one Qt-free object that the console and ``dreamdeck live`` both run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1].parent


def test_one_show_through_the_session_with_no_qt_loaded(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "app" / "session_show.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen["qt_loaded"] == []
    assert any("listening on 127.0.0.1" in line for line in seen["start"])
    assert seen["model_name"] == "tiny" and seen["blackout"] is True
    assert "all.mp4" in seen["bad_source"] and "\n" not in seen["bad_source"]
    assert seen["source"] == "pattern:static"
    assert seen["sinks"] == [f"record:{tmp_path / 'first.mp4'}"]
    assert ".xyz" in seen["bad_sink"]
    assert seen["output"][0] == [640, 360]
    assert seen["after_failed_load"] == ["tiny", "tiny"]  # a failed load leaves the running model named
    assert seen["first_recorded"] and seen["second_recorded"]
