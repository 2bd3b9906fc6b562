"""The audio output device: open the PortAudio stream, notice when it goes, reopen it.

The device thread looks at the stream ten times a second. A stream that stopped,
or a device that stopped asking for audio for 2 s, is reported lost (status, log
line, metrics fault) and closed; every ``retry_s`` PortAudio is restarted (it lists
devices only when it starts) and the stream reopened, while the render thread keeps
rendering. A live input device is closed and reopened with it (the same hardware
often goes with it). After each look the engine's status is published.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .devices import AudioDeviceError, choose_device, refresh, sounddevice
from .render_loop import RenderLoop
from .settings import AudioSettings
from .types import SAMPLE_RATE

log = logging.getLogger("dreamdeck.audio")

SILENT_DEVICE_S = 2.0  # no callback for this long: the device is gone though the stream says active


class DeviceWatcher:
    def __init__(self, output: str | int | None, loop: RenderLoop, settings: AudioSettings, stop: threading.Event,
                 fault: Callable[[str], None] = lambda why: None, publish: Callable[[], None] = lambda: None):
        self.output, self.loop, self.s, self._stop = output, loop, settings, stop
        self._fault, self._publish = fault, publish  # into the metrics: a fault, the engine's status
        self.label = str(output) if output is not None else "default"
        self.status = "stopped"
        self.reopened = 0
        self._stream = None
        self._stream_dead: str | None = None  # set by PortAudio's finished callback
        self.thread: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        """Open the output (or report it lost and keep retrying), then watch it."""
        try:
            self.open()
            self.loop.stream_playing()
        except AudioDeviceError as e:
            self._lost(str(e))
        self.thread = threading.Thread(target=self._watch, name="dd-audio-device", daemon=True)
        self.thread.start()

    # -- the stream ----------------------------------------------------------------------
    def open(self) -> None:
        sd = sounddevice()
        choice = choose_device(self.output, "output")
        choice.apply_env("output")
        self.label = choice.label
        self._stream_dead = None
        try:
            st = sd.OutputStream(samplerate=SAMPLE_RATE, channels=2, dtype="float32", device=choice.device,
                                 latency=self.s.latency, blocksize=self.s.stream_blocksize,
                                 callback=self.loop.callback, finished_callback=self._finished)
            st.start()
        except Exception as e:
            raise AudioDeviceError(f"cannot open audio output {choice.label}: {e}") from None
        self._stream = st
        self.loop.output_latency = _latency(st)  # part of when a block is heard (engine.audio.tap)
        self.status = "running"

    def close(self) -> None:
        st, self._stream = self._stream, None
        self.loop.output_latency = 0.0
        if st is not None:
            try:
                st.close(ignore_errors=True)
            except Exception:
                pass

    def _finished(self) -> None:
        if not self._stop.is_set() and self._stream_dead is None:
            self._stream_dead = "the output stream stopped"

    def _lost(self, why: str) -> None:
        self.status = f"lost: {why}"
        self.loop.expect_stream_start()  # full again for the next stream's first gulp
        log.warning("audio output %s lost: %s; retrying every %.0f s", self.label, why, self.s.retry_s)
        self._fault(f"output {self.label} lost: {why}")

    # -- the device thread ------------------------------------------------------------------
    def _watch(self) -> None:
        source = self.loop.source
        live = getattr(source, "live", False)
        monitor = self.loop.monitor
        next_try, last_calls, last_seen = 0.0, -1, time.monotonic()
        while not self._stop.wait(0.1):
            now = time.monotonic()
            st = self._stream
            if st is not None:
                if monitor.callbacks != last_calls:
                    last_calls, last_seen = monitor.callbacks, now
                why = self._stream_dead or (None if st.active else "the output stream stopped")
                if why is None and now - last_seen > SILENT_DEVICE_S:
                    why = "the device stopped asking for audio"
                if why is not None:
                    self.close()
                    if live:
                        source.close()
                    self._lost(why)
                    next_try = now + self.s.retry_s
            elif now >= next_try:
                next_try = now + self.s.retry_s
                try:
                    if live:
                        source.close()
                    refresh()  # PortAudio lists devices only when it starts
                    if live:
                        source.open()
                    self.open()
                    self.loop.stream_playing()
                    last_calls, last_seen = monitor.callbacks, now
                    self.reopened += 1
                    log.warning("audio output %s is back", self.label)
                    self._fault(f"output {self.label} reopened")
                except Exception as e:
                    self.close()
                    self.status = f"lost: {e} (retrying)"
            self._publish()


def _latency(stream) -> float:
    """The output latency PortAudio reports for an open stream (s); 0 when it reports none."""
    try:
        latency = float(stream.latency)
    except (TypeError, ValueError, AttributeError):
        return 0.0
    return latency if 0.0 <= latency < 10.0 else 0.0
