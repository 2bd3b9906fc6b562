"""Writing and reading video take no references from None (PyAV 18's buffer protocol does, on Python 3.11: one
per frame, which a night's show would show as a climbing sys.getrefcount(None)). engine/media/frames.py goes
around it; this guards every per-frame path of the writer and the reader."""

import gc
import sys

import numpy as np
import pytest

from engine.media.frames import frame_rgb, rgb_frame
from engine.media.reader import VideoReader, iter_audio
from engine.media.writer import AudioFormat, MediaWriter


def _per_call(fn, n=120) -> float:
    for _ in range(10):
        fn()
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(n):
        fn()
    gc.collect()
    return (sys.getrefcount(None) - before) / n


@pytest.mark.parametrize("size", [(640, 360), (97, 55)])
def test_frames_in_and_out_are_exact(size):
    w, h = size
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    assert np.array_equal(frame_rgb(rgb_frame(img)), img)


@pytest.mark.parametrize("codec, ext", [("h264", ".mp4"), ("prores", ".mov"), ("hap", ".mov")])
def test_a_recording_and_its_playback_leave_none_alone(codec, ext, tmp_path):
    img = np.random.default_rng(1).integers(0, 255, (144, 256, 3), dtype=np.uint8)
    sound = np.zeros((1600, 2), np.float32)
    path = tmp_path / f"clip{ext}"
    w = MediaWriter(path, 30, (256, 144), codec=codec, audio=AudioFormat(), crash_safe=True, realtime=True)

    def write():
        w.write(img)
        w.write_audio(sound)

    assert _per_call(write) < 0.05
    assert _per_call(w.repeat) < 0.05
    w.close()
    reader = VideoReader(path)
    assert _per_call(reader.read, 100) < 0.05
    reader.close()
    blocks = iter_audio(path)
    assert _per_call(lambda: next(blocks), 40) < 0.05
    blocks.close()
