"""The output's schedule, kept half a tick away from the frames it shows (engine.live.pipeline)."""

from __future__ import annotations


class PhaseLock:
    """Keeps new frames arriving half a tick before the output shows them.

    With a source at the output's rate (a 30 fps camera or file into a 30 fps output) the frames can land on
    a tick's edge, where a millisecond of jitter decides whether a frame is shown at this tick or the next:
    judder, a frame dropped and one repeated.  The output's schedule is moved (at most ``step`` per frame)
    until the frames' wait before their tick averages half a period.  At other rates the waits spread over
    the period, average about half of it, and the schedule hardly moves."""

    def __init__(self, period: float, smoothing: float = 0.05, gain: float = 0.2, step: float = 0.001):
        self.period, self.smoothing, self.gain, self.step = period, smoothing, gain, step
        self.wait: float | None = None  # the frames' smoothed wait before the tick that shows them

    def correction(self, waited: float) -> float:
        """Seconds to add to the next tick's time, given how long the newest frame waited for this tick."""
        if not 0.0 <= waited < self.period:  # a late model, a stall: not the phase's business
            return 0.0
        self.wait = waited if self.wait is None else self.wait + self.smoothing * (waited - self.wait)
        shift = max(-self.step, min(self.step, self.gain * (self.period / 2 - self.wait)))
        self.wait += shift  # the next frames wait that much longer (or less) for their tick
        return shift
