"""The desktop (a monitor or a rectangle of it) as a source, grabbed with ``mss``.

``region`` is ``None`` (the primary monitor), a monitor number (1, 2, ...; 0 is all
monitors together, as ``mss`` counts them) or ``(left, top, width, height)`` in
desktop pixels; a rectangle reaching past the desktop is cut to it.
"""

from __future__ import annotations

import os
import sys
import threading

import cv2
import numpy as np

from engine.live.contracts import Frame, SourceError, now
from engine.sources.base import BaseSource, FramePacer, check_fps

Region = tuple[int, int, int, int]


def _display_problem() -> str | None:
    """Why there is no desktop to grab, judged from the environment alone (Linux/BSD)."""
    if sys.platform.startswith(("win", "darwin")):
        return None
    if os.environ.get("DISPLAY"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return ("screen capture needs an X11 or XWayland display, and DISPLAY is not set "
                "(log in to an X11 session or enable XWayland)")
    return "screen capture needs a desktop session (no display found: DISPLAY is not set)"


def _import_mss():
    try:
        import mss
    except ImportError:
        raise SourceError("screen capture needs the mss package: pip install mss") from None
    return mss


def _new_grabber(display: str | None):
    mss = _import_mss()
    factory = getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 names the class; older ones a factory
    kwargs = {"display": display} if display else {}
    try:
        return factory(**kwargs)
    except Exception as e:  # mss raises its own ScreenShotError / XError subclasses, or OSError
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SourceError(f"screen capture needs a desktop session (cannot connect to the display: {detail})") from None


class ScreenSource(BaseSource):
    def __init__(self, region: int | Region | None = None, fps: float = 30, display: str | None = None):
        super().__init__()
        if region is not None and not isinstance(region, int):
            try:
                left, top, width, height = (int(v) for v in region)
            except (TypeError, ValueError):
                raise SourceError(f"screen region must be (left, top, width, height), not {region!r}") from None
            if width <= 0 or height <= 0:
                raise SourceError(f"screen region needs a positive width and height, not {width}x{height}")
            region = (left, top, width, height)
        elif isinstance(region, int) and region < 0:
            raise SourceError(f"monitor number must be 0 (all) or 1, 2, ..., not {region}")
        self.region = region
        self.fps = check_fps(fps)
        self.display = display
        if region is None:
            self.name = "screen"
        elif isinstance(region, int):
            self.name = f"screen:{region}"
        else:
            self.name = "screen:" + ",".join(str(v) for v in region)
        self.monitors: list[dict] = []  # as mss reports them, after open()
        self.grab_region: dict | None = None  # the rectangle actually grabbed, after open()
        self.width = self.height = 0
        self._pacer = FramePacer(self.fps)
        self._grabber = None
        self._grabber_thread: int | None = None

    def availability(self) -> str | None:
        if self._is_open:
            return None
        problem = _display_problem() if not self.display else None
        if problem:
            return problem
        try:
            grabber = _new_grabber(self.display)
        except SourceError as e:
            return str(e)
        try:
            self._resolve(list(grabber.monitors))
        except SourceError as e:
            return str(e)
        finally:
            grabber.close()
        return None

    def describe(self) -> str:
        if self.grab_region is None:
            return f"screen {self.name.partition(':')[2] or 'primary monitor'}"
        r = self.grab_region
        return f"screen {r['width']}x{r['height']} at ({r['left']}, {r['top']}), {self.fps:g} fps"

    def _resolve(self, monitors: list[dict]) -> dict:
        if not monitors:
            raise SourceError("screen capture found no monitor on this display")
        if self.region is None:
            mon = monitors[1] if len(monitors) > 1 else monitors[0]
            return {k: int(mon[k]) for k in ("left", "top", "width", "height")}
        if isinstance(self.region, int):
            if self.region >= len(monitors):
                raise SourceError(f"no monitor {self.region}: this desktop has {len(monitors) - 1} "
                                  f"(use 1..{len(monitors) - 1}, or 0 for all together)")
            mon = monitors[self.region]
            return {k: int(mon[k]) for k in ("left", "top", "width", "height")}
        left, top, width, height = self.region
        desk = monitors[0]
        x0, y0 = max(left, desk["left"]), max(top, desk["top"])
        x1 = min(left + width, desk["left"] + desk["width"])
        y1 = min(top + height, desk["top"] + desk["height"])
        if x1 <= x0 or y1 <= y0:
            raise SourceError(f"screen region {self.region} is outside the desktop "
                              f"({desk['width']}x{desk['height']} at ({desk['left']}, {desk['top']}))")
        return {"left": x0, "top": y0, "width": x1 - x0, "height": y1 - y0}

    def open(self) -> None:
        with self._lock:
            self._release()
            problem = _display_problem() if not self.display else None
            if problem:
                raise SourceError(problem)
            grabber = _new_grabber(self.display)
            try:
                self.monitors = [dict(m) for m in grabber.monitors]
                self.grab_region = self._resolve(self.monitors)
            except SourceError:
                grabber.close()
                raise
            except Exception as e:
                grabber.close()
                raise SourceError(f"screen capture cannot list the monitors: {e}") from None
            self.width, self.height = self.grab_region["width"], self.grab_region["height"]
            self._grabber, self._grabber_thread = grabber, threading.get_ident()
            self._pacer.reset()
            self._failure = None
            self._closing.clear()
            self._is_open = True

    def read(self) -> Frame | None:
        self._require_open()
        if not self._pacer.wait(self._closing):
            return None
        with self._lock:
            if not self._is_open:
                return None  # closed meanwhile
            try:
                if self._grabber_thread != threading.get_ident():
                    # Some platforms tie a grabber to the thread that made it: make one for the reader.
                    self._release()
                    self._grabber = _new_grabber(self.display)
                    self._grabber_thread = threading.get_ident()
                shot = self._grabber.grab(self.grab_region)
            except Exception as e:
                detail = str(e).strip().splitlines()[0] if str(e).strip() else "the display stopped answering"
                raise self._fail(f"screen capture failed: {detail} (the desktop session may have ended "
                                 "or the monitor layout changed; open the source again)") from None
            captured_at = now()
        bgra = np.frombuffer(shot.raw, dtype=np.uint8).reshape(shot.height, shot.width, 4)
        return self._frame(cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB), captured_at)

    def _release(self) -> None:
        grabber, self._grabber, self._grabber_thread = self._grabber, None, None
        if grabber is not None:
            try:
                grabber.close()
            except Exception:
                pass
