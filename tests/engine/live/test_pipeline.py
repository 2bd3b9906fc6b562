"""The live pipeline with real threads: pacing, safety, faults and a clean stop.

Every wait is on a condition (frame counters, metrics, the frames themselves), never on
the wall clock; how fast the pipeline runs is `dreamdeck bench`'s business."""

import numpy as np
import pytest
from live_parts import FailingSink, GatedStage, PixelLog, SolidSource
from waiting import wait_for

from engine.live.output_stage import SafetySettings, ShowSafety
from engine.live.pipeline import IdentityStage, LivePipeline
from engine.params import engine_store
from engine.sinks.preview import PreviewSink


def _pipeline(out="640x360", fps=30, **params):
    store = engine_store()
    store.update({"output_size": out, "output_fps": fps, **params})
    return store, LivePipeline(store, IdentityStage(64))


def test_output_keeps_going_on_the_last_frame_while_the_model_is_stalled_and_stops_cleanly():
    store, p = _pipeline(fps=30, watchdog=False, passthrough_time=0.0)
    stage = GatedStage()
    p = type(p)(store, stage)
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(fps=10))
    p.start()
    try:
        wait_for(lambda: p.snapshot_metrics().frames_generated >= 2 and prev.count > 0, what="the first generated frames")
        stage.hold()  # the model stalls mid-frame
        wait_for(stage.held.is_set, what="the model to stall")
        generated, repeated, n = p.snapshot_metrics().frames_generated, p.snapshot_metrics().repeated_output, prev.count
        wait_for(lambda: prev.count > n + 10, what="output frames while the model is stalled")
        m = p.snapshot_metrics()
        assert m.frames_generated == generated  # nothing new from the model...
        assert m.repeated_output >= repeated + 10  # ...so the output repeats the last good frame
        assert tuple(prev.latest()[0][180, 320]) == (55, 215, 215)  # the generated (inverted) picture, held
    finally:
        stage.release()
        p.stop()
    assert not p.running
    img, _ = prev.latest()
    assert img.shape == (360, 640, 3)
    assert p.snapshot_metrics().latency_ms is not None


def test_blackout_passthrough_and_brightness_on_the_output_frames():
    store, p = _pipeline(fps=30, passthrough_time=0.0, fit_mode="stretch")
    prev = PreviewSink()
    p.add_sink(prev)
    p.set_source(SolidSource(color=(200, 100, 50)))
    p.start()
    try:
        def mean_is(rgb):
            return lambda: abs(prev.latest()[0].reshape(-1, 3).mean(0) - rgb).max() <= 1

        wait_for(lambda: prev.latest()[0] is not None, what="a first output frame")
        wait_for(mean_is([200, 100, 50]), what="the picture")
        store.set("blackout", True)
        wait_for(lambda: prev.latest()[0].max() == 0, what="black frames")
        store.set("blackout", False)
        store.set("brightness", 0.5)
        wait_for(mean_is([100, 50, 25]), what="half brightness")
        store.update({"brightness": 1.0, "blackout_momentary": True})
        wait_for(lambda: prev.latest()[0].max() == 0, what="black frames")
        store.set("blackout_momentary", False)
        wait_for(mean_is([200, 100, 50]), what="the picture back")
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
        wait_for(lambda: good.count > 20, what="frames in the good sink")
        m = p.snapshot_metrics()
        assert m.sinks["preview"] == "ok"
        assert m.sinks["failing"].startswith("failed")
        assert any("disk on fire" in f for f in m.faults)
        wait_for(lambda: bad.opens >= 2, what="the failing sink to be retried")
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
        wait_for(lambda: prev.count > 5, what="output frames")
        src.broken.set()
        wait_for(lambda: any("unplugged" in f for f in p.snapshot_metrics().faults), what="the fault in the log")
        n, frames_in = prev.count, p.snapshot_metrics().frames_in
        wait_for(lambda: prev.count > n + 5, what="output frames on the held frame")  # output keeps going
        assert prev.latest()[0].max() > 0
        assert p.snapshot_metrics().frames_in == frames_in  # nothing from the unplugged source
        src.broken.clear()
        wait_for(lambda: p.snapshot_metrics().frames_in > frames_in + 5, what="frames from the source again")
        assert src.opened >= 2
    finally:
        p.stop()


