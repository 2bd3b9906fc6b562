"""A video file source plays each frame at its own time (variable-rate files too), survives a stall
without a burst, and tells the audio side where the file's media time stands (media_clock)."""

import numpy as np
import pytest

from engine.sources import VideoFileSource
from media_clips import PICTURE, TONE, frame_times, make, require_ffmpeg


@pytest.fixture
def clips(tmp_path):
    require_ffmpeg()
    return {
        # 25 frames at 25 fps, then 10 at 10 fps; each frame states 40 ms, so one pass lasts 1.94 s
        "vfr": make(tmp_path, "vfr.mkv", *PICTURE, "-frames:v", "35", "-vf",
                    "settb=1/1000,setpts='if(lt(N,25),N*40,1000+(N-25)*100)'", "-fps_mode", "passthrough",
                    "-enc_time_base:v", "1:1000", "-c:v", "libx264"),
        # 10 frames of HAP at 25 fps with 0.4 s of sound
        "hap": make(tmp_path, "hap.mov", *PICTURE, *TONE, "-t", "0.4", "-c:v", "hap", "-c:a", "pcm_s16le"),
    }


def test_a_variable_rate_file_plays_at_its_own_timing(clips, virtual_time):
    times = frame_times(clips["vfr"])
    with VideoFileSource(clips["vfr"]) as src:
        frames = [src.read() for _ in range(37)]  # one pass and the first two frames of the next
        clock = src.media_clock()
    shown = [f.captured_at - frames[0].captured_at for f in frames]
    assert shown[:35] == pytest.approx(times)
    assert np.diff(shown[:35]).max() == pytest.approx(0.1)  # not the average rate's 1/25 s
    assert shown[35:] == pytest.approx([1.94, 1.98])  # the next pass starts when the last frame's 40 ms are up
    assert (clock.loop, clock.loop_length_s) == (1, pytest.approx(1.94))
    assert clock.origin == pytest.approx(frames[0].captured_at + 1.94)
    assert clock.media_time(frames[-1].captured_at) == pytest.approx(0.04)


def test_media_clock_places_every_frame_and_follows_a_stall(clips, virtual_time):
    with VideoFileSource(clips["hap"]) as src:
        assert src.media_clock() is None  # nothing shown yet
        assert src.has_audio and src.path == clips["hap"]
        assert "hap" in src.describe() and "with sound" in src.describe()
        first = src.read()
        clock = src.media_clock()
        assert (clock.origin, clock.loop, clock.loop_length_s) == (first.captured_at, 0, pytest.approx(0.4))
        second = src.read()
        assert second.captured_at == pytest.approx(clock.origin + 0.04)
        virtual_time.advance(1.0)  # the reader stalled for a second
        late = src.read()
        assert late.captured_at == pytest.approx(second.captured_at + 1.0)  # at once, no burst of the missed ones
        moved = src.media_clock()
        assert moved.origin == pytest.approx(late.captured_at - 0.08)  # frame 2 is at 0.08 s: the schedule moved
        after = [src.read() for _ in range(8)]  # the rest of the pass, then the next one
        assert [f.captured_at - late.captured_at for f in after] == pytest.approx([0.04 * k for k in range(1, 9)])
        assert src.loops == 1 and src.media_clock().loop == 1
        assert src.media_clock().origin == pytest.approx(moved.origin + 0.4)


def test_frame_exact_playback_stamps_each_pass_from_its_first_frame(clips):
    with VideoFileSource(clips["hap"], paced=False) as src:
        first = src.read()
        assert src.media_clock().origin == first.captured_at
        for _ in range(9):
            src.read()
        assert src.media_clock().origin == first.captured_at  # the same pass
        wrapped = src.read()
        assert src.media_clock().loop == 1 and src.media_clock().origin == wrapped.captured_at
