"""``--audio-in source``: the sound of the file on air, placed where its pictures are.

The file is real (written here with PyAV: pictures and 16-bit PCM whose every sample says where it is in
the file); the source on air is a small stand-in that holds the file's path and a media clock (the
real one is engine.sources.video_file's, checked end to end by tests/app/test_recording_sync.py)."""

from fractions import Fraction

import numpy as np
import pytest
from waiting import wait_for

from engine.audio.inputs import make_input
from engine.audio.source_sound import MAX_TRIM, RESYNC_S, SourceSoundFeed, SourceSoundInput
from engine.sources.video_file import MediaClock

RATE, PERIOD, BLOCK = 48_000, 4800, 2048


def write_clip(path, seconds):
    """A .mov of black frames whose sound is a sawtooth: sample i holds i mod PERIOD (so a block says where it is)."""
    import av

    n = int(seconds * RATE)
    saw = ((np.arange(n) % PERIOD) / PERIOD - 0.5).astype(np.float32)
    with av.open(str(path), "w") as c:
        v = c.add_stream("mjpeg", rate=30)
        v.width, v.height, v.pix_fmt = 32, 24, "yuvj420p"
        a = c.add_stream("pcm_s16le", rate=RATE, layout="stereo")
        for k in range(int(seconds * 30)):
            f = av.VideoFrame.from_ndarray(np.zeros((24, 32, 3), np.uint8), format="rgb24")
            f.pts, f.time_base = k, Fraction(1, 30)
            c.mux(v.encode(f))
        c.mux(v.encode())
        for i in range(0, n, 1024):
            x = np.repeat(saw[i:i + 1024], 2)  # interleaved: left, right, left, ...
            f = av.AudioFrame.from_ndarray((x * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="stereo")
            f.sample_rate, f.pts = RATE, i
            c.mux(a.encode(f))
        c.mux(a.encode())
    return path


def where(x):
    """The place (mod PERIOD) of each sample of a sawtooth block (its left channel: FFmpeg's mono downmix scales)."""
    x = np.asarray(x)
    return np.rint(((x[..., 0] if x.ndim == 2 else x) + 0.5) * PERIOD).astype(int) % PERIOD


class OnAir:
    """Stands for the file source on air: its path, whether it has sound, whether it loops, its media clock."""

    def __init__(self, path, origin=100.0, loop=False, length=0.0, has_audio=True):
        self.path, self.has_audio, self.loop = path, has_audio, loop
        self.clock = MediaClock(origin, 0, length)

    def media_clock(self):
        return self.clock


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "saw.mov", 2.05)


def loaded(inp, heard):
    """Read at ``heard`` until the file's sound has loaded; the input then starts afresh (no cursor, no resyncs)."""
    inp.heard_at = heard
    x = wait_for(lambda: (x := inp.read(BLOCK)).any() and [x], what="the file's sound to load")[0]
    inp.open()
    inp.resyncs = 0
    return x


def test_the_sound_starts_where_the_pictures_are(clip):
    src = OnAir(clip)
    inp = make_input("source")
    assert isinstance(inp, SourceSoundInput) and inp.read(BLOCK).shape == (BLOCK,)  # mono, silent until bound
    inp.bind(lambda: src, lambda: 0.05)
    stereo = SourceSoundInput(lambda: src, lambda: 0.05, channels=2)
    try:
        assert loaded(inp, 100.3).shape == (BLOCK,) and "saw.mov" in inp.label
        x = loaded(stereo, 100.0 + 0.05 + 0.5)  # heard 0.5 s after media 0 was captured, plus the pipeline's 50 ms
        assert where(x)[0] == round(0.5 * RATE) % PERIOD
        stereo.heard_at = 100.0 + 0.05 + 0.5
        stereo.read(BLOCK)
        stereo.heard_at = 100.0 + 0.05 + 0.5 + 0.0123  # 30 ms before where the block before ended
        x = stereo.read(BLOCK)
        assert x.shape == (BLOCK, 2)
        assert where(x)[0] == round(0.5123 * RATE) % PERIOD  # to the sample: a jump back to the pictures
        assert stereo.resyncs == 1
    finally:
        inp.close()
        stereo.close()


def test_it_follows_the_file_sample_by_sample_and_jumps_only_when_far_off(clip):
    src = OnAir(clip)
    inp = SourceSoundInput(lambda: src, lambda: 0.0, channels=2)
    rng = np.random.default_rng(0)
    try:
        loaded(inp, 100.2)
        inp.heard_at = 100.2
        out = [inp.read(BLOCK)]
        for k in range(1, 15):  # heard times jitter (as the render thread's heard clock does): an exact copy
            inp.heard_at = 100.2 + k * BLOCK / RATE + rng.uniform(-0.0004, 0.0004)
            out.append(inp.read(BLOCK))
        places = where(np.concatenate(out))
        assert np.all(np.diff(places) % PERIOD == 1)
        assert inp.resyncs == 0 and inp.speed == 1.0
        # the pictures stalled: their clock moved 40 ms later; the sound jumps to them at once
        src.clock = MediaClock(100.04, 0, 0.0)
        inp.heard_at = 100.2 + 15 * BLOCK / RATE
        x = inp.read(BLOCK)
        assert inp.resyncs == 1 and abs(inp.offset_s + 0.040) < 0.001
        assert where(x)[0] == round((inp.heard_at - 100.04) * RATE) % PERIOD
        assert RESYNC_S < 0.040
    finally:
        inp.close()


