"""The live pipeline with real threads: pacing, safety, faults and a clean stop."""

import time

import numpy as np
import pytest

from engine.live.pipeline import IdentityStage, LivePipeline
from engine.params import engine_store
from engine.sinks.preview import PreviewSink
from live_parts import FailingSink, SolidSource, wait_until


def _pipeline(out="640x360", fps=30, **params):
    store = engine_store()
    store.update({"output_size": out, "output_fps": fps, **params})
    return store, LivePipeline(store, IdentityStage(64))


def test_output_runs_at_its_own_rate_and_stops_fast():
    store, p = _pipeline(fps=30)
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(fps=10))  # a slow source: output still paced at 30
    p.start()
    time.sleep(1.2)
    m = p.snapshot_metrics()
    t0 = time.monotonic()
    p.stop()
    assert time.monotonic() - t0 < 2.0
    assert 25 <= m["output_fps"] <= 35, m
    assert m["repeated_output"] > 10  # the last good frame is repeated while the source is slow
    img, _ = prev.latest()
    assert img.shape == (360, 640, 3)
    assert m["latency_ms"] is not None and m["latency_ms"] < 500


def test_blackout_passthrough_and_brightness_on_the_output_frames():
    store, p = _pipeline(fps=30, passthrough_time=0.0, fit_mode="stretch")
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(color=(200, 100, 50)))
    p.start()
    try:
        assert wait_until(lambda: prev.latest()[0] is not None)
        store.set("blackout", True)
        time.sleep(0.2)
        assert prev.latest()[0].max() == 0
        store.set("blackout", False)
        store.set("brightness", 0.5)
        time.sleep(0.2)
        assert abs(prev.latest()[0].reshape(-1, 3).mean(0) - [100, 50, 25]).max() <= 1
        store.update({"brightness": 1.0, "blackout_momentary": True})
        time.sleep(0.2)
        assert prev.latest()[0].max() == 0
        store.set("blackout_momentary", False)
        time.sleep(0.2)
        assert abs(prev.latest()[0].reshape(-1, 3).mean(0) - [200, 100, 50]).max() <= 1
    finally:
        p.stop()


def test_failing_sink_does_not_stop_the_others():
    store, p = _pipeline()
    p.sink_retry_s = 0.2
    bad, good = FailingSink(), PreviewSink()
    p.add_sink(bad)
    p.add_sink(good)
    p.set_source(SolidSource())
    p.start()
    try:
        assert wait_until(lambda: good.count > 20)
        m = p.snapshot_metrics()
        assert m["sinks"]["preview"] == "ok"
        assert m["sinks"]["failing"].startswith("failed")
        assert any("disk on fire" in f for f in m["faults"])
        assert wait_until(lambda: bad.opens >= 2)  # retried
    finally:
        p.stop()


def test_source_failure_holds_the_last_frame_and_recovers():
    store, p = _pipeline()
    p.source_retry_s = 0.1
    prev = PreviewSink()
    p.add_sink(prev)
    src = SolidSource()
    p.set_source(src)
    p.start()
    try:
        assert wait_until(lambda: prev.count > 5)
        src.broken.set()
        time.sleep(0.3)
        n = prev.count
        assert wait_until(lambda: prev.count > n + 5)  # output keeps going on the held frame
        assert prev.latest()[0].max() > 0
        assert any("unplugged" in f for f in p.snapshot_metrics()["faults"])
        frames_before = p.snapshot_metrics()["frames_in"]
        src.broken.clear()
        assert wait_until(lambda: p.snapshot_metrics()["frames_in"] > frames_before + 5)
        assert src.opened >= 2
    finally:
        p.stop()


class StallingStage(IdentityStage):
    def __init__(self):
        super().__init__(64)
        import threading

        self.stall = threading.Event()

    def process(self, frames):
        while self.stall.is_set():
            time.sleep(0.01)
        out = super().process(frames)
        return [255 - o for o in out]  # visibly different from the raw input


