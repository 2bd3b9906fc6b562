"""The render thread keeps the ring buffer full; the PortAudio callback only copies out of it.

The render thread pulls mono blocks from the input, renders them (``RenderChain``)
and keeps ``target`` frames waiting in the ring: ``buffer_frames`` while a stream
plays, nearly the whole ring while one starts (PortAudio fills the host buffer at
once). The callback copies, and counts xruns and underruns; it never allocates,
locks or logs.

Each block gets the time it will be heard (:class:`~engine.audio.tap.HeardClock`, from the
ring's fill and the output stream's latency). An input that follows pictures (the file on
air, ``engine.audio.source_sound``) is told, before each read, when that block will be heard
(``heard_at``, before the A/V delay); every armed :class:`~engine.audio.tap.AudioTap` (a
recorder) gets the block as played, stamped with the same time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .chain import RenderChain
from .monitor import LoadMonitor
from .ring import RingBuffer
from .settings import AudioSettings
from .tap import AudioTap, HeardClock
from .types import SAMPLE_RATE

log = logging.getLogger("dreamdeck.audio")


class RenderLoop:
    def __init__(self, source, chain: RenderChain, settings: AudioSettings, monitor: LoadMonitor, stop: threading.Event,
                 output_open: Callable[[], bool], on_error: Callable[[Exception], None]):
        self.source, self.chain, self.s, self.monitor, self._stop = source, chain, settings, monitor, stop
        self._output_open, self._on_error = output_open, on_error
        self.ring = RingBuffer(2 * settings.buffer_frames + 4 * settings.block)
        self.target = settings.buffer_frames  # the fill the render thread keeps
        self.armed = False  # count underruns only once the ring was first filled (and not while stopping)
        self.thread: threading.Thread | None = None
        self.output_latency = 0.0  # the output stream's latency (s), set by the DeviceWatcher; 0 while none is open
        self.clock = HeardClock()
        self.taps: tuple[AudioTap, ...] = ()  # replaced whole (never changed in place) by AudioEngine.open_tap/close_tap

    # -- the fill the render thread keeps -----------------------------------------------
    def expect_stream_start(self) -> None:
        """Fill nearly the whole ring: a stream's first callback takes a gulp."""
        self.target = self.ring.capacity - self.s.block

    def stream_playing(self) -> None:
        self.target = self.s.buffer_frames

    def start(self, wait_s: float) -> None:
        """Start the render thread and wait (up to ``wait_s``) until the ring holds a stream's first gulp."""
        self.expect_stream_start()
        self.thread = threading.Thread(target=self._run, name="dd-audio-render", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + wait_s
        while self.ring.fill < self.target and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.002)
        self.armed = True

    # -- the PortAudio side: copies only --------------------------------------------------
    def callback(self, outdata, frames, time_info, status) -> None:
        m = self.monitor
        if status and (status.output_underflow or status.output_overflow):
            m.xruns += 1
        m.callbacks += 1
        if self.ring.read_into(outdata) < frames and self.armed:
            m.underruns += 1

    # -- the render thread ------------------------------------------------------------------
    def _run(self) -> None:
        s, block = self.s, self.s.block
        live = getattr(self.source, "live", False)
        follows = hasattr(self.source, "heard_at")  # an input that follows pictures: told when each block is heard
        try:
            while not self._stop.is_set():
                fill, target = self.ring.fill, self.target
                if fill >= target or self.ring.free < block:
                    # a device that stalled catches up in a gulp: look again within a block's time
                    time.sleep(min(max(0.001, (fill - target + block) / SAMPLE_RATE), block / SAMPLE_RATE))
                    continue
                if live and self.source.available() < block and fill >= block:
                    time.sleep(0.001)  # wait for the input, unless the output is about to run dry
                    continue
                self.monitor.buffer_checked(fill < s.buffer_frames // 4 and self.armed and self._output_open())
                heard = self.clock.block(time.monotonic(), fill, self.output_latency, block)
                if follows:
                    self.source.heard_at = heard + self._renderer_latency() / SAMPLE_RATE
                out = self.chain.render_block(self.source.read(block))
                self.ring.write(out)
                for tap in self.taps:
                    tap.push(out, heard)
        except Exception as e:  # keep the output alive and say what broke
            log.exception("audio render thread stopped")
            self._on_error(e)

    def _renderer_latency(self) -> int:
        current = self.chain.switcher.current
        return int(current.renderer.latency_samples) if current is not None else 0
