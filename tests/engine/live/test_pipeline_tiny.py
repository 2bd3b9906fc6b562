"""A real video file through the tiny model into the recorder; file faults mid-run."""

import shutil

import numpy as np
from video_files import read_video, write_pattern_video
from waiting import wait_for

from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.live.pipeline import LivePipeline
from engine.params import engine_store
from engine.sinks.preview import PreviewSink
from engine.sinks.recorder import RecorderSink
from engine.sources import VideoFileSource


def _tiny_pipeline(tiny_bundle, source, fps=20):
    store = engine_store()
    store.update({"size": 64, "steps": 2, "prompt.1.text": "neon", "output_size": "640x360", "output_fps": fps})
    stream = DiffusionStream(tiny_bundle, StreamSettings.from_values(store.snapshot().values))
    return store, LivePipeline(store, stream, source)


def test_video_through_tiny_model_into_recorder(tiny_bundle, tmp_path):
    src_path, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_pattern_video(src_path, n=20, size=(96, 80), fps=20.0)
    store, p = _tiny_pipeline(tiny_bundle, VideoFileSource(str(src_path), loop=True, paced=True))
    rec = RecorderSink(out)
    p.add_sink(rec)
    p.start()
    try:
        wait_for(lambda: p.snapshot_metrics().frames_generated > 5 and rec.frames >= 40, timeout=60,
                 what=lambda: f"generated frames in the recording: {rec.frames} recorded, {p.snapshot_metrics()}")
        m = p.snapshot_metrics()
    finally:
        p.stop()
    assert not p.running
    assert m.latency_ms is not None and m.latency_ms > 0
    assert m.frames_generated > 5 and m.pipeline_depth == 1
    assert m.sinks["recorder:out.mp4"] == "ok"
    frames, fps = read_video(out)
    assert fps == 20 and len(frames) == rec.frames >= 40  # every frame the recorder placed, at the output rate
    assert all(f.shape == (360, 640, 3) for f in frames)
    # letterboxed square in the middle, black bars at the sides, a picture inside from the first one on
    assert all(f[:, :100].max() < 30 for f in frames)
    pictures = [f[:, 150:490].std() > 5 for f in frames]
    assert pictures[-1] and all(pictures[pictures.index(True):]), pictures


def test_the_recorder_places_frames_by_their_timestamps(tmp_path):
    """A recorder that missed output frames (a busy machine) repeats the last picture over the gap,
    so the file keeps the show's time at its frame rate: made-up timestamps, no clock involved."""
    out = tmp_path / "gaps.mp4"
    rec = RecorderSink(out)
    rec.open(64, 48, 20)
    bright, dark = np.full((48, 64, 3), 200, np.uint8), np.full((48, 64, 3), 50, np.uint8)
    rec.send(bright, 100.0)  # frame 1
    rec.send(bright, 100.05)  # frame 2
    rec.send(dark, 100.30)  # due as frame 7: frames 3..6 repeat the bright picture
    rec.send(dark, 100.31)  # still frame 7's slot: not written twice
    rec.close()
    frames, fps = read_video(out)
    assert fps == 20 and len(frames) == rec.frames == 7
    assert [f.mean() > 125 for f in frames] == [True] * 6 + [False]


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
        wait_for(lambda: p.snapshot_metrics().frames_generated > 3, timeout=30, what="generated frames")
        src_path.unlink()
        wait_for(lambda: any("gone" in f for f in p.snapshot_metrics().faults), what="the fault in the log")
        held = p.snapshot_metrics().frames_in
        n_out = prev.count
        wait_for(lambda: prev.count > n_out + 10, what="output frames on the held frame")  # output goes on
        assert p.snapshot_metrics().frames_in <= held + 1
        assert prev.latest()[0].max() > 0
        shutil.copy(backup, src_path)
        wait_for(lambda: p.snapshot_metrics().frames_in > held + 10, what="frames from the file again")  # recovered
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
        wait_for(lambda: p.snapshot_metrics().frames_generated > 2, 30, what="generated frames")
        store.update({"accel": "tensorrt"})
        wait_for(lambda: any("accel" in f for f in p.snapshot_metrics().faults), 30, what="the accel fault")
        before = p.snapshot_metrics().frames_generated
        wait_for(lambda: p.snapshot_metrics().frames_generated > before + 3, 30, what="frames from eager")
        m = p.snapshot_metrics()
        assert m.accel.active == "eager" and m.accel.last_error
    finally:
        p.stop()
