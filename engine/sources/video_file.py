"""A video file as a source: looping, paced at the file's own rate or frame-exact.

* ``paced=True`` (live use): frames come out at the file's fps on a deadline
  schedule; ``paced=False`` (offline use): every frame, as fast as it decodes.
* ``loop=True``: at the end the file is opened again and plays from frame 0; the
  running :attr:`Frame.index` keeps counting.  ``loop=False``: after the last
  frame, :meth:`read` raises :class:`~engine.sources.base.EndOfStream` (a
  :class:`SourceError` whose message starts "end of video file"), and keeps
  raising it until :meth:`open` starts the file again.
* If the file is deleted, moved, replaced or stops decoding while playing,
  :meth:`read` raises :class:`SourceError` and the source closes itself; calling
  :meth:`open` again once the file is back starts it afresh.  (A deleted file
  would otherwise go on playing from the open handle, so each read checks the
  path on disk; a stat call is cheap.)
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2

import engine.media.files  # noqa: F401  (sets FFmpeg's console log level before any file is opened)
from engine.live.contracts import Frame, SourceError, now
from engine.sources.base import BaseSource, EndOfStream, FramePacer

DEFAULT_FPS = 30.0


def _file_identity(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class VideoFileSource(BaseSource):
    def __init__(self, path: str | os.PathLike, loop: bool = True, paced: bool = True):
        super().__init__()
        self.path = Path(path)
        self.loop = bool(loop)
        self.paced = bool(paced)
        self.name = f"file:{self.path}"
        # Known after open():
        self.fps = 0.0
        self.width = self.height = 0
        self.frame_count = 0  # as the container reports it (may be approximate)
        self.position = 0  # frames delivered since the file last started from frame 0
        self.loops = 0  # how many times playback wrapped to the start
        self._cap = None
        self._pending = None  # the first frame, decoded by open() to prove the file plays
        self._identity: tuple | None = None
        self._pacer: FramePacer | None = None
        self._ended = False

    # -- state ---------------------------------------------------------------------------

    def availability(self) -> str | None:
        if not self.path.exists():
            return f"video file not found: {self.path} (check the path)"
        if not self.path.is_file():
            return f"not a file: {self.path}"
        return None

    def describe(self) -> str:
        if not self.fps:
            return f"video file {self.path.name}"
        how = "paced" if self.paced else "frame-exact"
        loop = "looping" if self.loop else "once"
        return (f"video file {self.path.name} {self.width}x{self.height} at {self.fps:g} fps, "
                f"{self.frame_count} frames, {how}, {loop}")

    def open(self) -> None:
        with self._lock:
            self._release()
            problem = self.availability()
            if problem:
                raise SourceError(problem)
            self._start_file()
            self.loops = 0
            self._ended = False
            self._failure = None
            self._pacer = FramePacer(self.fps) if self.paced else None
            self._closing.clear()
            self._is_open = True

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap = None
        self._pending = None

    def _start_file(self) -> None:
        """(Re)open the capture at frame 0 and decode the first frame into ``_pending``."""
        self._release()
        try:
            identity = _file_identity(os.stat(self.path))
        except OSError as e:
            raise SourceError(f"cannot open video {self.path}: {e.strerror or e}") from None
        cap = cv2.VideoCapture(str(self.path))
        ok, bgr = cap.read() if cap.isOpened() else (False, None)
        if not ok or bgr is None:
            cap.release()
            raise SourceError(f"cannot read video {self.path}: the file is damaged or in a format "
                              "OpenCV cannot decode (try re-encoding it to H.264 MP4)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = fps if 0 < fps <= 1000 else DEFAULT_FPS
        self.frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.height, self.width = bgr.shape[:2]
        self._cap, self._pending, self._identity = cap, bgr, identity
        self.position = 0

    # -- reading -------------------------------------------------------------------------

    def _check_file(self) -> None:
        try:
            identity = _file_identity(os.stat(self.path))
        except FileNotFoundError:
            raise self._fail(f"video file is gone: {self.path} (moved or deleted; "
                             "it plays again once it is back)") from None
        except OSError as e:
            raise self._fail(f"cannot read video {self.path}: {e.strerror or e}") from None
        if identity != self._identity:
            raise self._fail(f"video file changed on disk: {self.path} (open it again to play the new version)")

    def _next_bgr(self):
        if self._pending is not None:
            bgr, self._pending = self._pending, None
            return bgr
        ok, bgr = self._cap.read()
        if ok and bgr is not None:
            return bgr
        # End of the file (or it stopped decoding part-way: the same thing to a player).
        if not self.loop:
            self._ended = True
            raise EndOfStream(f"end of video file {self.path} (looping is off)")
        if self.position == 0:
            raise self._fail(f"cannot read video {self.path}: no frame decodes")
        try:
            self._start_file()
        except SourceError as e:
            raise self._fail(str(e)) from None
        self.loops += 1
        bgr, self._pending = self._pending, None
        return bgr

    def read(self) -> Frame | None:
        self._require_open()
        if self._ended:
            raise EndOfStream(f"end of video file {self.path} (looping is off)")
        if self._pacer is not None and not self._pacer.wait(self._closing):
            return None  # closed while waiting
        with self._lock:
            if not self._is_open or self._cap is None:
                return None  # closed meanwhile
            self._check_file()
            bgr = self._next_bgr()
            captured_at = now()
            self.position += 1
        return self._frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), captured_at)
