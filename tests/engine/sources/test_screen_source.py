"""Screen capture: no desktop here (a clear SourceError), and a real one under Xvfb."""

import subprocess
import threading

import numpy as np
import pytest
from system_deps import skip_unless_required

from engine.live.contracts import SourceError
from engine.sources import ScreenSource


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_without_a_display_open_says_a_desktop_is_needed(no_display):
    src = ScreenSource()
    assert src.availability() == "screen capture needs a desktop session (no display found: DISPLAY is not set)"
    with pytest.raises(SourceError, match="needs a desktop session"):
        src.open()
    with pytest.raises(SourceError, match="not open"):
        src.read()
    src.close()
    src.close()


def test_wayland_without_xwayland_is_named(no_display, monkeypatch):
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    with pytest.raises(SourceError, match="XWayland"):
        ScreenSource().open()


def test_an_unreachable_display_is_a_source_error(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":4242")
    with pytest.raises(SourceError, match="cannot connect to the display"):
        ScreenSource().open()


def test_bad_regions_are_refused():
    with pytest.raises(SourceError, match="positive"):
        ScreenSource(region=(0, 0, 0, 10))
    with pytest.raises(SourceError, match="left, top, width, height"):
        ScreenSource(region=(1, 2))
    with pytest.raises(SourceError, match="monitor number"):
        ScreenSource(region=-1)


def paint_root(display, colour):
    subprocess.run(["xsetroot", "-display", display, "-solid", colour], check=True, timeout=10)


@pytest.fixture
def desktop(xvfb, monkeypatch):
    monkeypatch.setenv("DISPLAY", xvfb.display)
    try:
        paint_root(xvfb.display, "#ff8000")
    except FileNotFoundError:
        skip_unless_required("xsetroot is not installed (apt-get install x11-xserver-utils)")
    return xvfb


def test_captures_the_desktop_under_xvfb(desktop):
    with ScreenSource(fps=100) as src:
        assert src.availability() is None
        assert (src.width, src.height) == (320, 240)
        frames = [src.read() for _ in range(3)]
    for k, f in enumerate(frames):
        assert f.index == k and f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8
        assert (f.image == np.array([255, 128, 0], np.uint8)).all()  # RGB, not BGR
    assert "320x240" in src.describe()


def test_a_region_a_monitor_and_reading_from_another_thread(desktop):
    with ScreenSource(region=(300, 200, 50, 60), fps=100) as src:  # cut to the desktop's edge
        assert src.grab_region == {"left": 300, "top": 200, "width": 20, "height": 40}
        result = {}
        reader = threading.Thread(target=lambda: result.setdefault("frame", src.read()))
        reader.start()
        reader.join(5)
        assert result["frame"].image.shape == (40, 20, 3)
        paint_root(desktop.display, "#0000ff")
        assert (src.read().image == np.array([0, 0, 255], np.uint8)).all()
    with ScreenSource(region=0, fps=100) as src:
        assert src.read().image.shape == (240, 320, 3)


def test_impossible_regions_on_a_real_desktop(desktop):
    with pytest.raises(SourceError, match="no monitor 5: this desktop has 1"):
        ScreenSource(region=5).open()
    src = ScreenSource(region=(1000, 1000, 10, 10))
    assert "outside the desktop" in src.availability()
    with pytest.raises(SourceError, match="outside the desktop"):
        src.open()


def test_the_desktop_going_away_mid_run_is_a_source_error(desktop):
    src = ScreenSource(fps=100)
    src.open()
    try:
        src.read()
        desktop.stop()
        with pytest.raises(SourceError, match="screen capture failed") as first:
            src.read()
        with pytest.raises(SourceError) as again:  # stays failed, same words, until opened again
            src.read()
        assert str(again.value) == str(first.value)
        with pytest.raises(SourceError, match="cannot connect to the display"):
            src.open()
    finally:
        src.close()
