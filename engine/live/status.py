"""What the live pipeline reports, as one typed, frozen snapshot.

:class:`LiveStatus` is what :meth:`engine.live.live_metrics.LiveMetrics.snapshot` and
:meth:`engine.live.pipeline.LivePipeline.snapshot_metrics` return: the GUI, the CLI,
the soak and the benches read its attributes (a misspelt name fails at once instead
of reading a missing key).  A snapshot is taken a few times a second and never
changes after; take a new one to see newer figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class LiveStatus:
    # rates over the last couple of seconds, frames per second
    input_fps: float = 0.0
    generate_fps: float = 0.0
    output_fps: float = 0.0
    # capture to output, smoothed; None until the first generated frame went out
    latency_ms: float | None = None
    latency_frames: float | None = None  # the same latency in output frames
    pipeline_depth: int = 0  # Stream Batch depth, in model calls
    # counters since the pipeline started
    frames_in: int = 0
    frames_generated: int = 0
    frames_out: int = 0
    dropped_input: int = 0
    repeated_output: int = 0
    skip_rate: float = 0.0  # share of generated frames the similarity filter skipped
    stage_ms: Mapping[str, float | None] = field(default_factory=dict)  # "capture", "generate", "output"
    sinks: Mapping[str, str] = field(default_factory=dict)  # sink name -> "ok", "starting", "failed: ..."
    cpu_percent: float = 0.0  # this process, 100 = one core busy
    watchdog: bool = False  # the output is covering a stalled model
    source: str = ""  # the source's name
    source_problem: str | None = None  # None while the source delivers, else what is wrong now
    faults_total: int = 0  # every fault logged, also those the bounded log has let go
    faults: list[str] = field(default_factory=list)  # "HH:MM:SS where: message", oldest first
    # the audio engine's last published status (engine.audio's AudioStatus); None before audio runs.
    # Typed loosely so the live pipeline does not import the audio engine.
    audio: Any = None
    # the model stage's acceleration state (engine.accel's snapshot), None when it has no back ends
    accel: Any = None  # engine.accel AccelStatus (typed loosely: the live pipeline does not import accel)
    # NVML readings; None where there is no NVIDIA GPU (or the driver does not answer)
    gpu_util_percent: float | None = None
    gpu_memory_mb: float | None = None
    gpu_power_w: float | None = None
