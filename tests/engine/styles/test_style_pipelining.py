"""Two frames in flight on the shared painter threads: size changes, restart, close, model swaps and the
similarity filter never show a stale or wrong-sized frame, and the painters do not multiply."""

from __future__ import annotations

import threading
import time

import numpy as np
from style_helpers import psnr

from engine.styles.stream import StyleSettings, StyleStream


def frames_of(photo, n):
    return [np.ascontiguousarray(np.roll(photo, 9 * i, axis=1)) for i in range(n)]


def test_a_size_change_in_flight_never_shows_an_old_size(style_bundle, photo):
    s = StyleStream(style_bundle, StyleSettings(width=384, height=216, prompts=(("7", 1.0),)), frames_in_flight=2)
    try:
        outs = [s.process([f]) for f in frames_of(photo, 3)]
        s.apply(StyleSettings(width=256, height=144, prompts=(("7", 1.0),)))
        outs += [s.process([f]) for f in frames_of(photo, 3)]
        shapes = [None if o is None else o[0].shape for o in outs]
        assert shapes[:3] == [None, (216, 384, 3), (216, 384, 3)]
        assert all(sh in (None, (144, 256, 3)) for sh in shapes[3:]) and shapes[-1] == (144, 256, 3)
    finally:
        s.close()


def test_restart_and_close_leave_nothing_in_flight_and_the_painters_are_shared(style_bundle, photo):
    painters = lambda: [t for t in threading.enumerate() if t.name.startswith("dreamdeck-styles")]  # noqa: E731
    streams = []
    for _ in range(5):  # five model swaps
        s = StyleStream(style_bundle, StyleSettings(width=256, height=144, prompts=(("3", 1.0),)), frames_in_flight=2)
        for f in frames_of(photo, 3):
            s.process([f])
        s.restart()
        assert not s._pending and s.process([photo]) is None  # refilling: nothing from before the restart
        s.close()
        streams.append(s)
    assert not any(x._pending for x in streams)
    assert len(painters()) <= 2  # one set of painters for the process, however many streams came and went


def test_a_new_look_shows_at_once_over_a_still_input_with_the_filter_on(style_bundle, photo):
    still = StyleSettings(width=256, height=144, prompts=(("7", 1.0),), similarity_filter=True,
                          similarity_threshold=0.5, max_skip_frame=1000)
    s = StyleStream(style_bundle, still, frames_in_flight=2)
    try:
        outs = [s.process([photo]) for _ in range(6)]
        assert s.filter.skipped >= 3  # the still input is being skipped
        first = next(o for o in outs if o is not None)[0]
        s.apply(StyleSettings(**{**still.__dict__, "prompts": (("19", 1.0),)}))
        later = []
        for _ in range(4):  # frames arrive at the camera's pace
            time.sleep(0.25)
            out = s.process([photo])
            later.append(out[0] if out else None)
        assert later[-1] is not None and psnr(later[-1], first) < 30.0  # the new style is on screen in a few frames, not 1000
    finally:
        s.close()
