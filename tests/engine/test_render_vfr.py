"""A variable-frame-rate video renders onto a constant-rate grid by each frame's own time, so the sound (which keeps
its own times) stays with the pictures: flashes and clicks still line up within one frame."""

from collections import deque
import numpy as np

from av_marks import measure, write_flash_clip
from engine.media.files import probe
from engine.media.reader import iter_frames
from engine.render import write_render

RATE = 48_000
FLASHES = (1.0, 3.0, 5.0, 7.0)


def _vfr_clip(path):
    """4 s at 10 fps then 4 s at 30 fps (a phone's video), a white flash and a click at 1, 3, 5 and 7 s."""
    times = [i / 10 for i in range(40)] + [4 + i / 30 for i in range(120)]
    sound = np.zeros((8 * RATE, 2), np.float32)
    for t in FLASHES:
        sound[int(t * RATE):int(t * RATE) + 480] = 0.6
    flashes = {k for k, t in enumerate(times) if any(abs(t - f) < 1e-6 for f in FLASHES)}
    write_flash_clip(path, times, flashes, sound)

def test_a_variable_rate_render_keeps_its_flashes_on_their_clicks(tmp_path):
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    _vfr_clip(src)
    info = probe(src)
    times: deque[float] = deque()

    def frames():
        for vf in iter_frames(src):
            times.append(vf.t)
            yield vf.rgb

    result = write_render(frames(), info, src, dst, times=times)
    report = measure(dst)
    assert len(report.offsets_ms) == len(FLASHES), report.offsets_ms
    assert max(abs(x) for x in report.offsets_ms) < 1000 / info.fps, report.offsets_ms
    out = probe(dst)
    assert abs(out.duration_s - 8.0) < 2 / info.fps and result.frames == out.frame_count
