"""One metrics object for the whole live pipeline.

Stages report events (a frame captured, generated, sent; a drop, a repeat, a
skip, a fault); the GUI and CLI read :meth:`LiveMetrics.snapshot`, a frozen
:class:`~engine.live.status.LiveStatus`.
Rates are measured over a sliding window; process CPU comes from the OS and,
where NVIDIA's management library answers, GPU use, memory and power too.
Nothing here prints.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Any

from .status import LiveStatus


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = 2.0):
        self.window = window
        self._t: collections.deque[float] = collections.deque()
        self.count = 0

    def tick(self, t: float) -> None:
        self._t.append(t)
        self.count += 1
        self._trim(t)

    def _trim(self, t: float) -> None:
        while self._t and t - self._t[0] > self.window:
            self._t.popleft()

    def rate(self, t: float) -> float:
        self._trim(t)
        if len(self._t) < 2:
            return 0.0
        span = max(t - self._t[0], self._t[-1] - self._t[0])
        return (len(self._t) - 1) / span if span > 0 else 0.0


class Smoothed:
    def __init__(self, a: float = 0.9):
        self.a = a
        self.value: float | None = None

    def add(self, x: float) -> None:
        self.value = x if self.value is None else self.a * self.value + (1 - self.a) * x


@dataclass
class Fault:
    at: float  # wall-clock time.time()
    where: str
    message: str


class GpuProbe:
    """GPU use, memory and power through NVML (nvidia-ml-py), when it answers."""

    def __init__(self):
        self._nvml = None
        self._handle = None
        try:
            import pynvml  # type: ignore

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self._nvml = pynvml
        except Exception:
            self._nvml = None

    @property
    def available(self) -> bool:
        return self._nvml is not None

    def read(self) -> dict[str, float]:
        """The readings that answered, named as :class:`LiveStatus`'s GPU fields (empty without a GPU)."""
        if self._nvml is None:
            return {}
        n, h = self._nvml, self._handle
        out = {}
        try:
            out["gpu_util_percent"] = float(n.nvmlDeviceGetUtilizationRates(h).gpu)
            mem = n.nvmlDeviceGetMemoryInfo(h)
            out["gpu_memory_mb"] = mem.used / 2**20
            out["gpu_power_w"] = n.nvmlDeviceGetPowerUsage(h) / 1000.0
        except Exception:
            pass
        return out

    def energy_j(self) -> float | None:
        """Total GPU energy since driver load, in joules (Volta and newer)."""
        if self._nvml is None:
            return None
        try:
            return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1000.0
        except Exception:
            return None


