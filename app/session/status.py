"""The show session's one typed status snapshot, read by every surface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AudioState:
    running: Any = None  # engine.audio AudioStatus of the running engine, or None
    starting: bool = False
    error: str | None = None  # why the last start failed (one line), until the next start

    @property
    def on(self) -> bool:
        return self.running is not None


@dataclass(frozen=True)
class MidiState:
    port: str | None = None  # the input port open now (None: MIDI off)
    mappings: int = 0
    learning: str | None = None  # the target a learn waits for
    learned: str | None = None  # the last mapping learned, described
    error: str | None = None  # why the last open failed, or a mapping file that did not load
    stats: Any = None  # the router's counters (dict name -> int)


@dataclass(frozen=True)
class ShowStatus:
    pipeline: Any  # engine.live LiveStatus: rates, latency, drops, sinks, faults, source problem, audio
    model: Any  # engine.live.model_host.ModelState: running, loading, progress, error
    model_name: str  # the registry's `model`: the model running (or being loaded at start)
    source: str  # the source spec on air
    sinks: tuple[str, ...]  # the outputs added by spec, as given (vcam, record:PATH, ...)
    audio: AudioState
    midi: MidiState
    osc: Any = None  # the OSC server's counters (dict), or None when OSC is off
    output: tuple[tuple[int, int], float] | None = None  # the output size and fps running now
    live_lock: bool = False  # reload-class changes wait for a yes
    held: dict = field(default_factory=dict)  # the changes the live lock holds: parameter -> value asked for
