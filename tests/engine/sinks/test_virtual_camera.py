"""The virtual-camera sink through the real pyvirtualcam.Camera.

* The native v4l2loopback backend runs end to end against a FUSE file that
  answers its two ioctls and records its writes (``fake_v4l2.py``): no kernel
  module is needed, only /dev/fuse.
* A backend registered with pyvirtualcam's own ``register_backend`` checks
  shapes, that ``send`` never sleeps, and that ``close`` releases.
* The "no device" path on this machine gives the modprobe line.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import pyvirtualcam
from pyvirtualcam.camera import BACKENDS
from pyvirtualcam.util import encode_fourcc

from engine.live.contracts import Sink, SinkError
from engine.sinks.virtual_camera import (
    MODPROBE_LINE,
    OBS_BUSY,
    VirtualCameraSink,
    diagnose_virtual_camera,
    explain_open_error,
    list_backends,
)

sys.path.insert(0, str(Path(__file__).parent))
from fake_v4l2 import fuse_unavailable_reason, fake_v4l2loopback  # noqa: E402

LINUX = sys.platform.startswith("linux")
# Skipped on a machine without FUSE; in CI (DREAMDECK_REQUIRE_SYSTEM_TESTS=1) they run and fail loudly instead.
from system_deps import REQUIRED  # noqa: E402
from waiting import wait_for  # noqa: E402

needs_fuse = pytest.mark.skipif(not LINUX or (fuse_unavailable_reason() is not None and not REQUIRED),
                                reason=f"FUSE is not usable here: {fuse_unavailable_reason()}")


def solid(w, h, rgb):
    image = np.empty((h, w, 3), np.uint8)
    image[:] = rgb
    return image


def gradient(w, h):
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    image = np.empty((h, w, 3), np.uint8)
    image[..., 0] = np.broadcast_to(x, (h, w)).astype(np.uint8)
    image[..., 1] = np.broadcast_to(y, (h, w)).astype(np.uint8)
    image[..., 2] = np.broadcast_to((x + y) / 2, (h, w)).astype(np.uint8)
    return image


def decode_i420(frame):
    yuv = np.frombuffer(frame.data, np.uint8).reshape(frame.height * 3 // 2, frame.width)
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)


def mean_abs_error(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture
def fake_loopback(tmp_path):
    with fake_v4l2loopback(tmp_path / "uvc-free") as fake:
        yield fake


# --------------------------------------------------------------------------- (a) the native v4l2loopback path


@needs_fuse
def test_frames_reach_the_native_v4l2loopback_backend_intact(fake_loopback):
    w, h = 160, 120
    sent = [solid(w, h, c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0),
                                     (200, 30, 90)]]
    sent.append(gradient(w, h))
    sink = VirtualCameraSink(backend="v4l2loopback", device=fake_loopback.device)
    assert isinstance(sink, Sink)
    sink.open(w, h, 30)
    try:
        assert (sink.backend_in_use, sink.device_in_use, sink.native_format) == (
            "v4l2loopback", fake_loopback.device, "I420")
        for i, image in enumerate(sent):
            sink.send(image, timestamp=i / 30)
    finally:
        sink.close()

    # The native backend's own conversation with the device: open for writing
    # with O_SYNC, QUERYCAP, S_FMT (video output, I420 = 'YU12'), one write per frame.
    events = fake_loopback.events()
    native = [e for e in events if e["event"] == "open" and e["flags"] & os.O_SYNC]
    assert len(native) == 1 and native[0]["accmode"] == os.O_WRONLY
    fh = native[0]["fh"]
    ioctls = [e for e in fake_loopback.ioctls() if e["fh"] == fh]
    assert [e["name"] for e in ioctls] == ["VIDIOC_QUERYCAP", "VIDIOC_S_FMT"]
    assert (ioctls[1]["type"], ioctls[1]["width"], ioctls[1]["height"], ioctls[1]["pixelformat"]) == (
        2, w, h, "YU12")
    frame_bytes = w * h * 3 // 2
    writes = [e for e in fake_loopback.writes() if e["fh"] == fh]
    assert [(e["offset"], e["size"]) for e in writes] == [(i * frame_bytes, frame_bytes) for i in range(len(sent))]
    wait_for(lambda: any(e["event"] == "release" and e["fh"] == fh for e in fake_loopback.events()),
             what="close() to release the device")

    frames = fake_loopback.frames()
    assert len(frames) == len(sent)
    for image, frame in zip(sent, frames):
        decoded = decode_i420(frame)
        assert decoded.shape == image.shape
        assert mean_abs_error(decoded, image) < 3, (image[0, 0], decoded[0, 0])


@needs_fuse
def test_a_720p_frame_split_across_fuse_writes_still_decodes(fake_loopback):
    w, h = 1280, 720
    image = gradient(w, h)
    sink = VirtualCameraSink(backend="v4l2loopback", device=fake_loopback.device)
    sink.open(w, h, 30)
    sink.send(image, 0.0)
    sink.close()
    (frame,) = fake_loopback.frames()
    assert mean_abs_error(decode_i420(frame), image) < 3


@needs_fuse
def test_the_same_device_twice_in_one_app_is_busy(fake_loopback):
    first = VirtualCameraSink(backend="v4l2loopback", device=fake_loopback.device)
    second = VirtualCameraSink(backend="v4l2loopback", device=fake_loopback.device)
    first.open(64, 48, 30)
    try:
        with pytest.raises(SinkError) as caught:
            second.open(64, 48, 30)
        message = str(caught.value)
        assert f"{fake_loopback.device} is busy" in message
        assert "already using it" in message
        assert message.endswith("is already in use.)")
    finally:
        first.close()
    second.open(64, 48, 30)  # free again once the first output let go
    second.close()


@needs_fuse
def test_a_device_of_another_driver_is_refused_and_not_left_open(tmp_path):
    with fake_v4l2loopback(tmp_path / "webcam", driver="uvcvideo") as fake:
        with pytest.raises(SinkError) as caught:
            VirtualCameraSink(backend="v4l2loopback", device=fake.device).open(64, 48, 30)
        message = str(caught.value)
        assert "not a v4l2loopback output" in message and MODPROBE_LINE in message
        assert "uvcvideo" in message
        opened = [e["fh"] for e in fake.events() if e["event"] == "open"]
        assert opened, "the device was never asked"
        wait_for(lambda: {e["fh"] for e in fake.events() if e["event"] == "release"} >= set(opened),
                 what="the refused device to be released (it was left open)")
        assert not [e for e in fake.ioctls() if e["name"] == "VIDIOC_S_FMT"]
        assert diagnose_virtual_camera("v4l2loopback", fake.device) == message


@needs_fuse
def test_a_loopback_device_another_app_is_sending_to_is_busy(tmp_path):
    # With exclusive_caps=1, v4l2loopback stops announcing VIDEO_OUTPUT while a writer is attached.
    with fake_v4l2loopback(tmp_path / "taken", output=False) as fake:
        with pytest.raises(SinkError) as caught:
            VirtualCameraSink(backend="v4l2loopback", device=fake.device).open(64, 48, 30)
        assert f"{fake.device} is busy: another app is already using it" in str(caught.value)
        assert not [e for e in fake.ioctls() if e["name"] == "VIDIOC_S_FMT"]


@needs_fuse
def test_diagnosis_is_none_when_the_device_works(fake_loopback):
    assert diagnose_virtual_camera("v4l2loopback", fake_loopback.device) is None
    assert VirtualCameraSink("v4l2loopback", fake_loopback.device).availability() is None


@needs_fuse
@pytest.mark.skipif(not os.access("/dev", os.W_OK) or glob.glob("/dev/video*"),
                    reason="needs a writable /dev without video devices to place /dev/video63")
def test_auto_finds_a_loopback_device_under_dev_video(fake_loopback):
    link = Path("/dev/video63")
    link.symlink_to(fake_loopback.device)
    try:
        sink = VirtualCameraSink()  # auto backend, no device: pyvirtualcam scans /dev/video0..99
        sink.open(64, 48, 30)
        try:
            assert (sink.backend_in_use, sink.device_in_use) == ("v4l2loopback", str(link))
            sink.send(solid(64, 48, (10, 200, 120)), 0.0)
        finally:
            sink.close()
    finally:
        link.unlink()
    (frame,) = fake_loopback.frames()
    assert mean_abs_error(decode_i420(frame), solid(64, 48, (10, 200, 120))) < 3


# --------------------------------------------------------------------------- (b) a registered backend


class RecordingBackend:
    """A pyvirtualcam backend (its documented interface) that keeps what it is given."""

    instances: list["RecordingBackend"] = []
    fail_send = False

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc, self._device = width, height, fps, fourcc, device
        self.frames: list[tuple[float, np.ndarray]] = []
        self.closed = 0
        type(self).instances.append(self)

    def send(self, frame):
        if self.fail_send:
            raise OSError("the receiving end went away")
        self.frames.append((time.perf_counter(), frame.copy()))

    def close(self):
        self.closed += 1

    def device(self):
        return self._device or "recording camera"

    def native_fourcc(self):
        return self.fourcc


@pytest.fixture
def recording_backend():
    name = "dreamdeck-test-recorder"
    RecordingBackend.instances = []
    RecordingBackend.fail_send = False
    pyvirtualcam.register_backend(name, RecordingBackend)
    try:
        yield name
    finally:
        BACKENDS.pop(name, None)


def test_shapes_and_format_pass_through_a_registered_backend(recording_backend):
    assert recording_backend in list_backends()
    sink = VirtualCameraSink(backend=recording_backend, device="stage left")
    sink.open(320, 180, 60)
    (backend,) = RecordingBackend.instances
    assert (backend.width, backend.height, backend.fps) == (320, 180, 60)
    assert backend.fourcc == encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    assert (sink.device_in_use, sink.native_format) == ("stage left", "RGB")
    image = gradient(320, 180)
    sink.send(image, 1.0)
    sink.send(image[:, ::-1], 1.1)  # not contiguous: the sink makes it so
    sink.close()
    assert [f.shape for _, f in backend.frames] == [(320 * 180 * 3,)] * 2
    assert np.array_equal(backend.frames[0][1], image.reshape(-1))
    assert np.array_equal(backend.frames[1][1], np.ascontiguousarray(image[:, ::-1]).reshape(-1))
    assert sink.frames_sent == 2


def test_send_never_sleeps(recording_backend, monkeypatch):
    """The output thread keeps the rate: send() hands each frame over at once, never waiting for
    the camera's next frame time (pyvirtualcam's pacing) nor sleeping."""
    def no_sleep(*args):
        raise AssertionError(f"send() waited {args}")

    monkeypatch.setattr(time, "sleep", no_sleep)
    monkeypatch.setattr(pyvirtualcam.Camera, "sleep_until_next_frame", no_sleep)
    sink = VirtualCameraSink(backend=recording_backend)
    sink.open(64, 48, 5)  # 200 ms per frame if it paced itself
    image = solid(64, 48, (1, 2, 3))
    for i in range(10):
        sink.send(image, i / 5)
    sink.close()
    (backend,) = RecordingBackend.instances
    assert len(backend.frames) == 10


def test_close_releases_the_backend_and_can_reopen(recording_backend):
    sink = VirtualCameraSink(backend=recording_backend)
    sink.open(64, 48, 30)
    sink.close()
    sink.close()  # safe twice
    (backend,) = RecordingBackend.instances
    assert backend.closed == 1 and not sink.is_open
    with pytest.raises(SinkError, match="not open"):
        sink.send(solid(64, 48, (0, 0, 0)), 0.0)
    sink.open(64, 48, 30)
    assert len(RecordingBackend.instances) == 2
    sink.open(64, 48, 30)  # same size again: keeps the camera it has
    assert len(RecordingBackend.instances) == 2
    sink.open(128, 96, 30)  # a new size: closes the old camera, opens a new one
    assert RecordingBackend.instances[1].closed == 1 and len(RecordingBackend.instances) == 3
    sink.close()
    assert all(b.closed == 1 for b in RecordingBackend.instances)


def test_wrong_frames_and_failing_backends_raise_sink_error(recording_backend):
    sink = VirtualCameraSink(backend=recording_backend)
    sink.open(64, 48, 30)
    with pytest.raises(SinkError, match="64x48 RGB uint8"):
        sink.send(solid(32, 48, (0, 0, 0)), 0.0)
    with pytest.raises(SinkError, match="64x48 RGB uint8"):
        sink.send(solid(64, 48, (0, 0, 0)).astype(np.float32), 0.0)
    RecordingBackend.fail_send = True
    with pytest.raises(SinkError, match="stopped taking frames: the receiving end went away"):
        sink.send(solid(64, 48, (0, 0, 0)), 0.0)
    sink.close()


@pytest.mark.skipif(not LINUX or glob.glob("/dev/video*"), reason="needs Linux without video devices")
def test_auto_never_picks_a_registered_backend(recording_backend):
    # "auto" means a real camera: a backend registered for tests or a bench is only used by its name.
    with pytest.raises(SinkError, match="sudo modprobe v4l2loopback"):
        VirtualCameraSink().open(64, 48, 30)
    assert RecordingBackend.instances == []


# --------------------------------------------------------------------------- (c) no device


def test_a_missing_device_names_the_modprobe_line():
    with pytest.raises(SinkError) as caught:
        VirtualCameraSink(backend="v4l2loopback", device="/dev/video-does-not-exist").open(1280, 720, 30)
    message = str(caught.value)
    assert MODPROBE_LINE in message
    assert "/dev/video-does-not-exist does not exist" in message
    assert message.endswith("('v4l2loopback' backend: Device /dev/video-does-not-exist does not exist.)")


@pytest.mark.skipif(not LINUX or glob.glob("/dev/video*"), reason="needs Linux without video devices")
def test_auto_without_v4l2loopback_gives_the_diagnosis():
    with pytest.raises(SinkError) as caught:
        VirtualCameraSink().open(1280, 720, 30)
    message = str(caught.value)
    assert MODPROBE_LINE in message and "v4l2loopback-dkms" in message
    assert message.endswith("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe "
                            "v4l2loopback'? See also pyvirtualcam's documentation.)")
    assert diagnose_virtual_camera() == message
    assert VirtualCameraSink().availability() == message


def test_backend_choice_is_checked_before_pyvirtualcam_is_asked():
    assert list_backends()[0] == "auto"
    with pytest.raises(SinkError, match="unknown virtual-camera backend 'nope'; choose one of: auto"):
        VirtualCameraSink(backend="nope").open(64, 48, 30)
    if LINUX:
        message = diagnose_virtual_camera("obs")
        assert "v4l2loopback" in message and MODPROBE_LINE in message
    with pytest.raises(SinkError, match="even width and height"):
        VirtualCameraSink(backend="v4l2loopback", device="/dev/video-does-not-exist").open(1279, 720, 30)


@pytest.mark.parametrize(
    "error, advice",
    [
        # Windows, OBS not installed / its camera already fed by someone else
        ("'obs' backend: OBS Virtual Camera device not found! Did you install OBS?", "OBS Studio 30 or newer"),
        ("'obs' backend: virtual camera output could not be started", OBS_BUSY),
        ("'obs' backend: virtual camera output could not be started\n"
         "'unitycapture' backend: No camera registered. Did you install any camera?", OBS_BUSY),
        ("'obs' backend: OBS Virtual Camera device not found! Did you install OBS?\n"
         "'unitycapture' backend: No camera registered. Did you install any camera?", "OBS Studio 30 or newer"),
        # macOS 13+ (camera extension) and older (DAL plug-in)
        ("'obs' backend: OBS Virtual Camera is not installed in your system. Use the Virtual Camera function in "
         "OBS 30.0 or later to trigger the installation and activate the System Extension in System Settings. "
         "You may need to restart your machine after that. [Device not found]", "OBS Studio 30 or newer"),
        ("'obs' backend: Multiple cameras are not supported by this backend.", "already sending to the OBS camera"),
        # Linux
        ("'v4l2loopback' backend: Device /dev/video4 is already in use.", "/dev/video4 is busy"),
        ("'v4l2loopback' backend: Virtual camera device /dev/video4 could not be configured: "
         "Device or resource busy", "/dev/video4 is busy: another app is already using it"),
        ("'v4l2loopback' backend: Device /dev/video4 could not be opened: Device or resource busy",
         "/dev/video4 is busy: another app"),
        ("'v4l2loopback' backend: Could not access /dev/video4 due to missing permissions. Did you add your user to "
         "the 'video' group? Run 'usermod -a -G video myusername' and log out and in again.", "usermod -a -G video"),
        ("'v4l2loopback' backend: Device /dev/video0 is not a video output device.", "not a v4l2loopback output"),
        ("'v4l2loopback' backend: Device /dev/video7 does not exist.", MODPROBE_LINE + " video_nr=7"),
    ],
)
def test_pyvirtualcam_errors_map_to_advice(error, advice):
    message = explain_open_error(error, size=(1280, 720))
    assert advice in message
    assert message.endswith("(" + error.replace("\n", "; ") + ")")