class LiveMetrics:
    STAGES = ("capture", "generate", "output")

    def __init__(self, fault_log_size: int = 200):
        self._lock = threading.Lock()
        self.input_rate = RateMeter()
        self.gen_rate = RateMeter()
        self.out_rate = RateMeter()
        self.stage_ms = {s: Smoothed() for s in self.STAGES}
        self.latency_ms = Smoothed(0.8)
        self.latency_frames = 0  # Stream Batch depth, in model calls
        self.dropped_input = 0
        self.repeated_output = 0
        self.skipped = 0
        self.generated = 0
        self.sinks: dict[str, str] = {}
        self.faults: collections.deque[Fault] = collections.deque(maxlen=fault_log_size)
        self.faults_total = 0  # every fault logged, also those the bounded log has let go
        self.watchdog_engaged = False
        # the source's health, set by the capture thread: None while it delivers, else what is wrong now
        # ("cannot open ...: retrying", "no frame for 3 s"); the status line and the HUD name it at once
        self.source_problem: str | None = None
        self.source_name = ""
        # a source that blocks in open() or read() cannot say so itself: the snapshot names it once it has
        # been silent this long since it was switched to (or reopened) or last delivered
        self.source_stall_s = 3.0
        self._source_since = time.monotonic()
        self._last_capture = 0.0
        self._cpu_t = (time.monotonic(), time.process_time())
        self._cpu_percent = 0.0
        self.gpu = GpuProbe()
        self.out_fps_target = 30.0
        # the live audio engine's state, an engine.audio AudioStatus (frozen) that the audio engine
        # publishes a few times a second; None until it first does
        self.audio: Any = None

    # -- reporting (stages call these) ---------------------------------------------
    def captured(self, t: float, ms: float | None = None) -> None:
        with self._lock:
            self._last_capture = t
            self.input_rate.tick(t)
            if ms is not None:
                self.stage_ms["capture"].add(ms)

    def generated_frame(self, t: float, ms: float, skipped: bool) -> None:
        with self._lock:
            self.gen_rate.tick(t)
            self.stage_ms["generate"].add(ms)
            self.generated += 1
            self.skipped += int(skipped)

    def output_frame(self, t: float, ms: float, repeated: bool, latency_s: float | None) -> None:
        with self._lock:
            self.out_rate.tick(t)
            self.stage_ms["output"].add(ms)
            self.repeated_output += int(repeated)
            if latency_s is not None:
                self.latency_ms.add(latency_s * 1000.0)

    def sink_status(self, name: str, status: str) -> None:
        with self._lock:
            self.sinks[name] = status

    def source_health(self, name: str, problem: str | None) -> None:
        with self._lock:
            self.source_name, self.source_problem = name, problem

    def source_started(self, t: float) -> None:
        """The capture thread switched to or (re)opened the source at ``t``: silence is counted from here."""
        with self._lock:
            self._source_since = t

    def _source_problem(self, t: float) -> str | None:
        if self.source_problem or not self.source_name:
            return self.source_problem
        silent = t - max(self._source_since, self._last_capture)
        return f"no frame for {silent:.0f} s" if silent > self.source_stall_s else None

    def audio_update(self, status: Any) -> None:
        """The audio engine's newest status, kept as given (it is immutable: no copy)."""
        with self._lock:
            self.audio = status

    def fault(self, where: str, message: str) -> None:
        with self._lock:
            if self.faults and self.faults[-1].where == where and self.faults[-1].message == message and time.time() - self.faults[-1].at < 1.0:
                return  # the same fault again within a second: keep the log readable
            self.faults.append(Fault(time.time(), where, message))
            self.faults_total += 1

    # -- reading ---------------------------------------------------------------------
    def cpu_percent(self) -> float:
        """Process CPU use since the previous call (100 = one core busy)."""
        t, c = time.monotonic(), time.process_time()
        with self._lock:
            t0, c0 = self._cpu_t
            if t - t0 >= 0.2:
                self._cpu_percent = 100.0 * (c - c0) / (t - t0)
                self._cpu_t = (t, c)
            return self._cpu_percent

    def snapshot(self) -> LiveStatus:
        t = time.monotonic()
        cpu = self.cpu_percent()
        gpu = self.gpu.read()
        with self._lock:
            lat = self.latency_ms.value
            return LiveStatus(
                input_fps=self.input_rate.rate(t),
                generate_fps=self.gen_rate.rate(t),
                output_fps=self.out_rate.rate(t),
                latency_ms=lat,
                latency_frames=None if lat is None else lat / 1000.0 * self.out_fps_target,
                pipeline_depth=self.latency_frames,
                frames_in=self.input_rate.count,
                frames_generated=self.generated,
                frames_out=self.out_rate.count,
                dropped_input=self.dropped_input,
                repeated_output=self.repeated_output,
                skip_rate=self.skipped / self.generated if self.generated else 0.0,
                stage_ms={k: v.value for k, v in self.stage_ms.items()},
                sinks=dict(self.sinks),
                cpu_percent=cpu,
                watchdog=self.watchdog_engaged,
                source=self.source_name,
                source_problem=self._source_problem(t),
                faults_total=self.faults_total,
                faults=[f"{time.strftime('%H:%M:%S', time.localtime(f.at))} {f.where}: {f.message}" for f in self.faults],
                audio=self.audio,
                **gpu,
            )
