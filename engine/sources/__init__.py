"""Where frames come from: test pattern, still image, video file, camera, screen.

Every source follows :class:`engine.live.contracts.Source` (``name``, ``open()``,
``read() -> Frame | None``, ``close()``) and adds ``availability()`` (None, or
what the user can do) and ``describe()`` (one line for a status bar).  Frames are
HxWx3 uint8 RGB with ``captured_at = now()`` and a running ``index``.  Failures
raise :class:`~engine.live.contracts.SourceError` with a one-line fix; after one,
``open()`` may be called again to recover.
"""

from engine.live.contracts import Frame, Source, SourceError
from engine.sources.base import EndOfStream, FramePacer
from engine.sources.camera import CameraSource, list_cameras
from engine.sources.image import ImageSource
from engine.sources.pattern import PatternSource
from engine.sources.screen import ScreenSource
from engine.sources.spec import SPEC_HELP, make_source
from engine.sources.video_file import VideoFileSource

__all__ = [
    "CameraSource",
    "EndOfStream",
    "Frame",
    "FramePacer",
    "ImageSource",
    "PatternSource",
    "SPEC_HELP",
    "ScreenSource",
    "Source",
    "SourceError",
    "VideoFileSource",
    "list_cameras",
    "make_source",
]
