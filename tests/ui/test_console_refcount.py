"""The console must not wear down None's reference count: on Python 3.11 it aborts the show at zero.

PySide6 6.12.0 took one reference from None on every binding call that returns nothing; the
console makes hundreds of those a second (labels, repaints), and died with none_dealloc after
about five minutes. This runs the real console offscreen with the real tiny model, waits until
the model paints, then samples ``sys.getrefcount(None)`` for 15 s: a steady fall fails.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from console_env import console_env

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 15

PROBE = r"""
import json, os, sys, threading, time
import ui.main_window as mw

shown = threading.Event()
windows = []
_show = mw.MainWindow.show
def show(self):
    windows.append(self)
    shown.set()
    return _show(self)
mw.MainWindow.show = show

def watch():
    shown.wait(60)
    session = windows[0].session
    painting = lambda: session.status().pipeline.frames_generated > 0
    deadline = time.monotonic() + 60
    while not painting() and time.monotonic() < deadline:
        time.sleep(0.1)
    samples = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < SECONDS:
        samples.append((time.monotonic() - t0, sys.getrefcount(None)))
        time.sleep(0.5)
    print("SAMPLES " + json.dumps({"ready": painting(), "samples": samples}), flush=True)
    os._exit(0)

threading.Thread(target=watch, daemon=True).start()
from app.cli import main
main(["gui", "--source", "pattern", "--osc-port", "0"])
""".replace("SECONDS", str(SECONDS))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on: its count cannot fall")
def test_console_keeps_none_refcount_flat(tmp_path):
    env = console_env(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
                      DREAMDECK_DATA_DIR=str(tmp_path / "data"))
    r = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    line = next((l for l in r.stdout.splitlines() if l.startswith("SAMPLES ")), None)
    assert line, f"the console did not run (rc {r.returncode}): {r.stderr.strip()[-800:]}"
    data = json.loads(line[len("SAMPLES "):])
    assert data["ready"], "the tiny model never painted a frame"
    t, n = np.array(data["samples"], dtype=float).T
    slope = np.polyfit(t, n, 1)[0]  # references per second
    fall = n[0] - n[-1]
    # the defect fell by ~650 a second; a healthy console wanders by a few dozen with no trend
    assert not (slope < -30 and fall > 500), f"None's reference count fell {fall:.0f} in {t[-1]:.0f} s ({slope:.0f}/s)"


def test_the_osc_monitor_leaves_no_reference_to_none_behind(qtbot):
    """Each line the OSC monitor showed, once its list was full, left one more reference to None
    (a QListWidgetItem made in Python and deleted by the list): 20 a second under a busy surface."""
    from engine.params.catalog import engine_store
    from ui.osc_monitor import MAX_LINES, OscMonitor

    monitor = OscMonitor(engine_store(), None)
    qtbot.addWidget(monitor)
    for i in range(MAX_LINES + 10):
        monitor._add(f"line {i}", error=i % 2 == 0)
    before = sys.getrefcount(None)
    for i in range(500):
        monitor._add(f"line {i}", error=i % 2 == 0)
    assert sys.getrefcount(None) - before < 100
    assert monitor.list.count() == MAX_LINES
