"""Real parts for the source tests: video files written by OpenCV, an Xvfb desktop, a clock moved
by hand for the pacing tests.  (No stray threads: tests/conftest.py checks that for every test.)"""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from xvfb import xvfb as start_xvfb

VIDEO_FRAMES = 12
VIDEO_FPS = 20.0
VIDEO_SIZE = (64, 48)  # width, height


def level(k: int) -> int:
    """The grey level of frame ``k`` in the test videos."""
    return 10 + 20 * k


def write_video(path, frames: int = VIDEO_FRAMES, fps: float = VIDEO_FPS, size=VIDEO_SIZE, offset: int = 0):
    """A Motion-JPEG AVI of solid grey frames, frame k at level(k + offset)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), level(k + offset), np.uint8))
    writer.release()
    return path


def frame_number(image: np.ndarray) -> int:
    """Which test-video frame (k) an image shows, from its grey level (codec error is a few levels)."""
    return int(round((float(image.mean()) - level(0)) / 20))


@pytest.fixture
def media():
    """The helpers above, for test modules (which cannot import a conftest by name)."""
    return SimpleNamespace(write_video=write_video, level=level, frame_number=frame_number,
                           frames=VIDEO_FRAMES, fps=VIDEO_FPS, size=VIDEO_SIZE)


@pytest.fixture
def video(tmp_path):
    """A 12-frame, 20 fps, 64x48 test video."""
    return write_video(tmp_path / "clip.avi")


class VirtualTime:
    """The sources' clock, moved only by their pacer's waits and by the test (``advance``), so a
    pacing test checks the schedule a source keeps, exactly, and never the wall clock."""

    def __init__(self, t: float = 1000.0):
        self.t = t
        self.waits: list[float] = []  # every wait the pacer asked for, in seconds

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def interrupt(self, real):
        """What the pacer waits on: returns at once, ``seconds`` later on this clock, or at once
        without moving it when the real interrupt (the source's close) is already set."""
        clock = self

        class Wait:
            def wait(self, seconds: float) -> bool:
                if real is not None and real.is_set():
                    return True
                clock.waits.append(seconds)
                clock.advance(seconds)
                return False

        return Wait()


@pytest.fixture
def virtual_time(monkeypatch):
    """Pace the sources on a VirtualTime: their pacer (engine.sources.base.FramePacer) runs unchanged,
    only its clock and its wait are this one."""
    import engine.sources.base as base
    import engine.sources.video_file as video_file

    vt = VirtualTime()
    monkeypatch.setattr(base, "now", vt.now)
    monkeypatch.setattr(video_file, "now", vt.now)
    real_wait = base.FramePacer.wait
    monkeypatch.setattr(base.FramePacer, "wait", lambda pacer, interrupt=None: real_wait(pacer, vt.interrupt(interrupt)))
    return vt


@pytest.fixture
def xvfb():
    """A private X server (Xvfb, 320x240): ``.display`` is its name (':5'), ``.stop()`` ends it."""
    with start_xvfb("320x240") as x:
        yield x
