"""The live audio engine's tuning: block size, buffering, fade times, retry and load limits."""

from __future__ import annotations

from dataclasses import dataclass

from .types import LIVE_BLOCK


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
