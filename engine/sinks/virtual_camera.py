"""The output as a webcam that OBS, Zoom or Resolume can pick: a sink over ``pyvirtualcam``.

Backends are pyvirtualcam's: ``v4l2loopback`` (Linux), ``obs`` (macOS and
Windows, OBS Studio 30 or newer), ``unitycapture`` (Windows), any backend
registered with :func:`pyvirtualcam.register_backend` (chosen by its name), or
``auto``: the built-in ones of this platform in pyvirtualcam's order.  Frames
go in as RGB; the backend converts them (v4l2loopback: to I420).

The sink never paces: :meth:`VirtualCameraSink.send` hands the frame over and
returns (no ``sleep_until_next_frame``); the output thread keeps the rate.

When the camera cannot open, :class:`SinkError` says what to do about it, by
platform (the ``modprobe`` line on Linux, installing OBS elsewhere, which app
holds a busy device), with pyvirtualcam's own words in parentheses at the end.
"""

from __future__ import annotations

import errno
import fcntl
import os
import platform
import re
import threading
from pathlib import Path

import numpy as np

from ..live.contracts import SinkError

AUTO = "auto"
BUILTIN_BACKENDS = {"v4l2loopback": "Linux", "obs": "macOS and Windows", "unitycapture": "Windows"}
MODPROBE_LINE = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=DreamDeck"
INSTALL_V4L2LOOPBACK = "sudo apt install v4l2loopback-dkms (on Fedora: sudo dnf install v4l2loopback)"
INSTALL_OBS = ("install OBS Studio 30 or newer (obsproject.com), open it and click 'Start Virtual Camera' once "
               "(on macOS also allow its system extension in System Settings), then quit OBS and try again")
OBS_BUSY = "another app is already sending to the OBS camera"
PROBE_SIZE = (64, 48)  # what diagnose_virtual_camera() opens

# linux/videodev2.h: _IOR('V', 0, struct v4l2_capability) and its fields we read.
_VIDIOC_QUERYCAP = 0x80685600
_V4L2_CAP_VIDEO_OUTPUT = 0x00000002
_V4L2_CAP_DEVICE_CAPS = 0x80000000


def _pyvirtualcam():
    try:
        import pyvirtualcam  # noqa: PLC0415  (the engine must import without it)
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise SinkError(f"the virtual camera needs the pyvirtualcam package: pip install pyvirtualcam ({e})") from None
    return pyvirtualcam


def _registered() -> dict:
    from pyvirtualcam.camera import BACKENDS  # noqa: PLC0415

    return BACKENDS


def list_backends() -> list[str]:
    """Backend names usable here: ``auto`` first, then those pyvirtualcam has registered on this platform."""
    _pyvirtualcam()
    return [AUTO, *_registered()]


def _system() -> str:
    return {"Darwin": "macOS"}.get(platform.system(), platform.system())


# --------------------------------------------------------------------------- diagnosis


def _module_state() -> str:
    """Where the v4l2loopback kernel module stands: loaded, installed, missing or unknown."""
    if Path("/sys/module/v4l2loopback").exists():
        return "loaded"
    modules = Path("/lib/modules") / platform.release()
    try:
        dep = (modules / "modules.dep").read_text(errors="replace")
    except OSError:
        return "unknown"
    return "installed" if "v4l2loopback.ko" in dep else "missing"


def _no_loopback_device(device: str | None) -> str:
    state = _module_state()
    where = f"{device} does not exist" if device else "no v4l2loopback virtual camera device was found"
    number = re.fullmatch(r"/dev/video(\d+)", device or "")
    line = MODPROBE_LINE + (f" video_nr={number.group(1)}" if number else "")
    if state == "loaded":
        return (f"{where}: the v4l2loopback module is loaded but offers no free device (another app may already be "
                f"sending to it). Close that app, or reload the module with one: "
                f"sudo modprobe -r v4l2loopback && {line}")
    if state == "missing":
        return (f"{where}: the v4l2loopback kernel module is not installed. Install it with "
                f"{INSTALL_V4L2LOOPBACK}, then create the camera: {line}")
    return (f"{where}: create the virtual camera with: {line} "
            f"- if modprobe says the module is not found, first install it: {INSTALL_V4L2LOOPBACK}")


