"""The show recorder's sound: placed by its stamps beside the pictures, kept in sync through drift and
jitter, continuous when the sound stops; a full disk ends the recording once and leaves it playable.

The sound comes through a real AudioTap, filled here as the audio render thread fills it (blocks stamped
with the time they are heard, running ahead of the pictures); files are written by the real MediaWriter
and read back with PyAV and ffprobe."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pytest
from av_marks import click_times, flash_times, measure
from system_deps import skip_unless_required
from waiting import wait_for

from engine.audio.tap import AudioTap
from engine.live.contracts import SinkFinished, now
from engine.live.live_metrics import LiveMetrics
from engine.live.sink_runner import SinkRunner
from engine.sinks.preview import PreviewSink
from engine.sinks.recorder import SYNC_TOLERANCE_S, RecorderSink

FPS, RATE, BLOCK = 30, 48_000, 2048
W, H = 64, 48
BLACK = np.zeros((H, W, 3), np.uint8)
WHITE = np.full((H, W, 3), 255, np.uint8)


class TapFeed:
    """The recorder's AudioFeed over a bare AudioTap (the session's is app.session.show_sound)."""

    def __init__(self, sound=True):
        self.tap, self.sound, self.stopped = AudioTap(seconds=5.0), sound, False

    def start(self):
        return self.sound

    def pull(self, until):
        return self.tap.pull()

    def stop(self):
        self.stopped = True


class SoundCard:
    """Blocks of sound with a click at given system-clock times, stamped as the render thread stamps them: the card's
    clock runs ``drift`` fast of the system clock, each stamp off by up to ``jitter_s``."""

    def __init__(self, clicks, start, drift=0.0, jitter_s=0.0, seed=1):
        self.clicks, self.start, self.drift, self.jitter = np.asarray(clicks), start, drift, jitter_s
        self.rng = np.random.default_rng(seed)
        self.j = 0
        self.burst = (0.6 * np.random.default_rng(2).uniform(-1, 1, 480)).astype(np.float32)

    def heard(self, j):  # the true heard time of block j's first sample
        return self.start + j * BLOCK / (RATE * (1 + self.drift))

    def next_block(self):
        t0 = self.heard(self.j)
        x = np.zeros((BLOCK + len(self.burst), 2), np.float32)
        for c in self.clicks[(self.clicks >= t0 - 0.02) & (self.clicks < self.heard(self.j + 1))]:
            i = int(round((c - t0) * RATE * (1 + self.drift)))
            if i >= 0:
                x[i:i + len(self.burst)] += self.burst[:, None]
        stamp = t0 + self.rng.uniform(-self.jitter, self.jitter)
        self.j += 1
        return x[:BLOCK], stamp


def record(path, seconds, flashes, feed, card=None, silent=(), t_start=1000.0):
    """Frames at FPS with flashes at the given frame numbers, the card's sound kept 0.1 s ahead of them; the sound
    is left out during ``silent`` (start, end) seconds, as when the audio engine stops."""
    rec = RecorderSink(path, audio_feed=feed)
    rec.open(W, H, FPS)
    rng = np.random.default_rng(0)
    for k in range(int(seconds * FPS)):
        t = t_start + k / FPS + rng.uniform(-0.002, 0.002)
        while card is not None and card.heard(card.j) < t + 0.1:
            block, stamp = card.next_block()
            if not any(a <= stamp - t_start < b for a, b in silent):
                feed.tap.push(block, stamp)
        rec.send(WHITE if k in flashes else BLACK, t)
    rec.close()
    return rec


def ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def test_clicks_land_on_their_flashes_through_drift_and_jitter(tmp_path):
    """30 s with a sound card 0.2 % fast of the system clock (60 ms by the end) and stamps jittering by 3 ms:
    the sound is moved back onto its stamps whenever it is more than 10 ms off, so it never drifts away."""
    flashes = set(range(20, 30 * FPS, 23))
    start = 1000.0
    card = SoundCard([start + k / FPS for k in flashes], start, drift=0.002, jitter_s=0.003)
    rec = record(tmp_path / "drift.mp4", 30, flashes, TapFeed(), card, t_start=start)
    report = measure(tmp_path / "drift.mp4")
    print("drift 0.2 %:", report.line(), f"corrections {rec.track.corrections}, left out {rec.track.left_out} samples")
    assert len(report.offsets_ms) == len(flashes) == report.clicks
    tolerance_ms = SYNC_TOLERANCE_S * 1000
    assert report.max_abs_ms < tolerance_ms + 4  # the tolerance, the stamps' jitter and a little
    assert rec.track.corrections >= 4 and rec.track.left_out > 0  # the fast card's extra samples were left out
    info = ffprobe(tmp_path / "drift.mp4")
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert int(streams["audio"]["sample_rate"]) == RATE and int(streams["audio"]["channels"]) == 2
    assert abs(report.audio_end - report.video_end) < 1024 / RATE  # the sound ends with the pictures (AAC frames)


def test_the_track_goes_on_in_silence_while_the_sound_stops_and_picks_up_again(tmp_path):
    flashes = set(range(15, 10 * FPS, 20))
    start = 50.0
    card = SoundCard([start + k / FPS for k in flashes], start)
    feed = TapFeed()
    rec = record(tmp_path / "gap.mp4", 10, flashes, feed, card, silent=[(3.0, 6.0)], t_start=start)
    assert feed.stopped
    report = measure(tmp_path / "gap.mp4")
    clicks, _ = click_times(tmp_path / "gap.mp4")
    print("3 s without sound:", report.line())
    assert not any(3.05 < c < 5.95 for c in clicks)  # silence while the sound was away
    assert sum(1 for c in clicks if c > 6.0) >= 5  # and the clicks after it...
    assert report.max_abs_ms < 2.0  # ...on their flashes (after silence the sound is placed exactly)
    assert abs(report.audio_end - report.video_end) < 1024 / RATE and rec.track.silence >= 2.9 * RATE


def test_a_recording_without_sound_has_no_sound_track(tmp_path):
    flashes = {10}
    record(tmp_path / "quiet.mp4", 1, flashes, TapFeed(sound=False))
    record(tmp_path / "none.mp4", 1, flashes, None)
    for name in ("quiet.mp4", "none.mp4"):
        assert [s["codec_type"] for s in ffprobe(tmp_path / name)["streams"]] == ["video"]
    assert flash_times(tmp_path / "quiet.mp4")[1] == FPS


def test_the_recorder_thread_never_holds_up_the_output(tmp_path):
    """Encoding runs on the recorder's thread: offering a frame never waits for it (H.264 of noise at 1080p is
    about as slow as the output's frame time on this CPU: frames are dropped in the slot), and the file still holds
    real time (gaps filled with the last picture)."""
    metrics = LiveMetrics()
    rec = RecorderSink(tmp_path / "slow.mp4")
    runner = SinkRunner(rec, 1920, 1080, FPS, metrics)
    runner.start()
    frame = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), np.uint8)
    waits = []
    try:
        wait_for(lambda: metrics.sinks.get(rec.name) == "ok", what="the recorder to open")
        t0 = now()
        for k in range(2 * FPS):
            due = t0 + k / FPS
            time.sleep(max(0.0, due - now()))
            a = time.perf_counter()
            runner.offer(frame, now())
            waits.append(time.perf_counter() - a)
        # the last frame offered is taken once the recorder is free; the gap before it is filled
        wait_for(lambda: rec.frames >= 2 * FPS - 1, timeout=60, what=lambda: f"the recorder to catch up: {rec.frames}")
    finally:
        runner.stop(timeout=10.0)
    print(f"offer: max {max(waits) * 1000:.2f} ms; recorder took {runner.sent} of {2 * FPS}, dropped {runner.dropped}")
    assert max(waits) < 0.005
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                        str(tmp_path / "slow.mp4")], capture_output=True, text=True, check=True)
    assert abs(int(r.stdout) - 2 * FPS) <= 3


@pytest.fixture
def small_disk():
    """A 2 MB tmpfs: a disk that fills up for real."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        skip_unless_required("the full-disk test mounts a 2 MB tmpfs: run it as root (in a container or CI)")
    folder = tempfile.mkdtemp(prefix="dd-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", folder], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(folder)
        skip_unless_required(f"cannot mount a tmpfs here ({r.stderr.strip()}): the full-disk test needs that right")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", folder], check=False)
        os.rmdir(folder)


