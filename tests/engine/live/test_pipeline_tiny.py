"""A real video file through the tiny model into the recorder; file faults mid-run."""

import shutil
import time

from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.live.pipeline import LivePipeline
from engine.params import engine_store
from engine.sinks.preview import PreviewSink
from engine.sinks.recorder import RecorderSink
from engine.sources import VideoFileSource
from live_parts import wait_until
from video_files import read_video, write_pattern_video


def _tiny_pipeline(tiny_bundle, source, fps=20):
    store = engine_store()
    store.update({"size": 64, "steps": 2, "prompt.1.text": "neon", "output_size": "640x360", "output_fps": fps})
    stream = DiffusionStream(tiny_bundle, StreamSettings.from_values(store.snapshot().values))
    return store, LivePipeline(store, stream, source)


def test_video_through_tiny_model_into_recorder(tiny_bundle, tmp_path):
    src_path, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_pattern_video(src_path, n=20, size=(96, 80), fps=20.0)
    store, p = _tiny_pipeline(tiny_bundle, VideoFileSource(str(src_path), loop=True, paced=True))
    p.add_sink(RecorderSink(out))
    p.start()
    time.sleep(2.5)
    m = p.snapshot_metrics()
    t0 = time.monotonic()
    p.stop()
    assert time.monotonic() - t0 < 2.0
    assert m["latency_ms"] is not None and m["latency_ms"] > 0
    assert m["frames_generated"] > 5 and m["pipeline_depth"] == 1
    assert m["sinks"]["recorder:out.mp4"] == "ok"
    frames, _ = read_video(out)
    assert 40 <= len(frames) <= 60  # ~2.5 s at 20 fps
    assert all(f.shape == (360, 640, 3) for f in frames)
    # letterboxed square in the middle, black bars at the sides, a picture inside
    assert all(f[:, :100].max() < 30 and f[:, 150:490].std() > 5 for f in frames[5:])


def test_deleted_file_holds_last_frame_then_recovers(tiny_bundle, tmp_path):
    src_path = tmp_path / "in.mp4"
    write_pattern_video(src_path, n=40, size=(96, 80), fps=20.0)
    backup = tmp_path / "backup.mp4"
    shutil.copy(src_path, backup)
    store, p = _tiny_pipeline(tiny_bundle, VideoFileSource(str(src_path), loop=True, paced=True))
    p.source_retry_s = 0.1
    prev = PreviewSink()
    p.add_sink(prev)
    p.start()
    try:
        assert wait_until(lambda: p.snapshot_metrics()["frames_generated"] > 3, timeout=10)
        src_path.unlink()
        assert wait_until(lambda: any("gone" in f for f in p.snapshot_metrics()["faults"]), timeout=5)
        held = p.snapshot_metrics()["frames_in"]
        n_out = prev.count
        assert wait_until(lambda: prev.count > n_out + 10)  # output goes on, on the held frame
        assert p.snapshot_metrics()["frames_in"] <= held + 1
        assert prev.latest()[0].max() > 0
        shutil.copy(backup, src_path)
        assert wait_until(lambda: p.snapshot_metrics()["frames_in"] > held + 10, timeout=5)  # recovered
    finally:
        p.stop()


def test_a_failing_acceleration_back_end_is_in_the_fault_log_and_eager_keeps_serving(tiny_bundle, tmp_path, monkeypatch):
    """'tensorrt' cannot serve on this CPU machine (not installed, or no GPU): the switch is refused
    in the live metrics' fault log and the frames keep coming from eager."""
    from engine.accel.base import available

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert "tensorrt" in available() and available()["tensorrt"] is not None  # a reason it cannot run here
    src_path = tmp_path / "in.mp4"
    write_pattern_video(src_path, n=20, size=(96, 80), fps=20.0)
    store, p = _tiny_pipeline(tiny_bundle, VideoFileSource(str(src_path), loop=True, paced=True))
    p.start()
    try:
        assert wait_until(lambda: p.snapshot_metrics()["frames_generated"] > 2, 20)
        store.update({"accel": "tensorrt"})
        assert wait_until(lambda: any("accel" in f for f in p.snapshot_metrics()["faults"]), 30)
        before = p.snapshot_metrics()["frames_generated"]
        assert wait_until(lambda: p.snapshot_metrics()["frames_generated"] > before + 3, 20)
        m = p.snapshot_metrics()
        assert m["accel"]["active"] == "eager" and m["accel"]["last_error"]
    finally:
        p.stop()
