"""Recall a preset with a crossfade, optionally quantised to the beat.

One timer thread (``preset-recall``) drives every fade at ``tick_hz`` (60): each tick
is one ``store.update(values, source=...)``, one registry version, carrying every
fade's values at that instant.  The thread sleeps while there is nothing to do.
``timer_thread=False`` runs no thread: the owner calls :meth:`PresetRecaller.tick`
(tests move a fake clock this way, deterministically).

* A recall is scheduled at ``start_at``: now, or with ``preset_quantize`` 'beat' /
  'bar' the next boundary of the tempo clock minus ``latency_compensation`` ms (so
  the change leaves the pipeline on the beat).  A new recall replaces a scheduled one.
* The fade plan (app/presets/fade.py) is built when the recall starts, from the
  values on screen at that moment, and the fade is timed from ``start_at``: it ends
  ``preset_fade_time`` seconds later with the exact target values, even when the
  thread woke a little late.
* Recalls compose: one that starts while another fades takes over the parameters it
  names (with what moves with them: a prompt/seed slot's text and weight, the idle
  slot a crossfade borrowed) and fades them from where they are; every parameter it
  does not name finishes the older fade, to the older targets, on the older schedule.
* Takeover: a parameter moved by anyone else (GUI, OSC, MIDI) during a fade is left
  alone for the rest of that fade.
* Writes between a recall's start and its end carry a :class:`FadeStep` source (equal
  to ``source``): feedback may coalesce them (app/osc/feedback.py).  The write that
  starts or ends a recall carries ``source`` itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from engine.params.registry import ParamStore

from ..errors import one_line
from .fade import FadePlan, build_plan


class FadeStep(str):
    """The source of a fade's in-between writes: equal to the recaller's source (``'preset'``),
    marked so that feedback to a control surface may send them at a bounded rate."""

    fade_step = True


@dataclass
class _Job:
    values: dict[str, Any]
    fade_time: float
    start_at: float
    plan: FadePlan | None = None

    def progress(self, now: float) -> float:
        if self.fade_time <= 0 or now >= self.start_at + self.fade_time:
            return 1.0
        return max(0.0, (now - self.start_at) / self.fade_time)


class PresetRecaller:
    def __init__(
        self,
        store: ParamStore,
        tempo=None,
        clock: Callable[[], float] = time.monotonic,
        tick_hz: float = 60.0,
        source: str = "preset",
        timer_thread: bool = True,
    ):
        """``tempo`` (app.tempo.Tempo) is needed for quantised recalls; without one they start at once.
        With the timer thread, ``clock`` must count seconds at the pace of real time (the thread
        sleeps real seconds); without it (``timer_thread=False``) any clock will do: call ``tick()``."""
        self.store = store
        self.tempo = tempo
        self.clock = clock
        self.tick_s = 1.0 / tick_hz
        self.source = source
        self.timer_thread = timer_thread
        self.last_error: str | None = None
        self._step_source = FadeStep(source)
        self._cond = threading.Condition(threading.RLock())
        self._pending: _Job | None = None
        self._active: list[_Job] = []  # oldest first
        self._next_tick = float("-inf")
        self._generation = 0  # each thread runs until the generation moves on (stop), so a restart never races an exit
        self._thread: threading.Thread | None = None
        self._started = False
        self._writing = threading.local()  # set while tick() writes, so our own writes are no takeover
        self.on_error: Callable[[str], None] | None = None  # e.g. the live pipeline's fault log
        self._written: dict[str, Any] = {}  # what the fades last wrote (or started from), for compare-and-set
        self._unsubscribe: Callable[[], None] | None = None

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._started:
                return
            self._started = True
            self._unsubscribe = self.store.subscribe(self._on_change)
            if self.timer_thread:
                self._thread = threading.Thread(target=self._run, args=(self._generation,), name="preset-recall",
                                                daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Cancel every fade (values stay where they are) and join the thread."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._started = False
            self._generation += 1
            self._pending, self._active = None, []
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
        on ``clock``.  Starts the recaller if needed."""
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
        """Set ``values`` at once, in one update, cancelling every fade (e.g. ``live --preset`` before start)."""
        self.cancel()
        self.store.update(values, source=self.source)

    def cancel(self) -> None:
        """Drop the scheduled recall and stop every running fade where it is."""
        with self._cond:
            self._pending, self._active = None, []
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None or bool(self._active)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no recall is scheduled or fading; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._active, timeout)

    # -- moving the fades -------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        """Move every fade to ``now`` (default: the clock): start the scheduled recall if it is due,
        then write all fades' values in one update.  The timer thread calls this; without the
        thread, the owner does (never both)."""
        with self._cond:
            now = self.clock() if now is None else now
            started = self._start_due(now)
            values: dict[str, Any] = {}
            done = []
            for job in self._active:
                p = job.progress(now)
                values.update(job.plan.values_at(p))
                if p >= 1.0:
                    done.append(job)
            ends = [j.start_at + j.fade_time for j in self._active if j not in done]
            self._next_tick = min([now + self.tick_s, *ends])
            expect = {n: self._written[n] for n in values if n in self._written}
        if values:  # written outside our lock: listeners (OSC feedback, GUI) may take their own
            source = self.source if started or done else self._step_source
            self._writing.active = True
            try:
                # a value a hand moved since our last step keeps the hand's value, even between our
                # computing this step and writing it (the change listener drops it for later steps)
                self.store.update(values, source=source, expect=expect)
                with self._cond:
                    self._written.update(values)
            except Exception as e:  # values were validated at recall; never let the timer die
                self._report(f"{type(e).__name__}: {e}")
            finally:
                self._writing.active = False
        if done:
            with self._cond:
                self._active = [j for j in self._active if j not in done]
                self._cond.notify_all()

    def _start_due(self, now: float) -> bool:
        """Start the scheduled recall if due: it takes over what it names from the older fades."""
        job = self._pending
        if job is None or now < job.start_at:
            return False
        self._pending = None
        current = self.store.snapshot().values
        target: dict[str, Any] = {}
        for older in self._active:
            target.update(older.plan.linked_targets(job.values))
        target.update(job.values)
        reserved = set()
        for older in self._active:
            reserved |= older.plan.moving(current)
        job.plan = build_plan(current, target, self.store.params, reserved=reserved - set(target))
        taken = job.plan.names()
        self._written.update({n: current[n] for n in taken})  # where this fade starts from
        for older in self._active:
            older.plan.drop(taken)
        self._active = [j for j in self._active if j.plan.names()] + [job]
        return True

    def _report(self, message: str) -> None:
        """A recall that went wrong: kept in ``last_error`` and told to ``on_error`` (the show's fault log)."""
        self.last_error = one_line(message)
        if self.on_error is not None:
            try:
                self.on_error(self.last_error)
            except Exception:
                pass

    def _on_change(self, name: str, value: Any, source: Any) -> None:
        if getattr(self._writing, "active", False):
            return  # our own tick
        with self._cond:
            for job in self._active:
                if name in job.plan.names():
                    job.plan.drop([name])

    def _run(self, generation: int) -> None:
        while True:
            with self._cond:
                while True:
                    if self._generation != generation:
                        return
                    now = self.clock()
                    due = [t for t in (
                        self._pending.start_at if self._pending else None,
                        self._next_tick if self._active else None,
                    ) if t is not None]
                    if due and min(due) <= now:
                        break
                    self._cond.wait(min(due) - now if due else None)
            try:
                self.tick(now)
            except Exception as e:  # never let the fade thread die: later recalls would silently do nothing
                with self._cond:
                    self._pending, self._active = None, []
                    self._cond.notify_all()
                self._report(f"preset recall stopped: {type(e).__name__}: {e}")
