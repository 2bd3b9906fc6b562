"""Shared by the live audio engine's tests: a small stand-in renderer and its factory, test
signals, and an engine driven block by block without PortAudio."""

import time

import numpy as np

from engine.audio.live import AudioEngine
from engine.audio.renderers import RendererChoice
from engine.audio.types import SAMPLE_RATE, BinauralRenderer, relative_direction
from engine.params.catalog import AUDIO_PARAMS
from engine.params.registry import ParamStore

BLOCK = 256


class PanRenderer(BinauralRenderer):
    """A small stand-in renderer: level difference by azimuth, gains ramped across each block.

    ``scale`` tells two of them apart (a switch between them would jump without a crossfade);
    ``delay`` is a fixed latency in samples; ``sleep`` makes it slow (a flow renderer that falls behind).
    """

    def __init__(self, name="pan", scale=1.0, delay=0, sleep=0.0, room=False):
        self.name, self.scale, self.delay, self.sleep, self.room = name, scale, delay, sleep, room
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self.delay

    def reset(self) -> None:
        self._g = None
        self._hist = np.zeros(self.delay, np.float32)

    def gains(self, source) -> np.ndarray:
        az = np.radians(relative_direction(source)[0])
        return self.scale * np.array([0.5 * (1 + 0.8 * np.sin(az)), 0.5 * (1 - 0.8 * np.sin(az))], np.float32)

    def process(self, mono, source, listener=None):
        if self.sleep:
            time.sleep(self.sleep * len(mono) / SAMPLE_RATE)
        x = np.concatenate((self._hist, np.asarray(mono, np.float32)))
        if self.delay:
            self._hist = x[-self.delay:]
        x = x[: len(mono)]
        g1 = self.gains(source)
        g0 = g1 if self._g is None else self._g
        t = (np.arange(1, len(mono) + 1, dtype=np.float32) / len(mono))[:, None]
        self._g = g1
        return (x[:, None] * (g0 + (g1 - g0) * t)).astype(np.float32)


def pan_factory(slow_flow=False, flow_fails=False):
    """A renderer factory of PanRenderers under the registry's names (same contract as make_renderer)."""
    made = []

    def factory(name, room=False, **kw):
        if name == "flow" and flow_fails:
            r = PanRenderer("hrtf", 1.0, room=room)
            choice = RendererChoice(r, "flow", "hrtf", "the flow renderer is unavailable (weights missing); using the hrtf renderer instead")
        else:
            scale = {"hrtf": 1.0, "head": 0.4, "flow": 0.7}[name]
            r = PanRenderer(name, scale, sleep=1.2 if (name == "flow" and slow_flow) else 0.0, room=room)
            choice = RendererChoice(r, name, name)
        made.append(choice)
        return choice

    factory.made = made
    return factory


def sine(seconds, freq=220.0, amp=0.5):
    """A sine lasting ``seconds``, rounded down to whole blocks."""
    t = np.arange(int(seconds * SAMPLE_RATE) // BLOCK * BLOCK) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def offline_engine(factory=None, **values):
    """An engine driven block by block (no PortAudio): the render thread's work, deterministic."""
    store = ParamStore(AUDIO_PARAMS)
    if values:
        store.update(values)
    eng = AudioEngine(store, renderer_factory=factory or pan_factory())
    eng.chain.prepare()  # what start() does before its threads
    return store, eng


def run_blocks(eng, signal):
    assert len(signal) % BLOCK == 0
    out = []
    for i in range(0, len(signal), BLOCK):
        out.append(eng.chain.render_block(signal[i:i + BLOCK]))
        eng.switcher.join_loader(None)  # make the loader's timing deterministic: its result lands at the next block
    return np.concatenate(out)


def max_step(x):
    return float(np.abs(np.diff(x, axis=0)).max())
