import threading

import numpy as np
import pytest

from engine.audio.ring import RingBuffer


def test_write_read_wraps_around_and_zero_fills_what_is_missing():
    r = RingBuffer(8, channels=2)
    a = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert r.write(a) == 6 and r.fill == 6 and r.free == 2
    out = np.full((4, 2), 9.0, np.float32)
    assert r.read_into(out) == 4
    np.testing.assert_array_equal(out, a[:4])
    b = np.arange(100, 112, dtype=np.float32).reshape(6, 2)
    assert r.write(b) == 6  # wraps past the end of the array
    assert r.write(b) == 0  # full: nothing more fits
    out = np.full((10, 2), 9.0, np.float32)
    assert r.read_into(out) == 8
    np.testing.assert_array_equal(out[:2], a[4:])
    np.testing.assert_array_equal(out[2:8], b)
    np.testing.assert_array_equal(out[8:], 0)  # underrun: silence
    assert r.fill == 0


def test_partial_write_when_nearly_full_and_mono_input():
    r = RingBuffer(5, channels=1)
    assert r.write(np.ones(3, np.float32)) == 3
    assert r.write(np.full(4, 2.0, np.float32)) == 2
    np.testing.assert_array_equal(r.read(10)[:, 0], [1, 1, 1, 2, 2])
    assert r.discard() == 0


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_one_producer_one_consumer_lose_and_reorder_nothing():
    r = RingBuffer(1000, channels=2)
    total = 50_000
    got = []

    def produce():
        i = 0
        while i < total:
            n = min(137, total - i)
            block = np.repeat(np.arange(i, i + n, dtype=np.float64)[:, None], 2, axis=1)
            w = r.write(block)
            i += w

    def consume():
        out = np.empty((61, 2), np.float64)
        seen = 0
        while seen < total:
            n = r.read_into(out)
            if n:
                got.append(out[:n, 0].copy())
                seen += n

    r = RingBuffer(1000, channels=2, dtype=np.float64)
    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    seq = np.concatenate(got)
    np.testing.assert_array_equal(seq, np.arange(total))
