"""Switching back ends during a show: background preparation, swap between frames,
failures reported while the current back end keeps serving."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from engine.accel import base
from engine.accel import Accelerated, Backend
from engine.accel.cache import EngineCache
from engine.accel.eager import EagerBackend
from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.media.test_pattern import pattern_frame

SIZE = 64
FRAMES = [pattern_frame(i / 10, SIZE, SIZE) for i in range(8)]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def registered(monkeypatch):
    """Register test back ends under their own names for one test."""

    def add(name, backend):
        monkeypatch.setitem(base._registry, name, lambda: backend)
        monkeypatch.delitem(base._instances, name, raising=False)
        return backend

    yield add
    for name in [n for n in base._instances if n.startswith("test-")]:
        base._instances.pop(name, None)


class Gated(Backend):
    """Eager modules behind a preparation that waits for the test (a slow build),
    with a UNet that counts its calls and can be told to break."""

    def __init__(self):
        self.release = threading.Event()
        self.started = threading.Event()
        self.calls = 0
        self.break_after: int | None = None

    def prepare(self, bundle, spec, progress=None, cancel=None):
        self.started.set()
        while not self.release.wait(0.01):
            progress(0.5, "slow build")  # raises once cancelled
        inner = EagerBackend().prepare(bundle, spec)

        def unet(*args):
            self.calls += 1
            if self.break_after is not None and self.calls > self.break_after:
                raise RuntimeError("device lost")
            return inner.unet(*args)

        return Accelerated("test-gated", spec, unet, inner.encoders, inner.decoders, detail="gated")


def _stream(tiny_bundle, **kw):
    s = DiffusionStream(tiny_bundle, StreamSettings(size=SIZE, prompts=(("a cat", 1.0),), **kw))
    faults = []
    s.accel.on_fault = lambda where, msg: faults.append((where, msg))
    return s, faults


def test_frames_keep_coming_during_a_slow_preparation_and_the_swap_is_between_frames(tiny_bundle, registered):
    gated = registered("test-gated", Gated())
    s, faults = _stream(tiny_bundle)
    try:
        s.apply(replace(s.settings, accel="test-gated"))
        assert gated.started.wait(10)
        during = [s.process_one(f) for f in FRAMES[:4]]  # eager serves while it builds
        assert all(o is not None for o in during[1:]) and gated.calls == 0
        assert s.accel.active == "eager" and s.accel.snapshot().preparing == "test-gated"
        assert s.accel.snapshot().progress == 0.5
        gated.release.set()
        assert s.accel.wait(10)
        assert s.accel.active == "eager"  # ready, but not swapped in the middle of anything
        s.process_one(FRAMES[4])  # the frame edge: swapped in before this frame's first call
        assert s.accel.active == "test-gated" and gated.calls == s.runner.calls - 4
        s.process_one(FRAMES[5])
        assert gated.calls == 2
        s.apply(replace(s.settings, accel="eager"))  # back to eager: no preparation, next frame
        s.process_one(FRAMES[6])
        assert s.accel.active == "eager" and gated.calls == 2 and not faults
    finally:
        s.accel.close()


def test_corrupted_onnx_export_is_reported_and_eager_keeps_serving(tiny_bundle, tmp_path):
    """A real failure: the cached UNet export is damaged (same size, so the cache
    takes it as complete); ONNX Runtime cannot load it."""
    from engine.accel.onnx_export import cached_export

    s, faults = _stream(tiny_bundle)
    ref, _ = _stream(tiny_bundle)
    path = cached_export(tiny_bundle, "unet", s.accel_spec(), cache=EngineCache())
    path.write_bytes(b"\0garbage" * (path.stat().st_size // 8) + b"\0" * (path.stat().st_size % 8))
    try:
        s.apply(replace(s.settings, accel="onnxruntime"))
        out, expect = [], []
        for f in FRAMES[:4]:  # frames keep coming while it prepares and after it fails
            out.append(s.process_one(f))
            expect.append(ref.process_one(f))
        assert s.accel.wait(60)
        out.append(s.process_one(FRAMES[0]))
        expect.append(ref.process_one(FRAMES[0]))
        assert s.accel.active == "eager"
        assert len(faults) == 1 and faults[0][0] == "accel"
        msg = faults[0][1]
        assert msg.startswith("onnxruntime back end failed:") and msg.endswith("eager keeps serving") and "\n" not in msg
        assert s.accel.last_error == msg and "failed" in s.accel.snapshot().status
        # the same request is not retried at every frame edge (apply() runs at each snapshot)
        for a, b in zip(out, expect):
            assert (a is None and b is None) or np.array_equal(a, b)
        s.apply(replace(s.settings, strength=0.6))
        assert not s.accel.preparing and len(faults) == 1
    finally:
        s.accel.close()


def test_a_back_end_that_breaks_while_serving_hands_the_frame_to_eager(tiny_bundle, registered):
    gated = registered("test-gated", Gated())
    gated.release.set()
    s, faults = _stream(tiny_bundle, accel="test-gated")
    try:
        assert s.accel.wait(10)
        s.process_one(FRAMES[0])
        assert s.accel.active == "test-gated"
        gated.break_after = gated.calls
        out = s.process_one(FRAMES[1])  # its UNet raises: eager redoes the step, the frame still comes
        assert out is not None and s.accel.active == "eager"
        assert len(faults) == 1 and "test-gated back end failed while serving: RuntimeError: device lost" in faults[0][1]
        assert s.process_one(FRAMES[2]) is not None and len(faults) == 1
    finally:
        s.accel.close()


def test_cancel_stops_a_long_preparation(tiny_bundle, registered):
    gated = registered("test-gated", Gated())
    s, faults = _stream(tiny_bundle)
    try:
        s.apply(replace(s.settings, accel="test-gated"))
        assert gated.started.wait(10)
        s.accel.cancel()
        assert s.accel.wait(5) and not s.accel.preparing
        assert s.process_one(FRAMES[0]) is None and s.accel.active == "eager"
        assert "cancelled" in s.accel.status and not faults
    finally:
        s.accel.close()
