"""Moving between model families in a running show: styles paint fully by default, diffusion at its own
strength; a strength the VJ moved is theirs and stays. A command's painting that cannot be read stops it."""

import subprocess
import sys
from pathlib import Path

import pytest

from waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def session(tmp_path):
    from app.session import SessionConfig, ShowSession
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"model": "styles", "size": "64", "strength": 1.0, "output_size": "512x512", "output_fps": 30})
    s = ShowSession(store, SessionConfig(osc=None))
    s.start(load_model=True)
    wait_for(lambda: s.status().model.running == "styles", timeout=60, what="styles running")
    yield s
    s.stop()


def test_a_family_change_takes_the_new_familys_strength_unless_it_was_moved(session):
    store = session.store
    session.load_model("tiny")
    wait_for(lambda: session.status().model.running == "tiny", timeout=120, what=lambda: session.status().model.describe())
    wait_for(lambda: store.get("strength") == 0.5, what="diffusion's own strength")
    session.load_model("styles")
    wait_for(lambda: session.status().model.running == "styles", timeout=60, what="styles again")
    wait_for(lambda: store.get("strength") == 1.0, what="styles' full strength")
    store.set("strength", 0.7)  # the VJ's own choice
    session.load_model("tiny")
    wait_for(lambda: session.status().model.running == "tiny", timeout=120, what="tiny again")
    assert store.get("strength") == 0.7


def test_render_with_a_painting_that_cannot_be_read_is_one_line(tmp_path):
    import cv2
    import numpy as np

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.full((72, 128, 3), 90, np.uint8))
    r = subprocess.run([sys.executable, "-m", "app.cli", "render", "-i", str(src), "-o", str(tmp_path / "o.png"),
                        "--model", "styles", "--prompt", f"image:{tmp_path / 'missing.jpg'}", "-q"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "does not exist" in lines[0] and "PNG or JPEG" in lines[0], r.stderr
    assert not (tmp_path / "o.png").exists()
