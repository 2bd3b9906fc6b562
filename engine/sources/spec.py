"""``--source`` specs (``pattern``, ``camera:0``, ``file:clip.mp4``, ...) into sources."""

from __future__ import annotations

import inspect
import re

from engine.live.contracts import Source, SourceError
from engine.media.files import is_image_path
from engine.sources.camera import CameraSource
from engine.sources.image import ImageSource
from engine.sources.pattern import PatternSource
from engine.sources.screen import ScreenSource
from engine.sources.video_file import VideoFileSource

SPEC_HELP = ("pattern, pattern:static, camera:N, file:PATH, image:PATH, screen, "
             "screen:MONITOR or screen:LEFT,TOP,WIDTH,HEIGHT")


def _build(cls, opts: dict, **fixed) -> Source:
    """``cls(**fixed, **opts)``, keeping only the options ``cls`` takes."""
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in opts.items() if k in accepted and k not in fixed}
    return cls(**fixed, **kwargs)


def _bad(spec: str, why: str) -> SourceError:
    return SourceError(f"bad source {spec!r}: {why}")


def make_source(spec: str, **opts) -> Source:
    """The (unopened) source a spec names.

    Specs: ``pattern``, ``pattern:static``, ``camera`` / ``camera:N`` (or
    ``camera:/dev/video2``), ``file:PATH`` (an image path here gives a still
    image), ``image:PATH``, ``screen``, ``screen:MONITOR``,
    ``screen:LEFT,TOP,WIDTH,HEIGHT``.  ``opts`` are keyword options (``width``,
    ``height``, ``fps``, ``loop``, ``paced``, ...); each source takes the ones its
    constructor knows and ignores the rest, so a CLI can pass one common set.
    A spec that does not parse raises :class:`SourceError` naming the valid forms.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SourceError(f"no source given: use one of {SPEC_HELP}")
    spec = spec.strip()
    kind, sep, arg = spec.partition(":")
    kind = kind.strip().lower()
    arg = arg.strip()

    if kind == "pattern":
        if arg in ("", "moving"):
            return _build(PatternSource, opts, static=False)
        if arg == "static":
            return _build(PatternSource, opts, static=True)
        raise _bad(spec, "the test pattern is 'pattern' (moving) or 'pattern:static'")

    if kind == "camera":
        if not arg:
            return _build(CameraSource, opts, index=0)
        if re.fullmatch(r"\d+", arg):
            return _build(CameraSource, opts, index=int(arg))
        if arg.startswith(("/dev/", "rtsp://", "http://", "https://")):
            return _build(CameraSource, opts, index=arg)
        raise _bad(spec, "use camera:N with the camera's number (0 is the first), or a device path like camera:/dev/video2")

    if kind in ("file", "image"):
        if not arg:
            raise _bad(spec, f"give a path after '{kind}:', e.g. {kind}:{'clip.mp4' if kind == 'file' else 'still.png'}")
        if kind == "image" or is_image_path(arg):
            return _build(ImageSource, opts, path=arg)
        return _build(VideoFileSource, opts, path=arg)

    if kind == "screen":
        if not arg:
            return _build(ScreenSource, opts, region=None)
        parts = [p.strip() for p in arg.split(",")]
        if len(parts) == 1 and re.fullmatch(r"\d+", parts[0]):
            return _build(ScreenSource, opts, region=int(parts[0]))
        if len(parts) == 4 and all(re.fullmatch(r"-?\d+", p) for p in parts):
            left, top, width, height = (int(p) for p in parts)
            if width <= 0 or height <= 0:
                raise _bad(spec, "the region's width and height must be positive")
            return _build(ScreenSource, opts, region=(left, top, width, height))
        raise _bad(spec, "use screen, screen:MONITOR (1, 2, ...; 0 = all) or screen:LEFT,TOP,WIDTH,HEIGHT in pixels")

    raise _bad(spec, f"unknown kind {kind!r}; use one of {SPEC_HELP}")
