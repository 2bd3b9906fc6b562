"""Real pictures through the whole live show on `styles`: a video of real photographs goes in through the
video-file source, the live pipeline paints it, the recorder writes it, and the recording is checked
against the reference package's stylisation, and for structure that follows the input."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from style_helpers import psnr, skimage_data

from engine.frame_size import to_model_frame
from engine.live.pipeline import LivePipeline
from engine.media.files import VideoWriter, iter_video
from engine.params.catalog import engine_store
from engine.sinks.recorder import RecorderSink
from engine.sources.spec import make_source
from engine.styles.stream import StyleSettings, StyleStream

W, H, FPS = 640, 360, 10
HOLD = 30  # frames the object stays at each place (3 s)
PLACES = (60, 270, 470)  # the cup's left edge, in pixels


def scene(x: int) -> np.ndarray:
    """The astronaut photograph at 16:9 with the coffee-cup photograph pasted at ``x``."""
    back = to_model_frame(np.ascontiguousarray(skimage_data.astronaut()), W, H).copy()
    cup = cv2.resize(np.ascontiguousarray(skimage_data.coffee()), (150, 100), interpolation=cv2.INTER_AREA)
    back[200:300, x : x + 150] = cup
    return back


def hold_middles(n: int) -> list[int]:
    return [k * HOLD + HOLD // 2 for k in range(n)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "cup.mp4"
    with VideoWriter(path, FPS, (W, H)) as w:
        for x in PLACES:
            for _ in range(HOLD):
                w.write(scene(x))
    decoded = list(iter_video(path))  # what the source will see (after the codec)
    return path, [decoded[i] for i in hold_middles(len(PLACES))]


def edges(img: np.ndarray) -> np.ndarray:
    g = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2.0)
    return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))


def test_a_video_of_photographs_is_painted_live_into_the_recording(style_bundle, reference, clip, tmp_path):
    src_path, inputs = clip
    store = engine_store()
    store.update({"model": "styles", "size": "384", "output_size": f"{W}x{H}", "output_fps": FPS,
                  "prompt.1.text": "7", "strength": 1.0, "watchdog": False})
    stream = StyleStream(style_bundle, StyleSettings.from_values(store.snapshot().values))
    assert (stream.settings.width, stream.settings.height) == (384, 216)  # the output's 16:9, not a square
    out_path = tmp_path / "painted.mp4"
    pipe = LivePipeline(store, stream, make_source(f"file:{src_path}", loop=False, paced=True))
    pipe.add_sink(RecorderSink(out_path))
    pipe.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and pipe.snapshot_metrics().frames_out < len(PLACES) * HOLD + 5:
            time.sleep(0.2)
        assert pipe.snapshot_metrics().frames_generated > 10
    finally:
        pipe.stop()
        stream.close()
    recorded = list(iter_video(out_path))
    assert recorded and recorded[0].shape == (H, W, 3)

    painted = []
    for k, frame in enumerate(inputs):
        ref = np.asarray(reference.stylize(to_model_frame(frame, 384, 216), style=7))  # the package, same frame and size
        # the recorded frame nearest the middle of hold k (the pipeline's latency is well under a second)
        got = cv2.resize(recorded[min(len(recorded) - 1, hold_middles(len(PLACES))[k] + 3)], (384, 216), interpolation=cv2.INTER_AREA)
        painted.append(got)
        assert psnr(got, ref) >= 24.0, f"hold {k}: the recording is not the package's stylisation of its input"
        # no letterbox: the picture reaches every edge of the 16:9 output
        full = recorded[hold_middles(len(PLACES))[k]]
        assert full[:, :4].mean() > 8 and full[:, -4:].mean() > 8 and full[:4].mean() > 8 and full[-4:].mean() > 8
        # structure follows the input: edge maps correlate
        e_in, e_out = edges(to_model_frame(frame, 384, 216)), edges(got)
        assert np.corrcoef(e_in.ravel(), e_out.ravel())[0, 1] > 0.3

    # a moved object moves in the output: where hold 0 and hold 2 differ is where the cup was and went
    diff = np.abs(painted[0].astype(np.float32) - painted[2].astype(np.float32)).sum(axis=2)
    cols = diff[120:170].mean(axis=0)  # the cup's rows at 384x216 (200..300 of 360)
    scale = 384 / W
    inside = np.zeros(cols.shape, bool)
    for x in (PLACES[0], PLACES[2]):
        inside[int(x * scale) + 8 : int((x + 150) * scale) - 8] = True
    away = np.ones(cols.shape, bool)
    for x in (PLACES[0], PLACES[2]):
        away[max(0, int(x * scale) - 20) : int((x + 150) * scale) + 20] = False
    assert cols[inside].mean() > 2 * cols[away].mean(), "the painted cup did not move with the photographed one"
