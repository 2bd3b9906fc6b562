"""What the live audio engine reports: one immutable status, read by attribute.

``AudioEngine.snapshot()`` returns it and publishes it to the live pipeline's
metrics a few times a second; the console's audio tab, the HUD and
``dreamdeck live`` read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioStatus:
    device: str  # the output device, as the user would name it
    device_status: str  # "running", "stopped", "lost: <why>", "lost: <why> (retrying)" or "render error: <why>"
    input: str  # the mono source's label (a file, a device, "silence")
    renderer: str | None  # the renderer in use (None before the first one is made)
    renderer_requested: str  # the audio_renderer parameter
    fallback_reason: str | None  # why ``renderer`` is not ``renderer_requested`` (or the last renderer trouble)
    xruns: int  # PortAudio's output underflows and overflows
    underruns: int  # callbacks the ring buffer could not fill
    buffer_fill: float  # the ring's fill, as a fraction of the fill the render thread keeps
    buffer_ms: float  # the ring's fill in milliseconds of sound
    render_load: float | None  # render time / real time over the load window (None until measured)
    azimuth: float  # where the source is now, degrees (the azimuth parameter plus the orbit)
    reopened: int  # times the output device came back after it was lost
    seconds_rendered: float  # sound rendered since the engine was made
