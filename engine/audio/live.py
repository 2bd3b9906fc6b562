"""The live audio engine: a mono source rendered binaurally, out through PortAudio.

``AudioEngine`` puts together parts with one job each:

* ``RenderChain`` (chain.py): one block's work, with parameters read at its edge;
* ``RendererSwitcher`` (switcher.py): which renderer sounds, crossfades and fallbacks;
* ``RenderLoop`` (render_loop.py): the render thread that keeps the ring buffer full,
  and the PortAudio callback that only copies from it;
* ``DeviceWatcher`` (device_watch.py): the output stream, reported and reopened when lost;
* ``LoadMonitor`` (monitor.py): xruns, underruns, render load, a low buffer;
* ``AudioTap`` (tap.py): what plays, stamped with when it is heard, for a recorder (``open_tap``);

and reports them as one ``AudioStatus`` (status.py).
"""

from __future__ import annotations

import threading

from .chain import RenderChain
from .device_watch import DeviceWatcher
from .inputs import AudioInput
from .monitor import LoadMonitor
from .render_loop import RenderLoop
from .renderers import make_renderer
from .settings import AudioSettings
from .status import AudioStatus
from .switcher import RendererSwitcher
from .tap import AudioTap
from .types import SAMPLE_RATE

__all__ = ["AudioEngine", "AudioSettings", "AudioStatus"]


class AudioEngine:
    """Render ``source`` around the listener's head to the ``output`` device, steered by ``store``."""

    def __init__(self, store=None, source: AudioInput | None = None, output: str | int | None = None, *,
                 metrics=None, settings: AudioSettings | None = None, renderer_factory=make_renderer):
        if store is None:
            from ..params.catalog import AUDIO_PARAMS
            from ..params.registry import ParamStore

            store = ParamStore(AUDIO_PARAMS)
        self.store, self.source, self.metrics = store, source or AudioInput(), metrics
        s = self.settings = settings or AudioSettings()
        self._stop = threading.Event()
        self.monitor = LoadMonitor(int(s.load_window_s * SAMPLE_RATE / s.block))
        self.switcher = RendererSwitcher(renderer_factory, s, self.monitor, fault=self._fault)
        self.chain = RenderChain(store, self.switcher, s)
        self.loop = RenderLoop(self.source, self.chain, s, self.monitor, self._stop,
                               output_open=lambda: self.device.is_open, on_error=self._render_failed)
        self.device = DeviceWatcher(output, self.loop, s, self._stop, fault=self._fault, publish=self._publish)
        self._taps_lock = threading.Lock()

    @property
    def device_label(self) -> str:
        return self.device.label

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait_s: float = 5.0) -> None:
        self.chain.prepare()
        self.source.open()
        self._stop.clear()
        self.loop.start(wait_s)
        self.device.start()

    def stop(self) -> None:
        self.loop.armed = False  # the ring drains while things stop: not an underrun
        self._stop.set()
        for t in (self.loop.thread, self.device.thread):
            if t is not None:
                t.join(timeout=5.0)
        self.switcher.join_loader(timeout=30.0)
        self.device.close()
        self.source.close()
        self.loop.thread = self.device.thread = None
        self.device.status = "stopped"
        self._publish()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- what plays, for recorders ----------------------------------------------------------
    def open_tap(self, seconds: float = 5.0) -> AudioTap:
        """From the next block on, every block played also goes into the returned tap, stamped with the time it is
        heard; the reader must drain it at least every ``seconds`` (else whole blocks are dropped and counted)."""
        tap = AudioTap(seconds)
        with self._taps_lock:
            self.loop.taps = (*self.loop.taps, tap)
        return tap

    def close_tap(self, tap: AudioTap) -> None:
        """No more blocks into ``tap`` (what it holds can still be pulled); safe to call twice."""
        with self._taps_lock:
            self.loop.taps = tuple(t for t in self.loop.taps if t is not tap)
        tap.closed = True

    def _render_failed(self, e: Exception) -> None:
        self.device.status = f"render error: {e}"
        self._fault(f"render thread stopped: {e}")

    # -- into the metrics (``metrics`` may be swapped while running: the parts report through here) ----
    def _fault(self, message: str) -> None:
        metrics = self.metrics
        if metrics is not None:
            metrics.fault("audio", message)

    # -- reading ---------------------------------------------------------------------------
    def snapshot(self) -> AudioStatus:
        fill, current = self.loop.ring.fill, self.switcher.current
        return AudioStatus(
            device=self.device.label,
            device_status=self.device.status,
            input=getattr(self.source, "label", "?"),
            renderer=current.used if current else None,
            renderer_requested=self.store.snapshot()["audio_renderer"],
            fallback_reason=self.switcher.fallback_reason,
            xruns=self.monitor.xruns,
            underruns=self.monitor.underruns,
            buffer_fill=fill / self.settings.buffer_frames,
            buffer_ms=1000.0 * fill / SAMPLE_RATE,
            render_load=self.monitor.render_load,
            azimuth=self.chain.azimuth,
            reopened=self.device.reopened,
            seconds_rendered=self.chain.frames_rendered / SAMPLE_RATE,
        )

    def _publish(self) -> None:
        metrics = self.metrics
        if metrics is not None and hasattr(metrics, "audio_update"):
            metrics.audio_update(self.snapshot())