@pytest.mark.parametrize("action", ["freeze", "passthrough"])
def test_watchdog_engages_on_a_stall_and_releases(action):
    store, p = _pipeline(watchdog_limit=0.3, watchdog_action=action, passthrough_time=0.0, fit_mode="stretch")
    stage = GatedStage()
    p = type(p)(store, stage)
    prev = PixelLog()
    p.add_sink(prev)
    p.set_source(SolidSource(color=(200, 100, 50)))
    p.start()
    try:
        wait_for(lambda: prev.latest()[0] is not None and prev.latest()[0][0, 0, 0] == 55, what="a generated frame")
        stage.hold()
        wait_for(lambda: p.snapshot_metrics().watchdog, what="the watchdog to engage")
        shown = (200, 100, 50) if action == "passthrough" else (55, 155, 205)  # the raw input / the last generated frame held
        wait_for(lambda: prev.pixels[-1] == shown, what=f"the {action} picture")
        n = len(prev.pixels)
        wait_for(lambda: len(prev.pixels) > n + 3, what="output frames while the watchdog is engaged")
        assert set(prev.pixels[n:]) == {shown}, prev.pixels[n:]  # and it stays while the model is stalled
        stage.release()
        wait_for(lambda: not p.snapshot_metrics().watchdog, what="the watchdog to release")
        wait_for(lambda: prev.pixels[-1] == (55, 155, 205), what="generated frames again")
    finally:
        stage.release()
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
        wait_for(lambda: prev.latest()[0] is not None and prev.latest()[0][0, 0, 0] == 250, what="the red source")
        n = prev.count
        p.set_source(SolidSource(color=(0, 0, 250), name="blue"))
        wait_for(lambda: prev.latest()[0][0, 0, 2] == 250, what="the blue source")
        assert prev.count > n  # the output went on through the switch
    finally:
        p.stop()


def test_passthrough_crossfade_and_fade_to_black_on_the_output_frames():
    """Live, on real threads: each change goes through mixes of both pictures, one way, to its end."""
    store = engine_store()
    store.update({"output_size": "640x360", "output_fps": 30, "fit_mode": "stretch", "passthrough_time": 0.6, "fade_time": 0.4})
    p = LivePipeline(store, GatedStage(64))  # inverts: generated (55, 155, 205), raw (200, 100, 50)
    log = PixelLog()
    p.add_sink(log)
    p.set_source(SolidSource(color=(200, 100, 50)))
    generated, raw = (55, 155, 205), (200, 100, 50)

    def change(name, value, end, channel):
        """Set ``name``, wait for the picture ``end``; the values ``channel`` took on the way."""
        n = len(log.pixels)
        store.set(name, value)
        wait_for(lambda: log.pixels[-1] == end, what=f"{name}={value} to reach {end}, at {log.pixels[-1]}")
        return [px[channel] for px in log.pixels[n:]]

    p.start()
    try:
        wait_for(lambda: log.pixels and log.pixels[-1] == generated, what="a generated frame")
        way = change("passthrough", True, raw, 0)
        assert way == sorted(way) and any(60 < v < 195 for v in way), way  # a crossfade, not a cut
        way = change("passthrough", False, generated, 0)
        assert way == sorted(way, reverse=True) and any(60 < v < 195 for v in way), way
        way = change("fade_to_black", True, (0, 0, 0), 2)
        assert way == sorted(way, reverse=True) and any(0 < v < 205 for v in way), way  # a fade, not a cut
        way = change("fade_to_black", False, generated, 2)
        assert way == sorted(way) and any(0 < v < 205 for v in way), way
    finally:
        p.stop()


def test_crossfade_and_fade_to_black_take_their_set_times():
    """The safety stage on made-up frame times: half way at half the set time, complete at the set time."""
    safety = ShowSafety(4, 4)
    gen, raw = np.full((4, 4, 3), (55, 155, 205), np.uint8), np.full((4, 4, 3), (200, 100, 50), np.uint8)
    base = SafetySettings(passthrough_time=0.6, fade_time=0.4, fit_mode="stretch", watchdog=False)

    def at(t, **changes):
        s = SafetySettings(**{**base.__dict__, **changes})
        return np.asarray(safety.compose(gen, raw, s, t, t)[0, 0], float)

    def close(px, rgb):
        return np.abs(px - rgb).max() <= 1

    assert close(at(10.0), (55, 155, 205))
    assert close(at(10.3, passthrough=True), (127.5, 127.5, 127.5))  # half way: an even mix
    assert close(at(10.6, passthrough=True), (200, 100, 50))  # done at 0.6 s
    assert close(at(10.9), (127.5, 127.5, 127.5))  # and back the same way
    assert close(at(11.2), (55, 155, 205))
    assert close(at(11.4, fade_to_black=True), (27.5, 77.5, 102.5))  # half way to black at 0.2 s of 0.4
    assert close(at(11.6, fade_to_black=True), (0, 0, 0))
    assert close(at(12.0), (55, 155, 205))  # 0.4 s back up
