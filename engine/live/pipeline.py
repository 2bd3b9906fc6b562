"""The live engine facade: capture, generate and output threads joined by latest-frame slots.

    source -> [capture] -> slot -> [generate] -> slot -> [output, paced] -> sinks (each on its own thread)

The capture thread reads the current source and drops stale frames; the
generate thread owns the model and applies parameter snapshots at frame edges;
the output thread runs at the output rate whatever the model's speed, repeats
the last good frame when generation is late, and applies the show-safety mix.
A failing source holds the last frame and is reopened; a failing sink is
retried while the others carry on; a stalled model is covered by the watchdog.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..memory import return_freed_memory
from ..params.registry import ParamStore
from ..torch_threads import pinned
from .contracts import Frame, Sink, Source, SourceError, now
from .phase_lock import PhaseLock
from .live_metrics import LiveMetrics
from .output_stage import SafetySettings, ShowSafety
from .sink_runner import SinkRunner
from .slot import LatestSlot
from .status import LiveStatus


class Generator(Protocol):
    """What the generate thread drives: a DiffusionStream, or IdentityStage for plumbing tests."""

    latency_frames: int

    def sync(self, snapshot) -> bool: ...

    def process(self, frames: list[np.ndarray]) -> list[np.ndarray] | None: ...

    def restart(self) -> None: ...


class IdentityStage:
    """A stand-in model that returns its input at the model size: measures the plumbing alone."""

    latency_frames = 0

    def __init__(self, size: int = 512):
        self.size = size
        self.skipped = 0

    def sync(self, snapshot) -> bool:
        return False

    def process(self, frames):
        import cv2

        return [f if f.shape[:2] == (self.size, self.size) else cv2.resize(f, (self.size, self.size), interpolation=cv2.INTER_AREA) for f in frames]

    def restart(self) -> None:
        pass


@dataclass(frozen=True)
class Generated:
    image: np.ndarray
    captured_at: float  # capture time of the input frame it was made from
    produced_at: float
    skipped: bool = False


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


class LivePipeline:
    def __init__(self, store: ParamStore, generator: Generator | None, source: Source | None = None):
        self.store = store
        self.metrics = LiveMetrics()
        self._generator = generator
        self._wire(generator)
        self._pending_generator: Generator | None = None
        self._in: LatestSlot[Frame] = LatestSlot()
        self._out: LatestSlot[Generated] = LatestSlot()
        self._lock = threading.Lock()
        self._source: Source | None = None
        self._pending_source: Source | None = source
        self._sinks: dict[str, SinkRunner] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.running = False
        self.source_retry_s = 0.5
        self.source_stall_s = 3.0  # an open source that gives no frame this long is named and reopened
        self.sink_retry_s = 2.0

    # -- control ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        snap = self.store.snapshot()
        self.out_size = parse_size(snap["output_size"])
        self.out_fps = float(snap["output_fps"])
        self.metrics.out_fps_target = self.out_fps
        self.metrics.source_stall_s = self.source_stall_s
        self.safety = ShowSafety(*self.out_size)
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._capture_loop, name="dreamdeck-capture", daemon=True),
            threading.Thread(target=pinned(self._generate_loop), name="dreamdeck-generate", daemon=True),
            threading.Thread(target=self._output_loop, name="dreamdeck-output", daemon=True),
        ]
        self.running = True
        for runner in self._sinks.values():
            runner.start()
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every thread and close source and sinks, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            runners = list(self._sinks.values())
        for r in runners:
            r.stop(max(0.05, deadline - time.monotonic()))
        if self._source is not None:
            self._close_source(self._source)
        self.running = False

    def set_source(self, source: Source) -> None:
        """Switch source live; the output keeps running on the last frame meanwhile."""
        with self._lock:
            self._pending_source = source

    def set_generator(self, generator: Generator) -> None:
        """Swap the model stage at the next frame edge (e.g. after a new model loaded)."""
        self._wire(generator)
        with self._lock:
            self._pending_generator = generator

    def _wire(self, generator: Generator) -> None:
        """Acceleration back-end failures (engine.accel) go to the fault log the HUD and CLI show."""
        accel = getattr(generator, "accel", None)
        if accel is not None and hasattr(accel, "on_fault"):
            accel.on_fault = self.metrics.fault

    @property
    def generator(self) -> Generator | None:
        """The model stage in use, or the one waiting to be swapped in at the next frame edge (None: none yet)."""
        with self._lock:
            return self._pending_generator or self._generator

    @property
    def source(self) -> Source | None:
        """The current source, or the one waiting to be switched to."""
        with self._lock:
            return self._pending_source or self._source

    def add_sink(self, sink: Sink) -> None:
        snap = self.store.snapshot()
        w, h = getattr(self, "out_size", None) or parse_size(snap["output_size"])
        fps = getattr(self, "out_fps", None) or float(snap["output_fps"])
        runner = SinkRunner(sink, w, h, fps, self.metrics, retry_s=self.sink_retry_s)
        with self._lock:
            if sink.name in self._sinks:
                raise ValueError(f"a sink named {sink.name!r} is already attached")
            self._sinks[sink.name] = runner
        self.metrics.sink_status(sink.name, "starting")
        if self.running:
            runner.start()

    def remove_sink(self, name: str) -> None:
        with self._lock:
            runner = self._sinks.pop(name, None)
        if runner is not None:
            runner.stop()
            with self.metrics._lock:
                self.metrics.sinks.pop(name, None)

    @property
    def sinks(self) -> dict[str, SinkRunner]:
        with self._lock:
            return dict(self._sinks)

    def snapshot_metrics(self) -> LiveStatus:
        """The live figures now, with the model stage's acceleration state where it has one."""
        self.metrics.dropped_input = self._in.dropped
        m = self.metrics.snapshot()
        accel = getattr(self.generator, "accel", None)
        if accel is not None and hasattr(accel, "snapshot"):
            m = replace(m, accel=accel.snapshot())
        return m

    # -- capture -----------------------------------------------------------------------------
    def _close_source(self, src: Source) -> None:
        try:
            src.close()
        except Exception as e:
            self.metrics.fault(getattr(src, "name", "source"), f"close: {e}")

    def _capture_loop(self) -> None:
        health = _SourceHealth(self.metrics, self.source_stall_s)
        opened = False
        retry_at = 0.0
        while not self._stop.is_set():
            with self._lock:
                pending, self._pending_source = self._pending_source, None
            if pending is not None:
                if self._source is not None:
                    self._close_source(self._source)
                self._source, opened, retry_at = pending, False, 0.0
                health.switched(pending)
            src = self._source
            if src is None:
                self._stop.wait(0.02)
                continue
            if not opened:
                if now() < retry_at:
                    self._stop.wait(min(0.05, retry_at - now()))
                    continue
                try:
                    src.open()
                    opened = True
                    health.opened()
                except Exception as e:
                    health.failed(self._source_failed(src, e))
                    retry_at = now() + self.source_retry_s
                    continue
            try:
                t0 = time.perf_counter()
                frame = src.read()
            except Exception as e:  # unplugged camera, deleted file: hold the last frame, retry
                health.failed(self._source_failed(src, e))
                self._close_source(src)
                opened, retry_at = False, now() + self.source_retry_s
                continue
            if frame is not None:
                self._in.put(frame)
                self.metrics.captured(now(), (time.perf_counter() - t0) * 1000.0)
                health.delivered()
            elif health.stalled():  # open, but silent: say so now and reopen it
                self.metrics.fault(health.name, health.problem)
                self._close_source(src)
                opened, retry_at = False, now() + self.source_retry_s

    def _source_failed(self, src: Source, e: Exception) -> str:
        msg = str(e) if isinstance(e, SourceError) else f"{type(e).__name__}: {e}"
        self.metrics.fault(getattr(src, "name", "source"), msg)
        return msg

    # -- generate ------------------------------------------------------------------------------
    def _generate_loop(self) -> None:
        version = 0
        in_flight: collections.deque[float] = collections.deque()
        said: str | None = None
        gen = self._generator
        while not self._stop.is_set():
            with self._lock:
                swap, self._pending_generator = self._pending_generator, None
            if swap is not None:
                old, self._generator, gen = gen, swap, swap
                swap = None
                in_flight.clear()
                if old is not None and old is not gen:
                    self._close_generator(old)
                old = None  # no reference left here: the old model's memory goes now, not at the next swap
                return_freed_memory()
            if gen is None:  # no model yet (loading): the output shows the input meanwhile
                self._stop.wait(0.02)
                continue
            frame, v = self._in.get(after=version, timeout=0.1)
            if frame is None:
                continue
            version = v
            t0 = time.perf_counter()
            try:
                gen.sync(self.store.snapshot())
                refused = getattr(gen, "last_error", None)  # a change the model refused: said once, the look kept
                if refused != said:
                    said = refused
                    if refused:
                        self.metrics.fault("model", refused)
                skips_before = _skips(gen)
                out = gen.process([frame.image])
            except Exception as e:
                self.metrics.fault("generate", f"{type(e).__name__}: {e}")
                self._stop.wait(0.1)
                continue
            ms = (time.perf_counter() - t0) * 1000.0
            skipped = _skips(gen) > skips_before
            self.metrics.latency_frames = gen.latency_frames
            if not skipped:
                in_flight.append(frame.captured_at)
                while len(in_flight) > gen.latency_frames + 1:
                    in_flight.popleft()
            self.metrics.generated_frame(now(), ms, skipped)
            if out is None:
                continue  # the Stream Batch pipeline is still filling
            captured = in_flight[0] if in_flight else frame.captured_at
            self._out.put(Generated(out[0], captured, now(), skipped))

    def _close_generator(self, gen) -> None:
        """Release a model stage that left the show (a back-end preparation it still runs, its sessions)."""
        close = getattr(gen, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception as e:
            self.metrics.fault("generate", f"closing the previous model: {type(e).__name__}: {e}")

    # -- output -------------------------------------------------------------------------------
    def _output_loop(self) -> None:
        period = 1.0 / self.out_fps
        next_t = now()
        seen = 0
        generated_at: float | None = None
        lock = PhaseLock(period)
        while not self._stop.is_set():
            wait = next_t - now()
            if wait > 0 and self._stop.wait(wait):
                break
            t = now()
            next_t += period
            if t - next_t > period:  # far behind (machine busy): restart the schedule, do not burst
                next_t = t + period
            t0 = time.perf_counter()
            g, v = self._out.peek()
            fresh = v != seen
            if fresh:
                seen = v
                generated_at = g.produced_at
                next_t += lock.correction(t - g.produced_at)
            raw, _ = self._in.peek()
            settings = SafetySettings.from_values(self.store.snapshot().values)
            image = self.safety.compose(None if g is None else g.image, None if raw is None else raw.image, settings, t, generated_at)
            self.metrics.watchdog_engaged = self.safety.watchdog_engaged
            with self._lock:
                runners = list(self._sinks.values())
            for r in runners:
                r.offer(image, t)
            latency = (t - g.captured_at) if (fresh and g is not None and not g.skipped) else None
            self.metrics.output_frame(t, (time.perf_counter() - t0) * 1000.0, repeated=not fresh, latency_s=latency)


class _SourceHealth:
    """What the capture thread tells the metrics about its source, only when that changes."""

    def __init__(self, metrics: LiveMetrics, stall_s: float):
        self.metrics, self.stall_s = metrics, stall_s
        self.name, self.problem = "", None
        self._since = now()  # when the source was opened or last delivered

    def _set(self, problem: str | None) -> None:
        if problem != self.problem:
            self.problem = problem
            self.metrics.source_health(self.name, problem)

    def switched(self, src) -> None:
        self.name = getattr(src, "name", "source")
        self.problem = ""  # forces the next _set to publish
        self._set(None)
        self.opened()

    def opened(self) -> None:
        self._since = now()
        self.metrics.source_started(self._since)

    def delivered(self) -> None:
        self._since = now()
        self._set(None)

    def failed(self, message: str) -> None:
        self._set(f"{message} (retrying)")

    def stalled(self) -> bool:
        silent = now() - self._since
        if silent < self.stall_s:
            return False
        self._set(f"no frame for {silent:.0f} s (reopening)")
        return True


def _skips(gen) -> int:
    m = getattr(gen, "metrics", None)
    return m.skipped if m is not None else getattr(gen, "skipped", 0)
