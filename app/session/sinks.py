"""Outputs named by a spec, as sources are: ``vcam[:BACKEND[:DEVICE]]`` and ``record:PATH``.

The show session builds every sink through :func:`make_sink`, so a new kind of output
(NDI, Spout, Syphon, a remote node) is one more branch here and works from the console,
``dreamdeck live`` and any later surface at once.
"""

from __future__ import annotations

from .errors import SessionError

SINK_SPECS = "vcam[:BACKEND[:DEVICE]] | record:PATH"


def make_sink(spec: str):
    """A sink ready to add to the pipeline; SessionError (one line) when it cannot run here."""
    kind, _, rest = spec.partition(":")
    if kind == "vcam":
        from engine.sinks.virtual_camera import VirtualCameraSink, diagnose_virtual_camera

        backend, _, device = rest.partition(":")
        backend, device = backend or "auto", device or None
        problem = diagnose_virtual_camera(backend, device)
        if problem:
            raise SessionError(problem)
        return VirtualCameraSink(backend=backend, device=device)
    if kind == "record":
        from engine.media.files import MediaError, check_video_output
        from engine.sinks.recorder import RecorderSink

        if not rest.strip():
            raise SessionError("record: give a file to record to, e.g. record:show.mp4")
        try:
            check_video_output(rest)  # extension and folder, as the writer will open it
        except MediaError as e:
            raise SessionError(str(e)) from None
        return RecorderSink(rest)
    raise SessionError(f"unknown output {spec!r}: use {SINK_SPECS}")
