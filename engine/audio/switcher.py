"""Which binaural renderer is sounding, and the hand-over from one to the next.

The ``audio_renderer`` and ``audio_room`` parameters name the renderer wanted. A
change is built on a loader thread (the flow model takes a while to load), primed
with the last input and crossfaded in over ``crossfade_s``. Three things make the
switcher fall back, each with its reason in ``fallback_reason``, the log and the
metrics' faults:

* the renderer asked for cannot be made (the factory's own fallback, or an error);
* the flow renderer falls behind real time (its load or a low output buffer): the
  HRTF renderer takes over until the parameter leaves ``flow``;
* a renderer raises mid-stream: its fallback is made at once (never silence) and the
  broken one is not retried until the parameter changes.

Everything here runs on the render thread, except the loader's factory call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from .monitor import LoadMonitor
from .renderers import RendererChoice
from .settings import AudioSettings
from .types import SAMPLE_RATE, Pose

log = logging.getLogger("dreamdeck.audio")

Want = tuple[str, bool]  # (renderer name, room) a renderer is made for


class RendererSwitcher:
    def __init__(self, factory, settings: AudioSettings, monitor: LoadMonitor, fault: Callable[[str], None] = lambda why: None):
        self.factory, self.s, self.monitor, self._fault = factory, settings, monitor, fault  # fault: into the metrics
        self.current: RendererChoice | None = None
        self.incoming: RendererChoice | None = None  # fading in
        self._xf_pos = 0
        self._want: Want | None = None  # what the current/pending renderer was made for
        self.loader: threading.Thread | None = None
        self._loaded: tuple[Want, RendererChoice | Exception] | None = None
        self._flow_barred = False  # flow fell behind: stay on hrtf until the parameter changes
        self._barred: set[str] = set()  # renderers that raised mid-stream: not retried until the parameter changes
        self._want_name: str | None = None
        self._hist = np.zeros(settings.prime_frames, np.float32)
        self.fallback_reason: str | None = None

    def adopt(self, choice: RendererChoice, want: Want) -> None:
        """Sound ``choice`` from now on, without a fade (before the first block)."""
        self.current, self._want = choice, want
        if choice.message:
            self._fallback(choice.message)

    def join_loader(self, timeout: float | None) -> None:
        loader = self.loader
        if loader is not None:
            loader.join(timeout=timeout)

    # -- at each block edge -------------------------------------------------------------
    def check(self, snap, azimuth: float) -> None:
        """Take a renderer the loader finished; start loading the one ``snap`` asks for."""
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            want, result = loaded
            self.loader = None
            if isinstance(result, Exception):
                self._fallback(f"cannot switch to the {want[0]} renderer: {result}")
            else:
                if result.message:
                    self._fallback(result.message)
                self._begin_crossfade(result, Pose.from_spherical(azimuth, snap["audio_elevation"], snap["audio_distance"]))
        want = (snap["audio_renderer"], bool(snap["audio_room"]))
        if want[0] != "flow":
            self._flow_barred = False
        if want[0] != self._want_name:  # a renderer that broke may be tried again once the parameter moves
            self._barred.clear()
            self._want_name = want[0]
        if want[0] in self._barred:
            return
        effective = ("hrtf", want[1]) if want[0] == "flow" and self._flow_barred else want
        if effective != self._want and self.loader is None and self.incoming is None:
            if not self._flow_barred:
                self.fallback_reason = None
            self._start_loader(effective)

    def _start_loader(self, want: Want) -> None:
        self._want = want

        def load():
            try:
                result = self.factory(want[0], room=want[1])
            except Exception as e:
                result = e
            self._loaded = (want, result)

        self.loader = threading.Thread(target=load, name="dd-audio-loader", daemon=True)
        self.loader.start()

    def _begin_crossfade(self, choice: RendererChoice, pose: Pose) -> None:
        choice.renderer.reset()
        choice.renderer.process(self._hist, pose)  # primed with the recent input: no fade-in from silence
        self.incoming, self._xf_pos = choice, 0
        log.info("audio: crossfading to the %s renderer", choice.used)

    # -- one block ----------------------------------------------------------------------
    def render(self, mono: np.ndarray, pose: Pose, snap) -> np.ndarray:
        """``mono`` rendered at ``pose`` by the current renderer, crossfaded into the incoming one."""
        n = len(mono)
        t0 = time.perf_counter()
        try:
            out = self.current.renderer.process(mono, pose)
        except Exception as e:  # a renderer that breaks mid-show: hand over at once, never go silent
            out = self._renderer_broke(self.current, e, mono, pose, snap)
        if self.incoming is not None:
            out = self._crossfade(out, mono, pose)
        elapsed = time.perf_counter() - t0
        self._hist = np.concatenate((self._hist, mono))[-len(self._hist):]
        if self.incoming is None:
            self.monitor.block_rendered(elapsed, n)
            self._check_flow_keeps_up()
        return out

    def _crossfade(self, out: np.ndarray, mono: np.ndarray, pose: Pose) -> np.ndarray:
        n = len(mono)
        try:
            new = self.incoming.renderer.process(mono, pose)
        except Exception as e:  # the incoming one broke: stay on the current renderer
            self._fallback(f"the {self.incoming.used} renderer failed while fading in ({type(e).__name__}: {e}); "
                           f"staying on {self.current.used}")
            self._barred.add(self.incoming.used)
            self.incoming = None
            new = out
        xf_n = max(1, int(self.s.crossfade_s * SAMPLE_RATE))
        r = np.minimum((self._xf_pos + np.arange(1, n + 1)) / xf_n, 1.0).astype(np.float32)[:, None]
        out = out * (1 - r) + new * r
        self._xf_pos += n
        if self._xf_pos >= xf_n:
            self.current, self.incoming = self.incoming, None
            self.monitor.restart()
        return out

    def _renderer_broke(self, choice: RendererChoice, err: Exception, mono, pose, snap) -> np.ndarray:
        """Replace a renderer that raised by its fallback (made here, synchronously) and render the block with it."""
        self._barred.add(choice.used)
        log.exception("audio: the %s renderer failed", choice.used)
        nxt = "hrtf" if choice.used != "hrtf" else "head"
        self._fallback(f"the {choice.used} renderer failed ({type(err).__name__}: {err}); switched to the {nxt} renderer")
        room = bool(snap["audio_room"])
        self.current = self.factory(nxt, room=room)
        self._want = (snap["audio_renderer"], room)  # no reload of the broken one until the parameter changes
        self.incoming = None
        self.monitor.restart()
        return self.current.renderer.process(mono, pose)

    def _check_flow_keeps_up(self) -> None:
        m = self.monitor
        if self.current.used != "flow" or not m.window_full or self.loader is not None:
            return
        load = m.render_load
        if load > self.s.flow_budget or m.ran_low:
            why = (f"the flow renderer fell behind (it needed {load:.0%} of real time)" if load > self.s.flow_budget
                   else "the flow renderer fell behind (the output buffer ran low)")
            self._flow_barred = True
            self._fallback(why)
            self._start_loader(("hrtf", self._want[1]))

    def _fallback(self, why: str) -> None:
        self.fallback_reason = why
        log.warning("audio: %s", why)
        self._fault(why)
