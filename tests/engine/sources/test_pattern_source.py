"""The moving test pattern as a paced live source."""

import threading

import numpy as np
import pytest
from waiting import blocked_in_wait, wait_for

from engine.live.contracts import Source, SourceError
from engine.sources import PatternSource


def read_n(src, n):
    return [src.read() for _ in range(n)]


def test_frames_are_rgb_uint8_with_index_and_capture_time():
    src = PatternSource(width=96, height=64, fps=200)
    assert isinstance(src, Source) and src.name == "pattern"
    src.open()
    try:
        frames = read_n(src, 5)
    finally:
        src.close()
    for k, f in enumerate(frames):
        assert f.image.shape == (64, 96, 3) and f.image.dtype == np.uint8
        assert f.index == k
    times = [f.captured_at for f in frames]
    assert times == sorted(times)


def times(frames):
    return [f.captured_at - frames[0].captured_at for f in frames]


def test_paced_at_fps(virtual_time):
    with PatternSource(64, 64, fps=20) as src:
        frames = read_n(src, 10)
    assert times(frames) == pytest.approx([k * 0.05 for k in range(10)])  # the first at once, then every 50 ms


def test_deadline_schedule_does_not_drift_with_a_slow_reader(virtual_time):
    # 30 ms of work per frame at a 50 ms period: a sleep-a-period pacer would space them 80 ms apart
    with PatternSource(64, 64, fps=20) as src:
        frames = []
        for _ in range(10):
            frames.append(src.read())
            virtual_time.advance(0.03)
    assert times(frames) == pytest.approx([k * 0.05 for k in range(10)])
    assert virtual_time.waits == pytest.approx([0.02] * 9)  # only what is left of each period


def test_never_sleeps_when_late(virtual_time):
    with PatternSource(64, 64, fps=20) as src:
        src.read()
        for _ in range(3):
            virtual_time.advance(0.12)  # more than two periods behind
            src.read()
        assert virtual_time.waits == []  # late: the frame at once, no burst to catch up either
        src.read()  # and the schedule starts again from the late frame
        assert virtual_time.waits == pytest.approx([0.05])


def test_moving_pattern_moves_and_static_pattern_does_not():
    with PatternSource(96, 96, fps=500) as moving:
        a, b, c = (f.image for f in read_n(moving, 3))
    assert not np.array_equal(a, b) and not np.array_equal(b, c)
    with PatternSource(96, 96, fps=500, static=True) as still:
        assert still.name == "pattern:static"
        frames = [f.image for f in read_n(still, 3)]
    assert all(np.array_equal(frames[0], f) for f in frames[1:])
    frames[0][:] = 0  # each frame is the consumer's own copy
    assert not np.array_equal(frames[0], frames[1])


def test_close_wakes_a_waiting_read_and_is_idempotent():
    src = PatternSource(32, 32, fps=0.01)  # the second frame is due 100 s after the first
    src.open()
    src.read()
    result = {}
    reader = threading.Thread(target=lambda: result.setdefault("frame", src.read()))
    reader.start()
    wait_for(lambda: blocked_in_wait(reader), what="the reader to wait for its frame")
    src.close()
    reader.join(30)  # (a read that close did not wake would wait out its 100 s)
    assert not reader.is_alive()
    assert result["frame"] is None
    src.close()


def test_read_before_open_and_bad_settings_raise_source_error():
    with pytest.raises(SourceError, match="not open"):
        PatternSource().read()
    with pytest.raises(SourceError, match="fps"):
        PatternSource(fps=0)
    with pytest.raises(SourceError, match="size"):
        PatternSource(width=0)
    assert PatternSource().availability() is None
    assert "512x512" in PatternSource().describe()
