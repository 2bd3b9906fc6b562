"""Cameras through OpenCV: open by index (or device path / stream URL), list what is there.

OpenCV's own console warnings ("can't open camera by index") are silenced while
probing and opening: every failure becomes one :class:`SourceError` line instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")

import cv2  # noqa: E402

import engine.media.files  # noqa: E402,F401  (quietens FFmpeg before any capture opens)
from engine.live.contracts import Frame, SourceError, now  # noqa: E402
from engine.sources.base import BaseSource  # noqa: E402

# A camera can drop a frame now and then; this many failed grabs in a row mean it is gone.
READ_ATTEMPTS = 3
_log_lock = threading.Lock()


@contextlib.contextmanager
def quiet_opencv():
    """Silence OpenCV's logging for the duration (it is process-wide, so keep it short)."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    with _log_lock:
        old = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        try:
            yield
        finally:
            logging.setLogLevel(old)


def _open_capture(device: int | str):
    with quiet_opencv():
        cap = cv2.VideoCapture(device)
        if not cap.isOpened():
            cap.release()
            return None
        return cap


def _device_name(index: int) -> str:
    """The camera's own name where the OS tells it (Linux sysfs), else 'camera N'."""
    with contextlib.suppress(OSError):
        name = Path(f"/sys/class/video4linux/video{index}/name").read_text().strip()
        if name:
            return name
    return f"camera {index}"


def _unavailable_message(device: int | str) -> str:
    if isinstance(device, int):
        where = f"no camera at index {device}"
    else:
        where = f"cannot open camera {device}"
    hint = "check it is plugged in and not used by another app"
    if sys.platform == "darwin":
        hint += ", and that this app may use the camera (System Settings > Privacy & Security > Camera)"
    elif sys.platform.startswith("linux") and isinstance(device, int) and not Path(f"/dev/video{device}").exists():
        hint += f" (/dev/video{device} does not exist)"
    return f"{where}: {hint}"


def list_cameras(max_index: int = 8) -> list[dict]:
    """Cameras that open at indices ``0 .. max_index-1``.

    Each is ``{"index", "name", "width", "height", "fps", "backend"}`` (size and
    rate are the camera's current mode; no frame is read, so this is quick).
    """
    found = []
    for index in range(max_index):
        if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
            continue  # nothing to probe: skip OpenCV's slow and noisy attempt
        cap = _open_capture(index)
        if cap is None:
            continue
        try:
            found.append({
                "index": index,
                "name": _device_name(index),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
                "fps": float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                "backend": cap.getBackendName(),
            })
        finally:
            cap.release()
    return found


class CameraSource(BaseSource):
    """A live camera; :meth:`read` blocks until the camera's next frame.

    ``index`` is a camera number, or a string OpenCV opens directly (a device path
    such as ``/dev/video2``, or a stream URL).  ``width``/``height``/``fps`` are
    requests; the camera picks its nearest mode, and after :meth:`open` the
    attributes ``actual_width``, ``actual_height`` and ``actual_fps`` say what it chose.
    """

    def __init__(self, index: int | str = 0, width: int | None = None, height: int | None = None,
                 fps: float | None = None):
        super().__init__()
        self.device: int | str = index
        self.width, self.height, self.fps = width, height, fps
        self.name = f"camera:{index}"
        self.actual_width = self.actual_height = 0
        self.actual_fps = 0.0
        self.backend = ""
        self._cap = None
        self._pending = None

    def availability(self) -> str | None:
        with self._lock:
            if self._is_open:
                return None
        cap = _open_capture(self.device)
        if cap is None:
            return _unavailable_message(self.device)
        cap.release()
        return None

    def describe(self) -> str:
        if not self.actual_width:
            return f"camera {self.device}"
        return f"camera {self.device} ({self.backend}) {self.actual_width}x{self.actual_height} at {self.actual_fps:g} fps"

    def open(self) -> None:
        with self._lock:
            self._release()
            cap = _open_capture(self.device)
            if cap is None:
                raise SourceError(_unavailable_message(self.device))
            with quiet_opencv():
                if self.width:
                    cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(self.width))
                if self.height:
                    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(self.height))
                if self.fps:
                    cap.set(cv2.CAP_PROP_FPS, float(self.fps))
                cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # live: the newest frame, not a queue of old ones
                ok, bgr = self._grab(cap)
            if not ok:
                cap.release()
                raise SourceError(f"camera {self.device} opened but sends no picture: "
                                  "close other apps using it, or unplug and replug it")
            self.actual_height, self.actual_width = bgr.shape[:2]
            self.actual_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.backend = cap.getBackendName()
            self._cap, self._pending = cap, bgr
            self._failure = None
            self._closing.clear()
            self._is_open = True

    def _grab(self, cap):
        for attempt in range(READ_ATTEMPTS):
            ok, bgr = cap.read()
            if ok and bgr is not None and bgr.size:
                return True, bgr
            if attempt + 1 < READ_ATTEMPTS and self._closing.wait(0.01):
                break
        return False, None

    def read(self) -> Frame | None:
        self._require_open()
        with self._lock:
            if self._cap is None:
                return None  # closed meanwhile
            if self._pending is not None:
                bgr, self._pending = self._pending, None
            else:
                ok, bgr = self._grab(self._cap)
                if not ok:
                    if self._closing.is_set():
                        return None
                    raise self._fail(f"camera {self.device} stopped sending frames: "
                                     "check it is still plugged in and not taken by another app")
            captured_at = now()
        return self._frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), captured_at)

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap = None
        self._pending = None


__all__ = ["CameraSource", "list_cameras", "quiet_opencv"]
