"""One block of the render thread's work, from mono input to the stereo the ring buffer gets.

At each block edge the parameter snapshot is read once: where the source is (the
position parameters plus the orbit), which renderer (the switcher), the gain and
mute (a ramp) and the A/V delay (a crossfading delay line).
"""

from __future__ import annotations

import numpy as np

from .ramps import DelayLine, GainRamp, wrap180
from .settings import AudioSettings
from .switcher import RendererSwitcher
from .types import SAMPLE_RATE, Pose


def target_gain(snap) -> float:
    return 0.0 if snap["audio_mute"] else float(10 ** (snap["audio_gain"] / 20))


def delay_frames(snap) -> int:
    return int(round(snap["av_delay"] * SAMPLE_RATE / 1000))


class RenderChain:
    def __init__(self, store, switcher: RendererSwitcher, settings: AudioSettings):
        self.store, self.switcher = store, switcher
        s = settings
        self.gain = GainRamp(int(s.gain_ramp_s * SAMPLE_RATE))
        self.delay = DelayLine(int(s.max_delay_s * SAMPLE_RATE), s.block, int(s.delay_fade_s * SAMPLE_RATE))
        self.azimuth = 0.0  # where the source is now: the azimuth parameter plus the orbit
        self._orbit = 0.0
        self.frames_rendered = 0

    def prepare(self) -> None:
        """Before the first block: the renderer, gain and delay the parameters ask for, with no fade."""
        snap = self.store.snapshot()
        want = (snap["audio_renderer"], bool(snap["audio_room"]))
        self.switcher.adopt(self.switcher.factory(want[0], room=want[1]), want)
        self.gain = GainRamp(self.gain.n, target_gain(snap))
        self.delay.cur = int(snap["av_delay"] * SAMPLE_RATE / 1000)

    def render_block(self, mono: np.ndarray) -> np.ndarray:
        """One block: parameters at its edge, renderer(s), gain, delay. (Called by the render thread.)"""
        n, snap = len(mono), self.store.snapshot()
        self.switcher.check(snap, self.azimuth)
        if snap["audio_orbit"]:
            self._orbit = wrap180(self._orbit + snap["audio_orbit_speed"] * n / SAMPLE_RATE)
        else:
            self._orbit = 0.0
        self.azimuth = wrap180(snap["audio_azimuth"] + self._orbit)
        pose = Pose.from_spherical(self.azimuth, snap["audio_elevation"], snap["audio_distance"])
        out = self.switcher.render(mono, pose, snap)
        out = out * self.gain.gains(target_gain(snap), n)
        out = self.delay.process(np.asarray(out, np.float32), delay_frames(snap))
        self.frames_rendered += n
        return out
