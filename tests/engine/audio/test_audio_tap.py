"""What the audio engine plays, stamped with when it is heard, handed to a recorder's thread (engine.audio.tap)."""

import threading
import time

import numpy as np
from audio_engine_helpers import pan_factory
from waiting import wait_for

from engine.audio.live import AudioEngine
from engine.audio.tap import AudioTap, HeardClock
from engine.audio.types import SAMPLE_RATE


def test_every_sample_and_stamp_crosses_between_two_threads_in_order():
    tap = AudioTap(seconds=0.2)
    n_blocks, block = 3000, 256
    got, stop = [], threading.Event()

    def reader():
        rng = np.random.default_rng(1)
        while not stop.is_set() or tap.ring.fill:
            got.extend(tap.pull())
            time.sleep(rng.uniform(0, 0.002))

    t = threading.Thread(target=reader)
    t.start()
    ramp = np.arange(n_blocks * block, dtype=np.float32)
    for j in range(n_blocks):
        while tap.ring.free < block:  # this test's writer waits; the render thread never does (see below)
            time.sleep(0.0005)
        x = ramp[j * block:(j + 1) * block]
        tap.push(np.stack([x, -x], 1), heard_at=10.0 + j)
    stop.set()
    t.join()
    assert tap.dropped == 0 and tap.pushed == len(ramp)
    assert [s for s, _ in got] == [10.0 + j for j in range(n_blocks)]
    samples = np.concatenate([x for _, x in got])
    np.testing.assert_array_equal(samples[:, 0], ramp)
    np.testing.assert_array_equal(samples[:, 1], -ramp)


def test_a_reader_that_falls_behind_loses_whole_blocks_and_sees_the_gap():
    tap = AudioTap(seconds=1024 / SAMPLE_RATE)
    for j in range(6):
        tap.push(np.full((256, 2), j, np.float32), heard_at=j * 256 / SAMPLE_RATE)
    assert tap.dropped == 2 * 256  # the two blocks that found no room: gone whole, the writer never waited
    chunks = tap.pull()
    assert [int(x[0, 0]) for _, x in chunks] == [0, 1, 2, 3]
    tap.push(np.full((256, 2), 6, np.float32), heard_at=6 * 256 / SAMPLE_RATE)
    (stamp, x), = tap.pull()
    assert stamp == 6 * 256 / SAMPLE_RATE and x[0, 0] == 6  # its stamp says where it belongs: after a gap


