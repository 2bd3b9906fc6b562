"""Outputs named by a spec, as sources are: ``vcam[:BACKEND[:DEVICE]]`` and ``record:PATH``.

The show session builds every sink through :func:`make_sink`, so a new kind of output
(NDI, Spout, Syphon, a remote node) is one more branch here and works from the console,
``dreamdeck live`` and any later surface at once.

A recording takes its codec from the registry's ``record_codec`` when it is added (an unknown
codec, one its container cannot hold, a folder it cannot write to: refused then, in one line)
and records the sound the show plays (app.session.show_sound).
"""

from __future__ import annotations

from .errors import SessionError

SINK_SPECS = "vcam[:BACKEND[:DEVICE]] | record:PATH"


def make_sink(spec: str, session=None):
    """A sink ready to add to the pipeline; SessionError (one line) when it cannot run here. ``session``: the show
    it records (its registry's ``record_codec``, its sound); without one a recording has no sound."""
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
        store = getattr(session, "store", None)
        codec = store.get("record_codec") if store is not None and "record_codec" in store.params else "auto"
        try:
            check_video_output(rest, codec)  # extension, codec for that container, folder, as the writer will open them
        except MediaError as e:
            raise SessionError(str(e)) from None
        feed = None
        if session is not None:
            from .show_sound import ShowSound

            feed = ShowSound(session)
        return RecorderSink(rest, codec=codec, audio_feed=feed)
    raise SessionError(f"unknown output {spec!r}: use {SINK_SPECS}")
