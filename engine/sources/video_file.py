"""A video file as a source: looping, paced at the file's own timing or frame-exact.

Read through PyAV (:mod:`engine.media.reader`): H.264, HEVC, ProRes, HAP, DNxHR, VP9, AV1,
Motion JPEG... in MP4, MOV, MKV, AVI, WebM; frames as displayed (rotation metadata applied).

* ``paced=True`` (live use): each frame comes out when its own timestamp falls due, so a
  variable-frame-rate file plays at its real timing; ``paced=False`` (offline use): every
  frame, as fast as it decodes.  A paced source that falls more than one (average) frame
  behind (the reader stalled) starts its schedule again from the present instead of
  bursting out the missed frames.
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

For the file's own sound (played by the audio engine, in sync with the pictures) the source
tells :attr:`path`, :attr:`has_audio`, :attr:`loops` and :meth:`media_clock`, which places
the file's media time (:attr:`engine.media.reader.VideoFrame.t`, the axis
:func:`engine.media.reader.iter_audio` stamps its blocks on) on the pipeline's clock.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from engine.live.contracts import Frame, SourceError, now
from engine.media.errors import MediaError
from engine.media.reader import VideoFrame, VideoReader
from engine.sources.base import BaseSource, EndOfStream, FramePacer

DEFAULT_FPS = 30.0


def _file_identity(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class MediaClock(NamedTuple):
    """Where the file's media time stands on the pipeline's clock (:func:`engine.live.contracts.now`).

    ``origin``: the monotonic time at which media time 0 of pass ``loop`` of the file is (or was) shown,
    i.e. the frame with time ``t`` of that pass is shown (its :attr:`Frame.captured_at`) at ``origin + t``.
    A paced source keeps to this schedule, so the sound's sample at media time ``s`` belongs at
    ``origin + s``; the next pass starts at ``origin + loop_length_s`` while the schedule holds (after a
    stall the source restarts its schedule and the origin moves: read the clock again, it is cheap).
    Frame-exact sources (``paced=False``) deliver as fast as they decode, so their origin (the capture
    time of the pass's first frame minus that frame's time) is no schedule to play sound against.
    """

    origin: float
    loop: int  # which pass of the file: 0 for the first, the source's ``loops`` count at that frame
    loop_length_s: float  # media seconds one pass lasts: as the file states it until the first pass
    # has played through, then as played (the last frame's time plus its duration)

    def media_time(self, at: float) -> float:
        """Media seconds into pass ``loop`` shown at monotonic time ``at`` (past ``loop_length_s``: the next pass)."""
        return at - self.origin


class _TimestampPacer(FramePacer):
    """Frames due at their own times: frame ``t`` at ``origin + t`` (media time runs on across loops).

    The waiting itself is :meth:`FramePacer.wait` (the one clock and interrupt every paced source uses);
    its period (one average frame) is how late a frame may be before the schedule restarts at the present.
    """

    def __init__(self, fps: float):
        super().__init__(fps)
        self.origin: float | None = None  # now() at which media time 0 (of the first loop) is shown

    def wait_until(self, media_t: float, interrupt) -> bool:
        if self.origin is None:
            self.origin = now() - media_t
        self._due = self.origin + media_t
        if not self.wait(interrupt):
            return False
        # wait() moved the due time one period on from when this frame went out: its due time (on
        # schedule or a little late) or the present (more than a period late: the schedule restarts there)
        self.origin = self._due - self.period - media_t
        return True


class VideoFileSource(BaseSource):
    def __init__(self, path: str | os.PathLike, loop: bool = True, paced: bool = True):
        super().__init__()
        self.path = Path(path)
        self.loop = bool(loop)
        self.paced = bool(paced)
        self.name = f"file:{self.path}"
        # Known after open():
        self.fps = 0.0  # the file's average rate (paced playback follows each frame's own time)
        self.width = self.height = 0
        self.frame_count = 0  # exact where the container states it, else estimated from the duration
        self.codec = ""
        self.has_audio = False  # the file carries a sound track
        self.position = 0  # frames delivered since the file last started from frame 0
        self.loops = 0  # how many times playback wrapped to the start
        self._reader: VideoReader | None = None
        self._identity: tuple | None = None
        self._pacer: _TimestampPacer | None = None
        self._ended = False
        self._loop_base = 0.0  # media time (continuous over loops) at which the current pass starts
        self._pass_end = 0.0  # media time within the pass where the last frame read so far ends
        self._pass_length = 0.0  # media seconds one pass lasts: as the file states, then as played
        self._last_t = 0.0  # time of the last frame read in this pass
        self._clock: MediaClock | None = None

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
        sound = ", with sound" if self.has_audio else ""
        return (f"video file {self.path.name} {self.width}x{self.height} {self.codec} at {self.fps:g} fps, "
                f"{self.frame_count} frames{sound}, {how}, {loop}")

    def media_clock(self) -> MediaClock | None:
        """The file's media time on the pipeline clock, as of the last frame delivered (None before the first).
        One snapshot: its origin and loop belong together."""
        return self._clock

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
            self._loop_base = self._pass_end = 0.0
            self._pass_length = self._reader.info.duration_s
            self._clock = None
            self._pacer = _TimestampPacer(self.fps) if self.paced else None
            self._closing.clear()
            self._is_open = True

    def _release(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = None

    def _start_file(self) -> None:
        """(Re)open the file at frame 0; the reader decodes the first frame to prove the file plays."""
        self._release()
        try:
            identity = _file_identity(os.stat(self.path))
        except OSError as e:
            raise SourceError(f"cannot open video {self.path}: {e.strerror or e}") from None
        try:
            reader = VideoReader(self.path)
        except MediaError as e:
            raise SourceError(str(e)) from None
        info = reader.info
        self.fps = info.fps if 0 < info.fps <= 1000 else DEFAULT_FPS
        self.frame_count, self.codec, self.has_audio = info.frame_count, info.video_codec, info.has_audio
        self.width, self.height = info.width, info.height
        self._reader, self._identity = reader, identity
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

    def _next_frame(self) -> VideoFrame:
        frame = self._reader.read()
        if frame is not None:
            return frame
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
        self._pass_length = self._pass_end
        self._loop_base += self._pass_end
        self._pass_end = 0.0
        return self._reader.read()

    def read(self) -> Frame | None:
        self._require_open()
        if self._ended:
            raise EndOfStream(f"end of video file {self.path} (looping is off)")
        with self._lock:
            if not self._is_open or self._reader is None:
                return None  # closed meanwhile
            self._check_file()
            frame = self._next_frame()
            gap = frame.t - self._last_t if self.position and frame.t > self._last_t else 1.0 / self.fps
            self._last_t = frame.t
            self._pass_end = max(self._pass_end, frame.t + (frame.duration or gap))
            loop, loop_base = self.loops, self._loop_base
            self.position += 1
        pacer = self._pacer
        if pacer is not None and not pacer.wait_until(loop_base + frame.t, self._closing):
            return None  # closed while waiting
        captured_at = now()
        if pacer is not None:
            origin = pacer.origin + loop_base
        elif self._clock is not None and self._clock.loop == loop:
            origin = self._clock.origin
        else:
            origin = captured_at - frame.t
        self._clock = MediaClock(origin, loop, self._pass_length)
        return self._frame(frame.rgb, captured_at)
