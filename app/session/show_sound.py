"""What a show recording hears: the sound the show plays, followed as it changes mid-recording.

* while the audio engine runs: its binaural output as played (after gain and the A/V delay),
  through a tap stamped with the time each block is heard (engine.audio.tap);
* else, when the source on air is a video file with sound: that sound, placed where its pictures
  are (engine.audio.source_sound.SourceSoundFeed);
* else silence: a show recording always has a sound track, so audio started after the recording is in it.

The recorder (engine.sinks.recorder) pulls from here on its own thread; an engine started, stopped
or replaced mid-recording is picked up at the next pull.
"""

from __future__ import annotations

from typing import Any


class ShowSound:
    """A recorder's ``AudioFeed`` over one show session (its ``audio``, ``pipeline`` and audio set-up)."""

    def __init__(self, session: Any):
        self.session = session
        self._engine = None
        self._tap = None
        self._file = None  # SourceSoundFeed while the file's own sound is recorded

    # -- what the show has now ------------------------------------------------------------------
    def _engine_now(self):
        audio = getattr(self.session, "audio", None)  # built after the sinks the show starts with
        return getattr(audio, "engine", None) if audio is not None else None

    def _on_air(self):
        pipeline = getattr(self.session, "pipeline", None)
        return pipeline.source if pipeline is not None else None

    def _latency(self):
        audio = getattr(self.session, "audio", None)
        return audio.video_latency() if audio is not None else None

    # -- AudioFeed ----------------------------------------------------------------------------------
    def start(self) -> bool:
        from engine.audio.source_sound import SourceSoundFeed

        self._file = SourceSoundFeed(self._on_air, self._latency)
        self._follow_engine()
        return True  # always a track: audio started after the recording (what a VJ does) still gets recorded

    def pull(self, until: float):
        self._follow_engine()
        if self._tap is not None:
            return self._tap.pull()
        return self._file.pull(until) if self._file is not None else []

    def stop(self) -> None:
        self._release_tap()
        self._engine = None
        file, self._file = self._file, None
        if file is not None:
            file.stop()

    # -- inside -------------------------------------------------------------------------------------
    def _follow_engine(self) -> None:
        engine = self._engine_now()
        if engine is self._engine:
            return
        self._release_tap()
        self._engine = engine
        if engine is not None:
            self._tap = engine.open_tap()
        if self._file is not None:
            self._file.restart()  # when the engine goes, the file's sound picks up from then

    def _release_tap(self) -> None:
        tap, self._tap = self._tap, None
        if tap is not None and self._engine is not None:
            self._engine.close_tap(tap)
