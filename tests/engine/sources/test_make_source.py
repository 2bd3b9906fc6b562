"""--source specs into sources."""

import pytest

from engine.live.contracts import Source, SourceError
from engine.sources import (CameraSource, ImageSource, PatternSource, ScreenSource, VideoFileSource,
                            make_source)


@pytest.mark.parametrize("spec, cls, attrs", [
    ("pattern", PatternSource, {"static": False, "name": "pattern"}),
    ("pattern:static", PatternSource, {"static": True, "name": "pattern:static"}),
    ("camera", CameraSource, {"device": 0}),
    ("camera:2", CameraSource, {"device": 2, "name": "camera:2"}),
    ("camera:/dev/video3", CameraSource, {"device": "/dev/video3"}),
    ("file:clips/a b.mp4", VideoFileSource, {"name": "file:clips/a b.mp4"}),
    ("file:C:\\clips\\a.mp4", VideoFileSource, {"name": "file:C:\\clips\\a.mp4"}),
    ("file:still.PNG", ImageSource, {}),
    ("image:still.jpg", ImageSource, {"name": "image:still.jpg"}),
    ("screen", ScreenSource, {"region": None, "name": "screen"}),
    ("screen:2", ScreenSource, {"region": 2}),
    ("screen:-10,20,300,200", ScreenSource, {"region": (-10, 20, 300, 200), "name": "screen:-10,20,300,200"}),
    (" Pattern ", PatternSource, {}),
])
def test_specs(spec, cls, attrs):
    src = make_source(spec)
    assert type(src) is cls and isinstance(src, Source)
    for key, value in attrs.items():
        assert getattr(src, key) == value
    assert not src.is_open  # made, not opened


def test_options_go_to_the_sources_that_take_them():
    p = make_source("pattern", width=64, height=32, fps=10, loop=False)
    assert (p.width, p.height, p.fps) == (64, 32, 10)
    v = make_source("file:x.mp4", fps=60, loop=False, paced=False, width=64)
    assert (v.loop, v.paced) == (False, False)
    c = make_source("camera:1", width=1280, height=720, fps=30)
    assert (c.width, c.height, c.fps) == (1280, 720, 30)
    s = make_source("screen:1", fps=15)
    assert s.fps == 15
    assert make_source("pattern:static", static=False).static  # the spec wins


@pytest.mark.parametrize("spec, hint", [
    ("", "no source given"),
    ("   ", "no source given"),
    ("webcam", "unknown kind 'webcam'"),
    ("pattern:wobbly", "pattern:static"),
    ("camera:front", "camera:N"),
    ("file:", "give a path"),
    ("image:", "give a path"),
    ("screen:1,2,3", "LEFT,TOP,WIDTH,HEIGHT"),
    ("screen:0,0,0,100", "positive"),
    ("screen:left", "screen:MONITOR"),
])
def test_bad_specs_say_what_is_valid(spec, hint):
    with pytest.raises(SourceError) as err:
        make_source(spec)
    message = str(err.value)
    assert hint in message and "\n" not in message
