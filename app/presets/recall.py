"""Recall a preset with a crossfade, optionally quantised to the beat.

One timer thread (``preset-recall``) drives every fade at ``tick_hz`` (60), writing
``store.update(values, source='preset')`` once per tick, so each tick is one
registry version and one OSC feedback bundle.  The thread sleeps while there is
nothing to do.

* A recall is scheduled at ``start_at``: now, or with ``preset_quantize`` 'beat' /
  'bar' the next boundary of the tempo clock minus ``latency_compensation`` ms (so
  the change leaves the pipeline on the beat).
* The fade plan (app/presets/fade.py) is built when the recall starts, from the
  values at that moment, and the fade is timed from ``start_at``: it ends
  ``preset_fade_time`` seconds later with the exact target values, even when the
  thread woke a little late.
* A new recall replaces a scheduled one; a running fade continues until the new
  one starts, which then fades on from wherever the values are (no jump).
* Takeover: a parameter moved by anyone else (GUI, OSC, MIDI) during a fade is
  left alone for the rest of that fade.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from engine.params.registry import ParamStore

from ..errors import one_line
from .fade import FadePlan, build_plan


@dataclass
class _Job:
    values: dict[str, Any]
    fade_time: float
    start_at: float
    plan: FadePlan | None = None
    taken: set[str] = field(default_factory=set)


class PresetRecaller:
    def __init__(
        self,
        store: ParamStore,
        tempo=None,
        clock: Callable[[], float] = time.monotonic,
        tick_hz: float = 60.0,
        source: Any = "preset",
    ):
        """``tempo`` (app.tempo.Tempo) is needed for quantised recalls; without one they start at once.
        ``clock`` must count seconds at the pace of real time (the thread sleeps real seconds)."""
        self.store = store
        self.tempo = tempo
        self.clock = clock
        self.tick = 1.0 / tick_hz
        self.source = source
        self.last_error: str | None = None
        self._cond = threading.Condition(threading.RLock())
        self._pending: _Job | None = None
        self._active: _Job | None = None
        self._generation = 0  # each thread runs until the generation moves on (stop), so a restart never races an exit
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._unsubscribe = self.store.subscribe(self._on_change)
            self._thread = threading.Thread(target=self._run, args=(self._generation,), name="preset-recall", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Cancel any fade (values stay where they are) and join the thread."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._generation += 1
            self._pending = self._active = None
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            self._cond.notify_all()
        if unsubscribe:
            unsubscribe()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> "PresetRecaller":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- recalls ---------------------------------------------------------------------
    def recall(
        self,
        values: Mapping[str, Any],
        fade_time: float | None = None,
        quantize: str | None = None,
        lookahead_s: float | None = None,
        now: float | None = None,
    ) -> float:
        """Schedule a recall of ``values`` (parameter -> value; all checked first, ParamError
        on the first bad one, nothing scheduled).  Unset arguments come from the registry
        (preset_fade_time, preset_quantize, latency_compensation).  Returns the start time
        on ``clock``.  Starts the thread if needed."""
        clean = {n: self.store.spec(n).validate(v) for n, v in values.items()}
        fade = float(self.store.get("preset_fade_time") if fade_time is None else fade_time)
        if fade < 0:
            raise ValueError(f"fade_time must be 0 or more seconds, not {fade}")
        kind = self.store.get("preset_quantize") if quantize is None else quantize
        ahead = self.store.get("latency_compensation") / 1000.0 if lookahead_s is None else lookahead_s
        now = self.clock() if now is None else now
        start_at = now if kind == "none" or self.tempo is None else self.tempo.next_boundary(kind, now, ahead)
        self.start()
        with self._cond:
            self._pending = _Job(clean, fade, start_at)
            self._cond.notify_all()
        return start_at

    def apply_now(self, values: Mapping[str, Any]) -> None:
        """Set ``values`` at once, in one update, cancelling any fade (e.g. ``live --preset`` before start)."""
        self.cancel()
        self.store.update(values, source=self.source)

    def cancel(self) -> None:
        """Drop the scheduled recall and stop the running fade where it is."""
        with self._cond:
            self._pending = self._active = None
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None or self._active is not None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no recall is scheduled or fading; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and self._active is None, timeout)

    # -- the timer thread -------------------------------------------------------------
    def _on_change(self, name: str, value: Any, source: Any) -> None:
        if self._thread is not None and threading.get_ident() == self._thread.ident:
            return  # our own tick
        with self._cond:
            job = self._active
            if job is not None and job.plan is not None and name in job.plan.names():
                job.plan.drop([name])

    def _run(self, generation: int) -> None:
        next_tick = float("-inf")
        while True:
            with self._cond:
                while True:
                    if self._generation != generation:
                        return
                    now = self.clock()
                    if self._pending is not None and now >= self._pending.start_at:
                        self._active, self._pending = self._pending, None
                        next_tick = now
                    if self._active is not None and now >= next_tick:
                        break
                    waits = [t - now for t in (
                        self._pending.start_at if self._pending else None,
                        next_tick if self._active else None,
                    ) if t is not None]
                    self._cond.wait(max(0.0, min(waits)) if waits else None)
                job = self._active
                if job.plan is None:
                    job.plan = build_plan(self.store.snapshot().values, job.values, self.store.params)
                end = job.start_at + job.fade_time
                progress = 1.0 if job.fade_time <= 0 or now >= end else (now - job.start_at) / job.fade_time
                values = job.plan.values_at(progress)
                next_tick = min(now + self.tick, end)
            if values:  # written outside our lock: listeners (OSC feedback, GUI) may take their own
                try:
                    self.store.update(values, source=self.source)
                except Exception as e:  # values were validated at recall; never let the timer die
                    self.last_error = one_line(f"{type(e).__name__}: {e}")
            if progress >= 1.0:
                with self._cond:
                    if self._active is job:
                        self._active = None
                    self._cond.notify_all()
