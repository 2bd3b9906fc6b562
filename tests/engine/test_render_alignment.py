"""Stream Batch rendering hands out frame k for input k, like the sequential twin."""

from dataclasses import replace

import numpy as np
import pytest

from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.media.test_pattern import pattern_frame
from engine.render import stream_frames


@pytest.mark.parametrize("steps,fbs,count,width,height", [
    (1, 1, 5, 128, 128), (3, 1, 7, 128, 128), (2, 2, 7, 128, 128),
    (3, 1, 7, 128, 64), (2, 2, 7, 64, 128),  # non-square frames, landscape and portrait
])
def test_stream_batch_render_matches_sequential(tiny_bundle, steps, fbs, count, width, height):
    frames = [pattern_frame(i / 4, width, height) for i in range(count)]
    settings = StreamSettings(width=width, height=height, steps=steps, frame_buffer_size=fbs, prompts=(("neon", 1.0),),
                              guidance="self")
    batched = list(stream_frames(DiffusionStream(tiny_bundle, settings), frames))
    sequential = list(stream_frames(DiffusionStream(tiny_bundle, replace(settings, stream_batch=False)), frames))
    assert len(batched) == len(sequential) == count
    assert all(f.shape == (height, width, 3) for f in batched + sequential)
    for a, b in zip(batched, sequential):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    # and the frames really differ from each other (the test would catch a shift)
    assert np.abs(batched[0].astype(int) - batched[-1].astype(int)).max() > 5