def test_a_full_disk_ends_the_recording_once_keeps_it_playable_and_the_show_goes_on(small_disk):
    from pathlib import Path

    metrics = LiveMetrics()
    feed = TapFeed()
    rec = RecorderSink(Path(small_disk) / "show.mp4", audio_feed=feed)
    runners = [SinkRunner(rec, 160, 120, FPS, metrics, retry_s=0.2), SinkRunner(PreviewSink(), 160, 120, FPS, metrics)]
    preview = runners[1].sink
    for r in runners:
        r.start()
    rng = np.random.default_rng(0)
    card = SoundCard([], now())
    try:
        wait_for(lambda: metrics.sinks.get(rec.name) == "ok", what="the recorder to open")
        k, t0 = 0, now()
        while runners[0].finished is None:  # noise: about 1 MB a second of H.264
            assert k < 30 * FPS, "2 MB should have filled up by now"
            while card.heard(card.j) < now() + 0.1:
                feed.tap.push(*card.next_block())
            time.sleep(max(0.0, t0 + k / FPS - now()))
            for r in runners:
                r.offer(rng.integers(0, 255, (120, 160, 3), np.uint8), now())
            k += 1
        seen = preview.count
        for _ in range(20):  # the show goes on: the other sink keeps getting frames
            time.sleep(1 / FPS)
            for r in runners:
                r.offer(BLACK, now())
        wait_for(lambda: preview.count > seen + 10, what="frames into the preview after the disk filled")
        time.sleep(3 * runners[0].retry_s)  # a retry would have reopened (and overwritten) the file by now
        status = metrics.sinks[rec.name]
        faults = [f for f in metrics.snapshot().faults if rec.name in f]
    finally:
        for r in runners:
            r.stop()
    print(status)
    assert status.startswith("finished: recording stopped: the disk is full") and "\n" not in status
    assert "show.mp4 keeps the" in status
    assert len(faults) == 1 and runners[0].failures == 0  # said once; never reopened
    assert sorted(os.listdir(small_disk)) == ["show.mp4"]  # the partial name is gone, the recording is there
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames",
                        "-of", "json", os.path.join(small_disk, "show.mp4")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    counts = {s["codec_type"]: int(s["nb_read_frames"]) for s in json.loads(r.stdout)["streams"]}
    print(f"kept: {counts}, {rec.frames} frames written before the disk filled")
    assert counts["video"] >= FPS and counts["audio"] > 0  # at least one whole fragment of each
    assert not r.stderr.strip()
    assert feed.stopped