def test_a_small_error_is_worked_off_by_playing_a_little_faster(tmp_path):
    """An underrun made the sound 10 ms late: no jump (a click), the sound catches up at 0.5 % in about 2 s."""
    src = OnAir(write_clip(tmp_path / "long.mov", 4.0))
    inp = SourceSoundInput(lambda: src, lambda: 0.0, channels=2)
    try:
        loaded(inp, 100.1)
        heard = 100.1
        out, offsets = [], []
        for k in range(80):
            inp.heard_at = heard + (0.010 if k >= 2 else 0.0)  # from block 2 on, heard 10 ms later
            out.append(inp.read(BLOCK))
            offsets.append(inp.offset_s)
            heard += BLOCK / RATE
        # samples of the file per sample played, block by block (a median: interpolating across the sawtooth's
        # own jump makes one odd sample)
        w = where(np.concatenate(out))
        step = ((w[400:] - w[:-400]) % PERIOD) / 400
        speeds = np.array([np.median(step[i:i + BLOCK - 400]) for i in range(0, len(step) - BLOCK, BLOCK)])
        print(f"offsets (ms): {np.round(np.array(offsets) * 1000, 1)}; speeds {np.round(speeds, 4)}")
        assert inp.resyncs == 0
        assert offsets[2] == pytest.approx(0.010, abs=2e-4) and abs(offsets[-1]) < 0.001
        assert np.all(speeds > 1.0 - 1e-4) and np.all(speeds < 1.0 + MAX_TRIM + 1e-4)  # at most 0.5 % faster
        assert speeds[5:30].mean() > 1.0 + MAX_TRIM / 2  # and it did speed up
    finally:
        inp.close()


def test_a_loop_wraps_without_a_jump(clip):
    length = 2.05  # 20.5 periods of the sawtooth: the wrap shows as a jump in its phase
    src = OnAir(clip, loop=True, length=length)
    inp = SourceSoundInput(lambda: src, lambda: 0.0, channels=2)
    try:
        start = 100.0 + length - 0.2
        loaded(inp, start)
        inp.heard_at = start
        out = []
        for k in range(10):  # across the end of the pass (the clock still says pass 0: the next pass follows)
            inp.heard_at = start + k * BLOCK / RATE
            out.append(inp.read(BLOCK))
        x = np.concatenate(out)
        n = round(length * RATE)
        media = (round((length - 0.2) * RATE) + np.arange(len(x))) % n
        wrong = np.nonzero(where(x) != media % PERIOD)[0]
        assert np.all(media[wrong] == n - 1)  # (the reader gives the 2.05 s of PCM one sample short: silence there)
        assert inp.resyncs == 0
    finally:
        inp.close()


def test_silence_without_a_file_with_sound_and_the_next_file_followed(clip, tmp_path):
    other = write_clip(tmp_path / "other.mov", 1.0)
    on_air = [None]
    inp = SourceSoundInput(lambda: on_air[0], lambda: None, channels=2)
    try:
        inp.heard_at = 100.3
        assert not inp.read(BLOCK).any()  # nothing on air
        on_air[0] = OnAir(clip, has_audio=False)
        assert not inp.read(BLOCK).any()  # a file without sound
        on_air[0] = OnAir(clip)
        x = loaded(inp, 100.3)
        assert x.shape == (BLOCK, 2)
        on_air[0] = OnAir(other)
        inp.heard_at = 100.5
        assert not inp.read(BLOCK).any()  # the next file's sound loads (silence meanwhile, never a wait)...
        loaded(inp, 100.5)
        assert "other.mov" in inp.label  # ...and is followed
    finally:
        inp.close()


def test_the_files_own_sound_for_a_recording_is_made_up_to_the_pictures_time(clip):
    src = OnAir(clip)
    feed = SourceSoundFeed(lambda: src, lambda: 0.0)
    try:
        assert feed.start()
        assert feed.pull(100.1) == []  # the first pull only starts the clock
        t = [100.1]

        def pulled():
            t[0] += 0.01
            return feed.pull(t[0])[0][1].any()

        wait_for(pulled, what="the sound to load")
        feed.restart()
        feed.pull(100.2)
        (stamp, x), = feed.pull(100.3)
        assert stamp == pytest.approx(100.2) and x.shape == (round(0.1 * RATE), 2)
        assert where(x)[0] == round(0.2 * RATE) % PERIOD
    finally:
        feed.stop()
