"""Video files: frame-exact, looping, paced, and surviving the file going away."""

import os
import shutil

import numpy as np
import pytest

from engine.live.contracts import SourceError
from engine.sources import EndOfStream, VideoFileSource


def test_frame_exact_plays_every_frame_once_then_ends(video, media):
    src = VideoFileSource(video, loop=False, paced=False)
    src.open()
    try:
        assert (src.width, src.height, src.fps, src.frame_count) == (64, 48, 20.0, 12)
        frames = []
        with pytest.raises(EndOfStream, match="end of video file") as ended:
            while True:
                frames.append(src.read())
        assert isinstance(ended.value, SourceError)
        with pytest.raises(EndOfStream):  # stays ended
            src.read()
        src.open()  # open() starts it again
        assert media.frame_number(src.read().image) == 0
    finally:
        src.close()
    assert len(frames) == media.frames
    assert [media.frame_number(f.image) for f in frames] == list(range(media.frames))
    assert [f.index for f in frames] == list(range(media.frames))
    for f in frames:
        assert f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8
    assert all(a.captured_at <= b.captured_at for a, b in zip(frames, frames[1:]))


def test_loops_with_a_running_index(video, media):
    with VideoFileSource(video, loop=True, paced=False) as src:
        frames = [src.read() for _ in range(30)]
        assert src.loops == 2 and src.position == 6
    assert [f.index for f in frames] == list(range(30))
    assert [media.frame_number(f.image) for f in frames] == [k % media.frames for k in range(30)]


def test_paced_at_the_files_own_fps(video, virtual_time):
    with VideoFileSource(video) as src:  # 20 fps
        frames = [src.read() for _ in range(10)]
    times = [f.captured_at - frames[0].captured_at for f in frames]
    assert times == pytest.approx([k * 0.05 for k in range(10)])  # the first at once, then every 50 ms
    assert "20 fps" in src.describe() and "looping" in src.describe()


def test_deleted_mid_run_raises_and_reopen_recovers_once_it_is_back(video, media, tmp_path):
    backup = shutil.copy(video, tmp_path / "backup.avi")
    src = VideoFileSource(video, paced=False)
    src.open()
    try:
        for _ in range(3):
            src.read()
        os.remove(video)
        with pytest.raises(SourceError, match="gone"):
            src.read()
        with pytest.raises(SourceError, match="gone"):  # stays failed until reopened
            src.read()
        with pytest.raises(SourceError, match="not found"):
            src.open()
        shutil.copy(backup, video)
        src.open()
        frame = src.read()
        assert media.frame_number(frame.image) == 0  # starts the file again
        assert frame.index == 3  # the running index carries on
    finally:
        src.close()


def test_a_file_replaced_on_disk_is_reported_and_reopens_to_the_new_one(video, media, tmp_path):
    newer = media.write_video(tmp_path / "newer.avi", frames=4, offset=5)
    with VideoFileSource(video, paced=False) as src:
        src.read()
        os.replace(newer, video)
        with pytest.raises(SourceError, match="changed"):
            src.read()
        src.open()
        assert media.frame_number(src.read().image) == 5


def test_missing_and_damaged_files_are_source_errors(tmp_path):
    missing = VideoFileSource(tmp_path / "nope.mp4")
    assert "not found" in missing.availability()
    with pytest.raises(SourceError, match="not found"):
        missing.open()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 4096)
    with pytest.raises(SourceError, match="cannot read video"):
        VideoFileSource(bad).open()
    with pytest.raises(SourceError, match="not open"):
        VideoFileSource(bad).read()


def test_close_is_idempotent_and_read_after_close_says_so(video):
    src = VideoFileSource(video, paced=False)
    src.open()
    src.read()
    src.close()
    src.close()
    with pytest.raises(SourceError, match="not open"):
        src.read()
