"""The live figures come as one frozen, typed snapshot; the sources and sinks keep the contract's promise of an
availability check; the output's fit modes are declared once."""

import dataclasses
import time

import numpy as np
import pytest
from live_parts import FailingSink, SolidSource

from engine.live.contracts import Sink, Source
from engine.live.live_metrics import LiveMetrics
from engine.live.output_stage import FIT_MODES, fit_frame
from engine.live.status import LiveStatus
from engine.params.catalog import engine_store
from engine.sinks.preview import PreviewSink
from engine.sinks.recorder import RecorderSink
from engine.sinks.virtual_camera import VirtualCameraSink
from engine.sources import CameraSource, ImageSource, PatternSource, ScreenSource, VideoFileSource


def test_the_snapshot_is_a_frozen_live_status_with_what_happened():
    m = LiveMetrics()
    t = time.monotonic()
    for i in range(5):
        m.captured(t + i * 0.01, 1.0)
        m.generated_frame(t + i * 0.01, 20.0, skipped=i == 0)
        m.output_frame(t + i * 0.01, 2.0, repeated=False, latency_s=0.05)
    m.sink_status("preview", "ok")
    m.fault("camera:0", "unplugged")
    s = m.snapshot()
    assert isinstance(s, LiveStatus)
    assert (s.frames_in, s.frames_generated, s.frames_out) == (5, 5, 5)
    assert s.skip_rate == pytest.approx(0.2) and s.latency_ms == pytest.approx(50.0)
    assert s.latency_frames == pytest.approx(50.0 / 1000 * m.out_fps_target)
    assert s.sinks == {"preview": "ok"} and s.faults_total == 1 and s.faults[-1].endswith("camera:0: unplugged")
    assert set(s.stage_ms) == {"capture", "generate", "output"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.frames_in = 0
    m.sink_status("preview", "failed: gone")
    assert s.sinks == {"preview": "ok"}  # a snapshot does not change after


def test_gpu_readings_are_none_without_a_gpu_and_fill_the_fields_with_one():
    m = LiveMetrics()
    m.gpu.read = lambda: {}
    s = m.snapshot()
    assert s.gpu_util_percent is None and s.gpu_memory_mb is None and s.gpu_power_w is None
    m.gpu.read = lambda: {"gpu_util_percent": 87.0, "gpu_memory_mb": 4096.0, "gpu_power_w": 210.5}
    s = m.snapshot()
    assert (s.gpu_util_percent, s.gpu_memory_mb, s.gpu_power_w) == (87.0, 4096.0, 210.5)


def test_the_audio_status_is_kept_as_the_audio_engine_gave_it():
    @dataclasses.dataclass(frozen=True)
    class AudioLike:  # the shape engine.audio publishes: a frozen dataclass
        xruns: int = 0

    m = LiveMetrics()
    assert m.snapshot().audio is None  # before the audio engine runs
    status = AudioLike(xruns=3)
    m.audio_update(status)
    assert m.snapshot().audio is status


def every_source():
    return [PatternSource(), ImageSource("missing.png"), VideoFileSource("missing.mp4"), CameraSource(0), ScreenSource(),
            SolidSource()]


def every_sink(tmp_path):
    return [PreviewSink(), RecorderSink(tmp_path / "out.mp4"), VirtualCameraSink(), FailingSink()]


def test_every_source_and_sink_has_the_contracts_availability_check(tmp_path):
    for source in every_source():
        assert isinstance(source, Source), type(source).__name__
        problem = source.availability()
        assert problem is None or (isinstance(problem, str) and problem), type(source).__name__
    for sink in every_sink(tmp_path):
        assert isinstance(sink, Sink), type(sink).__name__
        problem = sink.availability()
        assert problem is None or (isinstance(problem, str) and problem), type(sink).__name__


def test_a_recorder_says_what_to_change_before_it_opens(tmp_path):
    assert RecorderSink(tmp_path / "show.mp4").availability() is None
    assert "output folder does not exist" in RecorderSink(tmp_path / "nowhere" / "show.mp4").availability()
    assert "unsupported video extension" in RecorderSink(tmp_path / "show.gif").availability()
    assert PreviewSink().availability() is None


def test_the_fit_modes_the_console_offers_are_the_ones_the_output_places_frames_by():
    assert engine_store().params["fit_mode"].choices == FIT_MODES
    square = np.full((8, 8, 3), 255, np.uint8)
    for mode in FIT_MODES:
        assert fit_frame(square, 16, 8, mode).shape == (8, 16, 3)