def _not_a_loopback(device: str, why: str) -> str:
    return (f"{device} is not a v4l2loopback output ({why}): choose the DreamDeck device "
            f"(v4l2-ctl --list-devices lists them) or create one with: {MODPROBE_LINE}")


def _device_busy(device: str, in_this_app: bool = False) -> str:
    who = "another virtual-camera output of this app" if in_this_app else "another app"
    return (f"{device} is busy: {who} is already using it. Close what is sending to {device} or pick another "
            f"device (for a second one: sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback devices=2 "
            f"exclusive_caps=1 card_label=DreamDeck)")


def _explain_one(backend: str, message: str, device: str | None, size: tuple[int, int]) -> tuple[int, str]:
    """(priority, advice) for one backend's error; a higher priority is the more specific advice."""
    m = message
    dev = device or "the virtual camera"
    if backend == "v4l2loopback":
        if "No v4l2 loopback device found" in m:
            return 1, _no_loopback_device(None)
        if found := re.search(r"Device (.+?) (?:does not exist|could not be opened: No such file)", m):
            return 2, _no_loopback_device(found.group(1))
        if found := re.search(r"Device (.+?) is already in use", m):
            return 3, _device_busy(found.group(1), in_this_app=True)
        if found := re.search(r"(?:Device|Virtual camera device) (.+?) could not be (?:opened|configured): "
                              r"Device or resource busy", m):
            return 3, _device_busy(found.group(1))
        if found := re.search(r"Could not access (.+?) due to missing permissions", m):
            return 3, (f"no permission to open {found.group(1)}: add yourself to the video group with "
                       f"sudo usermod -a -G video $USER, then log out and in again")
        if found := re.search(r"Device (.+?) is not a video output device", m):
            return 2, _not_a_loopback(found.group(1), "it offers no output: a real camera, or a loopback device that "
                                      "another app is already sending to")
        if found := re.search(r"Device (.+?) is not a V4L2 device", m):
            return 2, _not_a_loopback(found.group(1), "another driver runs it")
        if found := re.search(r"Device capabilities of (.+?) could not be queried", m):
            return 2, _not_a_loopback(found.group(1), "not a video device at all")
        if found := re.search(r"Virtual camera device (.+?) could not be configured", m):
            w, h = size
            return 2, (f"{found.group(1)} refused {w}x{h}: another app may have fixed its format. Close it, or "
                       f"reload the module: sudo modprobe -r v4l2loopback && {MODPROBE_LINE}")
        if found := re.search(r"Device (.+?) could not be opened", m):
            return 2, (f"{found.group(1)} cannot be opened: check the device path (v4l2-ctl --list-devices "
                       f"lists the cameras) or create the virtual camera with: {MODPROBE_LINE}")
        return 0, f"the v4l2loopback camera could not open; if it does not exist yet: {MODPROBE_LINE}"
    if backend == "obs":
        if "could not be started" in m:  # Windows: OBS's shared queue already exists
            return 3, f"{OBS_BUSY} (OBS's own 'Start Virtual Camera' or another program): stop it there first"
        if "Multiple cameras are not supported" in m:  # macOS: one sender per process
            return 3, ("another virtual-camera output of this app is already sending to the OBS camera: "
                       "remove that output first")
        if "not installed" in m or ("not found" in m.lower() and "stream" not in m.lower()):
            return 1, f"the OBS virtual camera is not installed: {INSTALL_OBS}"
        if "supports only the" in m:
            return 2, "the OBS backend has one device, 'OBS Virtual Camera': leave the device empty"
        if "start stream" in m or "Stream not found" in m:
            return 2, (f"the OBS virtual camera did not start: maybe {OBS_BUSY}; otherwise update to OBS Studio 30 "
                       f"or newer and start its virtual camera once")
        return 0, f"the OBS virtual camera could not open: {INSTALL_OBS}"
    if backend == "unitycapture":
        if "with this name" in m:
            return 2, f"no Unity Capture camera is named {dev!r}: leave the device empty or use its registered name"
        if "No camera registered" in m:
            return 1, ("the Unity Capture driver is not installed: run its Install.bat as administrator, "
                       "or use the obs backend")
        return 0, "the Unity Capture camera could not open"
    return 0, f"the {backend!r} virtual-camera backend could not open"


