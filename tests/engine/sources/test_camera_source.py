"""Cameras: the failure paths a machine without one can show, and the read path through a stream."""

import pytest

from engine.live.contracts import SourceError
from engine.sources import CameraSource, list_cameras


def test_missing_camera_is_a_source_error_with_a_fix(capfd):
    cam = CameraSource(7)
    assert cam.name == "camera:7"
    message = cam.availability()
    assert message.startswith("no camera at index 7") and "plugged in" in message
    with pytest.raises(SourceError, match="no camera at index 7: check it is plugged in"):
        cam.open()
    with pytest.raises(SourceError, match="not open"):
        cam.read()
    cam.close()
    cam.close()
    assert capfd.readouterr().err == ""  # OpenCV's own warnings are silenced


def test_list_cameras_returns_a_list_quietly(capfd):
    cameras = list_cameras()
    assert isinstance(cameras, list)
    for cam in cameras:
        assert {"index", "name", "width", "height", "fps", "backend"} <= set(cam)
    assert capfd.readouterr().err == ""


def test_a_stream_that_stops_raises_source_error(video, media):
    # OpenCV opens a path like a stream: the same code path as a camera, ending like an unplug.
    cam = CameraSource(str(video), width=64, height=48, fps=20)
    assert cam.availability() is None
    cam.open()
    try:
        assert (cam.actual_width, cam.actual_height) == (64, 48)
        assert cam.actual_fps == 20.0 and cam.backend
        frames = []
        with pytest.raises(SourceError, match="stopped sending frames"):
            while True:
                frames.append(cam.read())
        assert [media.frame_number(f.image) for f in frames] == list(range(media.frames))
        assert frames[0].image.shape == (48, 64, 3)
        with pytest.raises(SourceError):
            cam.read()
    finally:
        cam.close()
    assert "64x48" in cam.describe()
