"""The show's audio: the binaural engine, started from a device or file and an output, on its own threads.

Opening a device can take a moment, so :meth:`SessionAudio.start` can run in the background
(the console); ``dreamdeck live`` checks first and waits.  A failed start leaves the show as it was.

``--audio-in source`` plays the sound of the video file on air: the input follows the source the
session puts on air (``on_air``) and the pipeline's measured capture-to-output latency, so a sample
is heard when its picture is shown (engine.audio.source_sound).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .errors import SessionError
from .status import AudioState


def check_audio(input_spec: str | None, output: str | None):
    """The input object for ``input_spec`` after checking the output device; SessionError (one line) otherwise."""
    from engine.audio.devices import AudioDeviceError, choose_device
    from engine.audio.inputs import AudioInputError, make_input

    try:
        choose_device(output, "output")  # a name that matches nothing is the user's to fix, not a retry loop
        return make_input(input_spec)
    except (AudioDeviceError, AudioInputError) as e:
        raise SessionError(str(e)) from None


class SessionAudio:
    def __init__(self, store, metrics: Any = None, on_air: Callable[[], Any] = lambda: None):
        self.store = store
        self.metrics = metrics  # the pipeline's metrics (the audio status is published there too)
        self.on_air = on_air  # the source on air now (for --audio-in source)
        self.engine = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._generation = 0  # bumped by stop(): a start still opening its device when stopped is undone

    def start(self, input_spec: str | None, output: str | None, background: bool = False) -> None:
        """Start the engine (stopping one that runs); SessionError when it cannot start (``background``:
        the error is kept in :meth:`state` instead)."""
        self.stop()
        self._error = None
        generation = self._generation
        if not background:
            self._run(input_spec, output, generation)
            if self._error:
                raise SessionError(f"audio: {self._error}")
            return
        self._thread = threading.Thread(target=self._run, args=(input_spec, output, generation), name="dd-audio-start",
                                        daemon=True)
        self._thread.start()

    def _run(self, input_spec: str | None, output: str | None, generation: int) -> None:
        from engine.audio.live import AudioEngine

        try:
            source = check_audio(input_spec, output)
            if hasattr(source, "bind"):  # the sound of the file on air follows its pictures
                source.bind(self.on_air, self.video_latency)
            engine = AudioEngine(self.store, source, output, metrics=self.metrics)
            engine.start()
        except Exception as e:
            text = str(e).strip()
            self._error = text.splitlines()[0] if text else type(e).__name__
            return
        with self._lock:
            stale = generation != self._generation
            if not stale:
                self.engine = engine
                engine.metrics = self.metrics  # the output may have restarted while the device opened
        if stale:  # stopped while the device was opening: this engine must not play on
            engine.stop()

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
        t, self._thread = self._thread, None
        if t is not None:
            t.join(2.0)  # a device that hangs longer is undone by its start thread when it gives up
        with self._lock:
            engine, self.engine = self.engine, None
        if engine is not None:
            engine.stop()

    def video_latency(self) -> float | None:
        """The pipeline's capture-to-output latency now (s): measured while a model paints; without one (the input
        shown as it is) half an output frame, the average wait for the next output tick; None before any output."""
        metrics = self.metrics
        if metrics is None:
            return None
        measured = metrics.latency_ms.value
        if measured is not None:
            return measured / 1000.0
        fps = getattr(metrics, "out_fps_target", 0) or 0
        return 0.5 / fps if fps > 0 else None

    def publish_to(self, metrics: Any) -> None:
        """The output restarted with fresh metrics: the audio status goes there from now on."""
        self.metrics = metrics
        engine = self.engine
        if engine is not None and hasattr(engine, "metrics"):
            engine.metrics = metrics

    def state(self) -> AudioState:
        with self._lock:
            engine = self.engine
        starting = self._thread is not None and self._thread.is_alive()
        return AudioState(running=engine.snapshot() if engine is not None else None, starting=starting,
                          error=self._error)

    def describe(self) -> str:
        """What runs, in one line (``dreamdeck live`` prints it once audio is up)."""
        engine = self.engine
        if engine is None:
            return "audio: off"
        return f"audio: {getattr(engine.source, 'label', '?')} -> {engine.snapshot().renderer} renderer -> {engine.device_label}"
