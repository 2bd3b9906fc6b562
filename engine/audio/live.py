"""The live audio engine: a mono source rendered binaurally, out through PortAudio.

Three threads, one job each:

* the render thread pulls mono blocks from the input, reads the parameter
  snapshot at each block edge (position, orbit, renderer, gain, mute, A/V
  delay), renders, ramps and delays, and keeps the ring buffer ``buffer_frames`` full;
* the PortAudio callback only copies from the ring (silence and a count on underrun);
* the device thread watches the output stream: when the device disappears it
  says so (metrics and a log line) and reopens it every ``retry_s`` until it
  returns, while the render thread keeps running.

Renderer changes (the ``audio_renderer`` and ``audio_room`` parameters) are
built on a loader thread and crossfaded in over ~50 ms. If the flow renderer
cannot keep up, the HRTF renderer takes over, with the reason in the metrics.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from .devices import AudioDeviceError, choose_device, refresh, sounddevice
from .inputs import AudioInput
from .renderers import RendererChoice, make_renderer
from .ramps import DelayLine, GainRamp, wrap180
from .ring import RingBuffer
from .types import LIVE_BLOCK, SAMPLE_RATE, Pose

log = logging.getLogger("dreamdeck.audio")


@dataclass
class AudioSettings:
    # frames per render block (LIVE_BLOCK, 42.7 ms): one size for every renderer, so a switch never
    # changes the timing, and the size the real-time factors are measured at (engine.audio.types)
    block: int = LIVE_BLOCK
    buffer_frames: int = 2400  # how far ahead of the device the render thread stays (50 ms)
    latency: str | float = 0.05  # PortAudio's output latency, s ('low' is ~9 ms: clicks on a busy 2-core machine)
    stream_blocksize: int = 0  # frames per PortAudio callback; 0 lets the host choose
    crossfade_s: float = 0.05  # renderer switch
    gain_ramp_s: float = 0.02  # gain and mute changes
    delay_fade_s: float = 0.03  # A/V delay changes
    max_delay_s: float = 2.0
    retry_s: float = 1.0  # reopen a lost device this often
    flow_budget: float = 0.8  # flow may use this fraction of real time, averaged over ``load_window_s``
    load_window_s: float = 0.25
    prime_frames: int = 2048  # input history fed to a new renderer before it fades in


class AudioEngine:
    """Render ``source`` around the listener's head to the ``output`` device, steered by ``store``."""

    def __init__(self, store=None, source: AudioInput | None = None, output: str | int | None = None, *,
                 metrics=None, settings: AudioSettings | None = None, renderer_factory=make_renderer):
        if store is None:
            from ..params.catalog import AUDIO_PARAMS
            from ..params.registry import ParamStore

            store = ParamStore(AUDIO_PARAMS)
        self.store, self.source, self.output = store, source or AudioInput(), output
        self.metrics, self.s, self.factory = metrics, settings or AudioSettings(), renderer_factory
        s = self.s
        self.ring = RingBuffer(2 * s.buffer_frames + 4 * s.block)
        self._target = s.buffer_frames  # the fill the render thread keeps; higher while a stream starts
        self.gain = GainRamp(int(s.gain_ramp_s * SAMPLE_RATE))
        self.delay = DelayLine(int(s.max_delay_s * SAMPLE_RATE), s.block, int(s.delay_fade_s * SAMPLE_RATE))
        # counters the callback bumps (plain ints: one writer each)
        self.xruns = self.underruns = self.callbacks = 0
        self._armed = False  # count underruns only once the ring was first filled
        self.reopened = 0
        self.device_label = str(output) if output is not None else "default"
        self.device_status = "stopped"
        self.fallback_reason: str | None = None
        self.azimuth = 0.0
        self.frames_rendered = 0
        self._orbit = 0.0
        self._cur: RendererChoice | None = None
        self._next: RendererChoice | None = None
        self._xf_pos = 0
        self._want: tuple[str, bool] | None = None  # (renderer, room) the current/pending renderer was made for
        self._loader: threading.Thread | None = None
        self._loaded: tuple[tuple[str, bool], RendererChoice | Exception] | None = None
        self._flow_barred = False  # flow fell behind: stay on hrtf until the parameter changes
        self._barred: set[str] = set()  # renderers that raised mid-stream: not retried until the parameter changes
        self._want_name: str | None = None
        self._load = collections.deque(maxlen=max(4, int(s.load_window_s * SAMPLE_RATE / s.block)))
        self._low_fill = collections.deque(maxlen=self._load.maxlen)
        self._hist = np.zeros(s.prime_frames, np.float32)
        self._stream = None
        self._stream_dead: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait_s: float = 5.0) -> None:
        snap = self.store.snapshot()
        want = (snap["audio_renderer"], bool(snap["audio_room"]))
        self._adopt(self.factory(want[0], room=want[1]), want)
        self.gain = GainRamp(self.gain.n, self._target_gain(snap))
        self.delay.cur = int(snap["av_delay"] * SAMPLE_RATE / 1000)
        self.source.open()
        self._stop.clear()
        self._target = self.ring.capacity - self.s.block  # PortAudio fills the host buffer at once when it starts
        render = threading.Thread(target=self._render_loop, name="dd-audio-render", daemon=True)
        self._threads = [render]
        render.start()
        deadline = time.monotonic() + wait_s
        while self.ring.fill < self._target and time.monotonic() < deadline and render.is_alive():
            time.sleep(0.002)
        self._armed = True
        try:
            self._open_output()
            self._target = self.s.buffer_frames
        except AudioDeviceError as e:
            self._lost(str(e))
        dev = threading.Thread(target=self._device_loop, name="dd-audio-device", daemon=True)
        self._threads.append(dev)
        dev.start()

    def stop(self) -> None:
        self._armed = False  # the ring drains while things stop: not an underrun
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
        loader = self._loader
        if loader is not None:
            loader.join(timeout=30.0)
        self._close_output()
        self.source.close()
        self._threads = []
        self.device_status = "stopped"
        self._publish()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- the PortAudio side: copies only ---------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        if status and (status.output_underflow or status.output_overflow):
            self.xruns += 1
        self.callbacks += 1
        if self.ring.read_into(outdata) < frames and self._armed:
            self.underruns += 1

    def _finished(self) -> None:
        if not self._stop.is_set() and self._stream_dead is None:
            self._stream_dead = "the output stream stopped"

    def _open_output(self) -> None:
        sd = sounddevice()
        choice = choose_device(self.output, "output")
        choice.apply_env("output")
        self.device_label = choice.label
        self._stream_dead = None
        try:
            st = sd.OutputStream(samplerate=SAMPLE_RATE, channels=2, dtype="float32", device=choice.device,
                                 latency=self.s.latency, blocksize=self.s.stream_blocksize,
                                 callback=self._callback, finished_callback=self._finished)
            st.start()
        except Exception as e:
            raise AudioDeviceError(f"cannot open audio output {choice.label}: {e}") from None
        self._stream = st
        self.device_status = "running"

    def _close_output(self) -> None:
        st, self._stream = self._stream, None
        if st is not None:
            try:
                st.close(ignore_errors=True)
            except Exception:
                pass

    def _lost(self, why: str) -> None:
        self.device_status = f"lost: {why}"
        self._target = self.ring.capacity - self.s.block  # full again for the next stream's first gulp
        log.warning("audio output %s lost: %s; retrying every %.0f s", self.device_label, why, self.s.retry_s)
        if self.metrics is not None:
            self.metrics.fault("audio", f"output {self.device_label} lost: {why}")

    # -- the device thread: notice a lost device, reopen it ---------------------------------
    def _device_loop(self) -> None:
        next_try, last_calls, last_seen = 0.0, -1, time.monotonic()
        while not self._stop.wait(0.1):
            now = time.monotonic()
            st = self._stream
            if st is not None:
                if self.callbacks != last_calls:
                    last_calls, last_seen = self.callbacks, now
                why = self._stream_dead or (None if st.active else "the output stream stopped")
                if why is None and now - last_seen > 2.0:
                    why = "the device stopped asking for audio"
                if why is not None:
                    self._close_output()
                    if getattr(self.source, "live", False):
                        self.source.close()
                    self._lost(why)
                    next_try = now + self.s.retry_s
            elif now >= next_try:
                next_try = now + self.s.retry_s
                try:
                    if getattr(self.source, "live", False):
                        self.source.close()
                    refresh()  # PortAudio lists devices only when it starts
                    if getattr(self.source, "live", False):
                        self.source.open()
                    self._open_output()
                    self._target = self.s.buffer_frames
                    last_calls, last_seen = self.callbacks, now
                    self.reopened += 1
                    log.warning("audio output %s is back", self.device_label)
                    if self.metrics is not None:
                        self.metrics.fault("audio", f"output {self.device_label} reopened")
                except Exception as e:
                    self._close_output()
                    self.device_status = f"lost: {e} (retrying)"
            self._publish()

    # -- the render thread ------------------------------------------------------------------
    def _render_loop(self) -> None:
        s, block = self.s, self.s.block
        try:
            while not self._stop.is_set():
                fill, target = self.ring.fill, self._target
                if fill >= target or self.ring.free < block:
                    # a device that stalled catches up in a gulp: look again within a block's time
                    time.sleep(min(max(0.001, (fill - target + block) / SAMPLE_RATE), block / SAMPLE_RATE))
                    continue
                if getattr(self.source, "live", False) and self.source.available() < block and fill >= block:
                    time.sleep(0.001)  # wait for the input, unless the output is about to run dry
                    continue
                self._low_fill.append(fill < s.buffer_frames // 4 and self._armed and self._stream is not None)
                mono = self.source.read(block)
                self.ring.write(self.render_block(mono))
        except Exception as e:  # keep the output alive and say what broke
            log.exception("audio render thread stopped")
            self.device_status = f"render error: {e}"
            if self.metrics is not None:
                self.metrics.fault("audio", f"render thread stopped: {e}")

    def render_block(self, mono: np.ndarray) -> np.ndarray:
        """One block: parameters at its edge, renderer(s), gain, delay. (Called by the render thread.)"""
        n, snap = len(mono), self.store.snapshot()
        self._check_renderer(snap)
        if snap["audio_orbit"]:
            self._orbit = wrap180(self._orbit + snap["audio_orbit_speed"] * n / SAMPLE_RATE)
        else:
            self._orbit = 0.0
        self.azimuth = wrap180(snap["audio_azimuth"] + self._orbit)
        pose = Pose.from_spherical(self.azimuth, snap["audio_elevation"], snap["audio_distance"])
        t0 = time.perf_counter()
        try:
            out = self._cur.renderer.process(mono, pose)
        except Exception as e:  # a renderer that breaks mid-show: hand over at once, never go silent
            out = self._renderer_broke(self._cur, e, mono, pose, snap)
        if self._next is not None:
            try:
                new = self._next.renderer.process(mono, pose)
            except Exception as e:  # the incoming one broke: stay on the current renderer
                self._fallback(f"the {self._next.used} renderer failed while fading in ({type(e).__name__}: {e}); staying on {self._cur.used}")
                self._barred.add(self._next.used)
                self._next = None
                new = out
            xf_n = max(1, int(self.s.crossfade_s * SAMPLE_RATE))
            r = np.minimum((self._xf_pos + np.arange(1, n + 1)) / xf_n, 1.0).astype(np.float32)[:, None]
            out = out * (1 - r) + new * r
            self._xf_pos += n
            if self._xf_pos >= xf_n:
                self._cur, self._next = self._next, None
                self._load.clear()
                self._low_fill.clear()
        elapsed = time.perf_counter() - t0
        self._hist = np.concatenate((self._hist, mono))[-len(self._hist):]
        if self._next is None:
            self._load.append(elapsed * SAMPLE_RATE / n)
            self._check_flow_keeps_up()
        out = out * self.gain.gains(self._target_gain(snap), n)
        out = self.delay.process(np.asarray(out, np.float32), int(round(snap["av_delay"] * SAMPLE_RATE / 1000)))
        self.frames_rendered += n
        return out

    def _renderer_broke(self, choice: RendererChoice, err: Exception, mono, pose, snap) -> np.ndarray:
        """Replace a renderer that raised by its fallback (made here, synchronously) and render the block with it."""
        self._barred.add(choice.used)
        log.exception("audio: the %s renderer failed", choice.used)
        nxt = "hrtf" if choice.used != "hrtf" else "head"
        why = f"the {choice.used} renderer failed ({type(err).__name__}: {err}); switched to the {nxt} renderer"
        self._fallback(why)
        room = bool(snap["audio_room"])
        self._cur = self.factory(nxt, room=room)
        self._want = (snap["audio_renderer"], room)  # no reload of the broken one until the parameter changes
        self._next = None
        self._load.clear()
        self._low_fill.clear()
        return self._cur.renderer.process(mono, pose)

    @staticmethod
    def _target_gain(snap) -> float:
        return 0.0 if snap["audio_mute"] else float(10 ** (snap["audio_gain"] / 20))

    def _check_flow_keeps_up(self) -> None:
        if self._cur.used != "flow" or len(self._load) < self._load.maxlen or self._loader is not None:
            return
        load = sum(self._load) / len(self._load)
        low = sum(self._low_fill)
        if load > self.s.flow_budget or low > len(self._low_fill) // 2:
            why = (f"the flow renderer fell behind (it needed {load:.0%} of real time)" if load > self.s.flow_budget
                   else "the flow renderer fell behind (the output buffer ran low)")
            self._flow_barred = True
            self._fallback(why)
            self._start_loader(("hrtf", self._want[1]))

    def _fallback(self, why: str) -> None:
        self.fallback_reason = why
        log.warning("audio: %s", why)
        if self.metrics is not None:
            self.metrics.fault("audio", why)

    def _check_renderer(self, snap) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            want, result = loaded
            self._loader = None
            if isinstance(result, Exception):
                self._fallback(f"cannot switch to the {want[0]} renderer: {result}")
            else:
                if result.message:
                    self._fallback(result.message)
                self._begin_crossfade(result)
        want = (snap["audio_renderer"], bool(snap["audio_room"]))
        if want[0] != "flow":
            self._flow_barred = False
        if want[0] != self._want_name:  # a renderer that broke may be tried again once the parameter moves
            self._barred.clear()
            self._want_name = want[0]
        if want[0] in self._barred:
            return
        effective = ("hrtf", want[1]) if want[0] == "flow" and self._flow_barred else want
        if effective != self._want and self._loader is None and self._next is None:
            if not self._flow_barred:
                self.fallback_reason = None
            self._start_loader(effective)

    def _start_loader(self, want: tuple[str, bool]) -> None:
        self._want = want

        def load():
            try:
                result = self.factory(want[0], room=want[1])
            except Exception as e:
                result = e
            self._loaded = (want, result)

        self._loader = threading.Thread(target=load, name="dd-audio-loader", daemon=True)
        self._loader.start()

    def _begin_crossfade(self, choice: RendererChoice) -> None:
        choice.renderer.reset()
        az = self.azimuth
        snap = self.store.snapshot()
        choice.renderer.process(self._hist, Pose.from_spherical(az, snap["audio_elevation"], snap["audio_distance"]))
        self._next, self._xf_pos = choice, 0
        log.info("audio: crossfading to the %s renderer", choice.used)

    def _adopt(self, choice: RendererChoice, want) -> None:
        self._cur, self._want = choice, want
        if choice.message:
            self._fallback(choice.message)

    # -- reading ---------------------------------------------------------------------------
    def snapshot(self) -> dict:
        load = list(self._load)
        cur = self._cur
        return {
            "device": self.device_label,
            "device_status": self.device_status,
            "input": getattr(self.source, "label", "?"),
            "renderer": cur.used if cur else None,
            "renderer_requested": self.store.snapshot()["audio_renderer"],
            "fallback_reason": self.fallback_reason,
            "xruns": self.xruns,
            "underruns": self.underruns,
            "buffer_fill": self.ring.fill / self.s.buffer_frames,
            "buffer_ms": 1000.0 * self.ring.fill / SAMPLE_RATE,
            "render_load": sum(load) / len(load) if load else None,
            "azimuth": self.azimuth,
            "reopened": self.reopened,
            "seconds_rendered": self.frames_rendered / SAMPLE_RATE,
        }

    def _publish(self) -> None:
        if self.metrics is not None and hasattr(self.metrics, "audio_update"):
            self.metrics.audio_update(self.snapshot())
