"""`dreamdeck soak`: a minute of show under traffic stays flat, and a planted per-frame leak fails it."""

import csv
import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_a_minute_of_show_under_traffic_stays_flat(tmp_path):
    out = tmp_path / "soak.csv"
    r = subprocess.run([sys.executable, "-m", "app.cli", "soak", "--minutes", "1", "--csv", str(out), "--json"], cwd=ROOT,
                       env=dict(os.environ, HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=400)
    lines = r.stdout.strip().splitlines()
    assert lines and lines[-2].startswith("soak: PASSED"), (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    result = json.loads(lines[-1])
    assert r.returncode == 0 and result["passed"] and result["samples"] >= 55
    assert result["reloads"] and not result["reloads"][0]["error"]  # the model was reloaded mid-run
    driver = result["osc_driver"]
    assert driver["sent"] > 500 and driver["answers"] > 0 and driver["feedback"] > 0  # OSC served throughout
    assert result["osc_server"]["applied"] > 500
    assert result["osc_server"]["actions"] >= 10 and result["osc_server"]["action_refused"] == 0  # the action table
    assert result["faults"] > 0  # the unplugged recorder was seen and logged
    assert result["sources_refused"] > 0  # the missing file was refused and the show kept its source
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == result["samples"] and {"rss_mb", "none_refs", "threads", "fds", "out_fps"} <= set(rows[0])


def test_a_planted_per_frame_leak_fails_the_soak(tmp_path, monkeypatch, capsys):
    from app.soak import cmd_soak
    from engine.live.output_stage import ShowSafety

    hoard = []
    compose = ShowSafety.compose

    def leaky(self, *a, **k):  # about 20 MB a second at 30 fps: what the test audit planted
        hoard.append(np.ones(700_000, np.uint8))
        return compose(self, *a, **k)

    monkeypatch.setattr(ShowSafety, "compose", leaky)
    args = Namespace(minutes=0.5, console=False, csv=str(tmp_path / "leak.csv"), json=True, model="tiny", size=64,
                     out_size="640x360", reload_every=300.0)
    rc = cmd_soak(args)
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert rc == 1 and not result["passed"], out[-2]
    assert any(p.startswith("memory grew") for p in result["problems"]), result["problems"]
    hoard.clear()