@pytest.mark.parametrize("action", ["freeze", "passthrough"])
def test_watchdog_engages_on_a_stall_and_releases(action):
    store, p = _pipeline(watchdog_limit=0.3, watchdog_action=action, passthrough_time=0.0, fit_mode="stretch")
    stage = StallingStage()
    p = type(p)(store, stage)
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(color=(200, 100, 50)))
    p.start()
    try:
        assert wait_until(lambda: prev.latest()[0] is not None and prev.latest()[0][0, 0, 0] == 55)
        stage.stall.set()
        assert wait_until(lambda: p.snapshot_metrics()["watchdog"], timeout=3)
        time.sleep(0.2)
        px = prev.latest()[0][0, 0]
        if action == "passthrough":
            assert tuple(px) == (200, 100, 50)  # raw input shown
        else:
            assert tuple(px) == (55, 155, 205)  # last generated frame held
        stage.stall.clear()
        assert wait_until(lambda: not p.snapshot_metrics()["watchdog"], timeout=3)
        assert wait_until(lambda: tuple(prev.latest()[0][0, 0]) == (55, 155, 205))
    finally:
        stage.stall.clear()
        p.stop()


def test_fit_fill_stretch_geometry():
    from engine.live.output_stage import fit_frame

    sq = np.full((100, 100, 3), 255, np.uint8)
    fit = fit_frame(sq, 200, 100, "fit")
    assert fit.shape == (100, 200, 3) and fit[:, :50].max() == 0 and fit[:, 50:150].min() == 255
    fill = fit_frame(sq, 200, 100, "fill")
    assert fill.shape == (100, 200, 3) and fill.min() == 255
    st = fit_frame(sq, 200, 100, "stretch")
    assert st.shape == (100, 200, 3) and st.min() == 255


def test_switching_source_live_keeps_the_output_running():
    store, p = _pipeline(fps=30, fit_mode="stretch")
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(color=(250, 0, 0)))
    p.start()
    try:
        assert wait_until(lambda: prev.latest()[0] is not None and prev.latest()[0][0, 0, 0] == 250)
        n = prev.count
        p.set_source(SolidSource(color=(0, 0, 250), name="blue"))
        assert wait_until(lambda: prev.latest()[0][0, 0, 2] == 250)
        assert prev.count > n
        assert p.snapshot_metrics()["output_fps"] > 20  # no gap in the output
    finally:
        p.stop()


def test_passthrough_crossfade_and_fade_to_black_on_the_output_frames():
    class Invert(IdentityStage):
        def process(self, frames):
            return [255 - f for f in super().process(frames)]

    store = engine_store()
    store.update({"output_size": "640x360", "output_fps": 30, "fit_mode": "stretch", "passthrough_time": 0.6, "fade_time": 0.4})
    p = LivePipeline(store, Invert(64))
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(color=(200, 100, 50)))
    p.start()
    try:
        px = lambda: tuple(int(v) for v in prev.latest()[0][0, 0])  # noqa: E731
        assert wait_until(lambda: prev.latest()[0] is not None and px() == (55, 155, 205))  # generated (inverted)
        store.set("passthrough", True)
        time.sleep(0.3)
        mid = px()
        assert 60 < mid[0] < 195  # half way through the crossfade: a mix of both
        assert wait_until(lambda: px() == (200, 100, 50), timeout=2)  # the raw input
        store.set("passthrough", False)
        assert wait_until(lambda: px() == (55, 155, 205), timeout=2)
        store.set("fade_to_black", True)
        time.sleep(0.2)
        assert 0 < px()[2] < 205  # fading
        assert wait_until(lambda: max(px()) == 0, timeout=2)
        store.set("fade_to_black", False)
        assert wait_until(lambda: px() == (55, 155, 205), timeout=2)
    finally:
        p.stop()
