"""Record the output to a video file, keeping real time.

Frames are placed by their timestamps: if the recorder thread missed output
frames (a busy machine), the last picture is repeated to fill the gap, so ten
seconds of show make ten seconds of video at the output rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..live.contracts import SinkError
from ..media.files import MediaError, VideoWriter, check_video_output


class RecorderSink:
    def __init__(self, path: str | Path, max_gap_frames: int = 300):
        self.path = Path(path)
        self.name = f"recorder:{self.path.name}"
        self.max_gap = max_gap_frames
        self._writer: VideoWriter | None = None
        self._t0: float | None = None
        self._last: np.ndarray | None = None
        self.frames = 0

    def availability(self) -> str | None:
        """None when the file can be written (a video extension, a writable folder), else what to change."""
        try:
            check_video_output(self.path)
        except MediaError as e:
            return str(e)
        return None

    def open(self, width: int, height: int, fps: float) -> None:
        if self._writer is not None:
            return
        try:
            self._writer = VideoWriter(self.path, fps, (width, height))
        except MediaError as e:
            raise SinkError(str(e)) from None
        self.fps = fps
        self._t0 = None

    def send(self, image: np.ndarray, timestamp: float) -> None:
        if self._writer is None:
            raise SinkError("recorder is not open")
        if self._t0 is None:
            self._t0 = timestamp
        due = int(round((timestamp - self._t0) * self.fps)) + 1  # frames the file should hold now
        gap = min(due - self.frames - 1, self.max_gap)
        for _ in range(max(0, gap)):
            self._writer.write(self._last if self._last is not None else image)
            self.frames += 1
        if due > self.frames:
            self._writer.write(image)
            self.frames += 1
            self._last = image

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close(keep=self.frames > 0)
            self._writer = None