def _split_errors(message: str) -> list[tuple[str, str]]:
    """pyvirtualcam joins one "'name' backend: error" line per backend it tried."""
    errors: list[tuple[str, str]] = []
    for line in message.splitlines():
        found = re.match(r"'([^']+)' backend: (.*)", line)
        if found:
            errors.append((found.group(1), found.group(2)))
        elif errors:
            errors[-1] = (errors[-1][0], errors[-1][1] + " " + line)
        elif line.strip():
            errors.append(("?", line))
    return errors


def explain_open_error(message: str, device: str | None = None, size: tuple[int, int] = PROBE_SIZE) -> str:
    """Advice for pyvirtualcam's ``Camera()`` error text, with that text kept in parentheses at the end."""
    errors = _split_errors(message)
    if not errors:
        if _system() == "Linux":
            advice = _no_loopback_device(device)
        else:
            advice = f"no virtual camera backend is available: {INSTALL_OBS}"
        return f"{advice} (pyvirtualcam: {message.strip() or 'no backend available'})"
    explained = [_explain_one(name, text, device, size) for name, text in errors]
    best = max(range(len(explained)), key=lambda i: explained[i][0])  # first of the most specific
    original = "; ".join(f"'{name}' backend: {text}" for name, text in errors)
    return f"{explained[best][1]} ({original})"


def _backend_problem(backend: str) -> str | None:
    """Why ``backend`` cannot be chosen here, before pyvirtualcam is asked at all."""
    if backend == AUTO or backend in _registered():
        return None
    system = _system()
    if backend == "obs" and system == "Linux":
        return (f"the obs backend is for macOS and Windows; on Linux OBS itself sends through v4l2loopback, so use "
                f"backend v4l2loopback and create the device with: {MODPROBE_LINE}")
    if backend == "v4l2loopback":
        return f"v4l2loopback exists only on Linux; on {system} use the obs backend: {INSTALL_OBS}"
    if backend in BUILTIN_BACKENDS:
        where = BUILTIN_BACKENDS[backend]
        return f"the {backend} backend exists only on {where}; choose one of: {', '.join(list_backends())}"
    return f"unknown virtual-camera backend {backend!r}; choose one of: {', '.join(list_backends())}"


def _check_loopback_device(device: str) -> str | None:
    """Ask ``device`` what it is (VIDIOC_QUERYCAP) before pyvirtualcam opens it.

    pyvirtualcam's native backend leaves the file open when a device turns out
    not to be a loopback output; asking first keeps a sink that is retried every
    few seconds from leaking a descriptor each time.  Errors opening the file are
    left to pyvirtualcam (nothing leaks then), so its own message is kept.
    """
    try:
        fd = os.open(device, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = bytearray(104)
        try:
            fcntl.ioctl(fd, _VIDIOC_QUERYCAP, info, True)
        except OSError as e:
            _, advice = _explain_one("v4l2loopback", f"Device capabilities of {device} could not be queried.",
                                     device, PROBE_SIZE)
            return f"{advice} (VIDIOC_QUERYCAP on {device} failed: {os.strerror(e.errno or errno.ENOTTY)})"
        driver = bytes(info[:16]).split(b"\0", 1)[0].decode(errors="replace")
        caps = int.from_bytes(info[84:88], "little")
        if caps & _V4L2_CAP_DEVICE_CAPS:
            caps = int.from_bytes(info[88:92], "little")
        if not caps & _V4L2_CAP_VIDEO_OUTPUT and driver == "v4l2 loopback":
            # exclusive_caps=1: a loopback device stops offering output while another app writes to it
            return f"{_device_busy(device)} (VIDIOC_QUERYCAP on {device}: v4l2 loopback offers no output now)"
        if not caps & _V4L2_CAP_VIDEO_OUTPUT:
            problem = f"Device {device} is not a video output device."
        elif driver != "v4l2 loopback":
            problem = f"Device {device} is not a V4L2 device."
        else:
            return None
        _, advice = _explain_one("v4l2loopback", problem, device, PROBE_SIZE)
        return f"{advice} (VIDIOC_QUERYCAP on {device}: driver {driver!r}, capabilities {caps:#010x})"
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the sink


def _open_camera(backend: str, device: str | None, width: int, height: int, fps: float):
    """A pyvirtualcam.Camera, or SinkError with the advice."""
    pyvirtualcam = _pyvirtualcam()
    problem = _backend_problem(backend)
    if problem:
        raise SinkError(problem)
    if backend in (AUTO, *BUILTIN_BACKENDS) and (width % 2 or height % 2):
        raise SinkError(f"the virtual camera needs an even width and height, not {width}x{height}")
    if device and _system() == "Linux" and backend in (AUTO, "v4l2loopback"):
        problem = _check_loopback_device(device)
        if problem:
            raise SinkError(problem)
    # "auto" means a real camera of this platform: the built-in backends in pyvirtualcam's order, never a
    # backend some code registered for itself (a bench's in-memory one, say).
    names = [n for n in _registered() if n in BUILTIN_BACKENDS] if backend == AUTO else [backend]
    errors = []
    for name in names:
        try:
            return pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB, device=device,
                                       backend=name, print_fps=False)
        except Exception as e:  # pyvirtualcam's RuntimeError reads "'name' backend: what went wrong"
            errors.append(str(e))
    raise SinkError(explain_open_error("\n".join(errors), device, (width, height)))