def simulated_device(clock, seconds, period=0.010, jitter=0.004, drift=1e-4, stall=(10.0, 0.3), seed=0):
    """A sound card whose callback takes ``period`` of samples at a time (its calls late by up to ``jitter``; its
    clock ``drift`` slow of the system's; silent for ``stall`` = (at, seconds), after which it plays on from where
    it was) and a render thread writing 2048-sample blocks whenever the fill drops under 2400.

    Returns the true heard times of the blocks' first samples and the clock's stamps for them."""
    rng = np.random.default_rng(seed)
    block, target, latency, take = 2048, 2400, 0.02, int(period * SAMPLE_RATE)
    due = []  # the time each callback k was due: sample k * take + j is heard at due[k] + latency + j / rate
    written = taken = 0
    starts, stamped = [], []
    shift, fires_at, t = 0.0, 0.0, 0.0
    while t < seconds:
        if t >= fires_at:
            k = len(due)
            nominal = k * period * (1 + drift) + shift
            if stall[0] <= nominal < stall[0] + stall[1]:
                shift += stall[0] + stall[1] - nominal  # the device stops; it goes on where it stopped
                nominal = k * period * (1 + drift) + shift
            if t >= nominal:
                due.append(nominal)
                taken = min(written, taken + take)
            k = len(due)
            nominal = k * period * (1 + drift) + shift
            fires_at = nominal + rng.uniform(0, jitter) * (rng.random() < 0.3)
        fill = written - taken
        if fill < target:
            starts.append(written)
            stamped.append(clock.block(t, fill, latency, block))
            written += block
        t += 0.0005
    while len(due) * take <= written:  # the schedule on for the samples written last
        due.append(len(due) * period * (1 + drift) + shift)
    true = [due[i // take] + latency + (i % take) / SAMPLE_RATE for i in starts]
    return np.asarray(true), np.asarray(stamped)


def test_the_heard_clock_smooths_the_gulps_follows_drift_and_snaps_after_a_stall():
    clock = HeardClock()
    true, stamped = simulated_device(clock, 30.0)
    raw = HeardClock(gain=1.0, snap_s=0.0)
    _, measured = simulated_device(raw, 30.0)
    err, raw_err = stamped - true, measured - true
    stall = int(np.searchsorted(true, 10.0))
    steady = np.r_[40:stall - 2, stall + 40:len(err)]  # after the start and the stall have settled
    print(f"heard clock: error {np.abs(err[steady]).max() * 1000:.2f} ms at most, sd {err[steady].std() * 1000:.2f} ms "
          f"(raw measurement: {np.abs(raw_err[steady]).max() * 1000:.2f}, sd {raw_err[steady].std() * 1000:.2f} ms), "
          f"snaps {clock.snaps}")
    assert err[steady].std() < raw_err[steady].std() / 2  # much steadier than the measurement it follows
    assert np.abs(err[steady] - err[steady].mean()).max() < 0.004
    assert abs(err[steady].mean() - raw_err[steady].mean()) < 0.002  # no bias of its own
    assert np.abs(err[stall + 40:]).max() < 0.015  # it caught up with the 300 ms the stall put in
    assert 2 <= clock.snaps <= 3  # the first block, after the stall (perhaps one more while it restarts)


def test_the_engine_taps_what_it_plays_stamped_when_it_is_heard(pulse, tmp_path):
    from engine.audio.inputs import ArrayInput

    clicks = np.zeros(SAMPLE_RATE, np.float32)
    clicks[::4800] = 0.8  # ten clicks a second
    eng = AudioEngine(None, ArrayInput(clicks), "dd_out", renderer_factory=pan_factory())
    rec = pulse.record(str(tmp_path / "monitor.raw"))
    eng.start()
    pulled = []
    try:
        wait_for(lambda: eng.monitor.callbacks > 5, what="PortAudio callbacks")
        tap = eng.open_tap()
        assert eng.loop.output_latency > 0  # PortAudio reported the stream's latency
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            got = tap.pull()
            pulled += [(time.monotonic(), s, x) for s, x in got]
            time.sleep(0.02)
        eng.close_tap(tap)
        time.sleep(0.2)
        tap.pull()
        pushed = tap.pushed
        time.sleep(0.2)
        assert tap.pushed == pushed and not tap.pull()  # closed: nothing more goes in
    finally:
        eng.stop()
        y = rec.stop()
    stamps = np.asarray([s for _, s, _ in pulled])
    ahead = np.asarray([s - t for t, s, _ in pulled])
    print(f"tap: {len(stamps)} blocks, heard {ahead.min() * 1000:.0f}..{ahead.max() * 1000:.0f} ms after they were pulled, "
          f"latency {eng.loop.output_latency * 1000:.0f} ms, snaps {eng.loop.clock.snaps}")
    assert np.all(ahead > -0.05) and np.all(ahead < 0.5)  # heard soon after they are rendered, never long before
    steps = np.diff(stamps) - eng.settings.block / SAMPLE_RATE
    assert np.median(np.abs(steps)) < 0.001  # consecutive blocks one block apart
    tapped = np.concatenate([x for _, _, x in pulled])
    # what the tap got is what went out: find its first second in the monitor recording
    from scipy.signal import fftconvolve

    probe = tapped[:SAMPLE_RATE, 0]
    xc = fftconvolve(y[:, 0], probe[::-1], mode="valid")
    lag = int(np.argmax(xc))
    np.testing.assert_allclose(y[lag:lag + len(probe), 0], probe, atol=1e-4)
