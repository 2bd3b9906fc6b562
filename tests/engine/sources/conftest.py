"""Real parts for the source tests: video files written by OpenCV, an Xvfb desktop, no stray threads."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from system_deps import skip_unless_required

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


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 1.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not extra, f"threads left running: {extra}"


@pytest.fixture
def xvfb():
    """A private X server (Xvfb, 320x240): ``.display`` is its name (':5'), ``.stop()`` ends it."""
    exe = shutil.which("Xvfb")
    if exe is None:
        skip_unless_required("Xvfb is not installed (apt-get install xvfb x11-xserver-utils)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_fd), "-screen", "0", "320x240x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            skip_unless_required("Xvfb did not start")
        yield SimpleNamespace(display=f":{number.decode()}", stop=lambda: _stop(proc))
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