def diagnose_virtual_camera(backend: str = AUTO, device: str | None = None) -> str | None:
    """None when a virtual camera opens here, else what the user can do about it.

    It opens a tiny camera (64x48) and closes it at once, so ask before a show
    rather than during one: a device this app is sending to right now reads as
    busy.
    """
    try:
        camera = _open_camera(backend or AUTO, device, *PROBE_SIZE, 30.0)
    except SinkError as e:
        return str(e)
    camera.close()
    return None


class VirtualCameraSink:
    """Send the output to a virtual webcam. Thread-safe; ``close()`` may be called twice."""

    def __init__(self, backend: str | None = AUTO, device: str | None = None, name: str = "virtual camera"):
        self.backend = backend or AUTO
        self.device = device or None
        self.name = name
        self._lock = threading.Lock()
        self._camera = None
        self._shape: tuple[int, int, int] | None = None
        self._fps = 0.0
        self.frames_sent = 0
        self.backend_in_use: str | None = None  # what auto chose
        self.device_in_use: str | None = None  # e.g. /dev/video9 or "OBS Virtual Camera"
        self.native_format: str | None = None  # what the backend converts to, e.g. "I420"

    @property
    def is_open(self) -> bool:
        return self._camera is not None

    def availability(self) -> str | None:
        """None when this sink's camera opens here (and is not already open), else the advice."""
        return diagnose_virtual_camera(self.backend, self.device)

    def open(self, width: int, height: int, fps: float) -> None:
        width, height, fps = int(width), int(height), float(fps)
        if width <= 0 or height <= 0 or not fps > 0:
            raise SinkError(f"the virtual camera needs a positive size and rate, not {width}x{height} at {fps} fps")
        with self._lock:
            if self._camera is not None:
                if self._shape == (height, width, 3) and self._fps == fps:
                    return
                self._close_locked()
            camera = _open_camera(self.backend, self.device, width, height, fps)
            self._camera = camera
            self._shape = (height, width, 3)
            self._fps = fps
            self.backend_in_use = camera.backend
            self.device_in_use = camera.device
            try:
                native = camera.native_fmt  # a registered backend may report a code pyvirtualcam has no name for
            except ValueError:
                native = None
            self.native_format = native.name if native is not None else None

    def send(self, image: np.ndarray, timestamp: float) -> None:
        with self._lock:
            camera = self._camera
            if camera is None:
                raise SinkError(f"{self.name} is not open")
            if image.shape != self._shape or image.dtype != np.uint8:
                h, w, _ = self._shape
                raise SinkError(f"{self.name} takes {w}x{h} RGB uint8 frames, not {image.shape} {image.dtype}")
            try:
                camera.send(np.ascontiguousarray(image))  # no pacing here: the output thread keeps the rate
            except Exception as e:
                raise SinkError(f"{self.name} ({self.device_in_use}) stopped taking frames: {e}") from e
            self.frames_sent += 1

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            camera.close()

    def __repr__(self) -> str:
        state = f"open on {self.device_in_use}" if self.is_open else "closed"
        return f"<VirtualCameraSink backend={self.backend!r} device={self.device!r} {state}>"
