"""The committed KEMAR set, its interpolation and the distance laws."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.audio.hrir import (
    CITATION, DEFAULT_FILE, MIN_DISTANCE, PRE_ROLL, REFERENCE_DISTANCE, HrirSet, convert,
    distance_gain, fractional_shift, propagation_delay_samples,
)
from engine.audio.types import SAMPLE_RATE

SOFA = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")


@pytest.fixture(scope="module")
def hset() -> HrirSet:
    return HrirSet.load_default()


def test_committed_file_is_compact_and_cites_its_source(hset):
    from safetensors import safe_open

    assert DEFAULT_FILE.stat().st_size < 3_000_000
    with safe_open(str(DEFAULT_FILE), framework="numpy") as f:
        meta = f.metadata()
    assert "Gardner" in meta["citation"] and "Martin" in meta["citation"] and meta["citation"] == CITATION
    assert "MIT_KEMAR_normal_pinna.sofa" in meta["source"]
    assert hset.sample_rate == SAMPLE_RATE == 48_000
    n = len(hset.azimuths)
    assert n == 710 and hset.elevations.shape == (n,) and hset.irs.shape[:2] == (n, 2)
    assert hset.irs.dtype == np.float32
    assert HrirSet.load_default() is hset  # cached


def test_interpolate_at_measured_direction_is_the_measurement(hset):
    for k in (0, 123, 400, 709):
        ir = hset.interpolate(hset.azimuths[k], hset.elevations[k])
        assert ir.shape == (2, hset.length) and ir.dtype == np.float32
        want = fractional_shift(hset.irs[k].astype(np.float64), hset.onsets[k], hset.length)
        assert np.max(np.abs(ir - want)) < 1e-5


@pytest.mark.skipif(not SOFA.exists(), reason="libmysofa1's KEMAR SOFA is not installed")
def test_matches_the_sofa_resampled(hset):
    """Each interpolated response is the SOFA response resampled, all with one common shift."""
    h5py = pytest.importorskip("h5py")
    from scipy.signal import resample_poly

    with h5py.File(SOFA, "r") as f:
        raw = f["Data.IR"][:]
        pos = f["SourcePosition"][:]
    shifts = []
    up = 8  # compare at 8x oversampling: the alignment shifts are fractional
    for k in (5, 100, 250, 333, 500, 650):
        ref = resample_poly(raw[k], 160, 147, axis=-1)
        ir = hset.interpolate(pos[k, 0], pos[k, 1]).astype(np.float64)
        for ear in range(2):
            r, m = resample_poly(ref[ear], up, 1), resample_poly(ir[ear], up, 1)
            c = np.correlate(r, m, mode="full")
            shifts.append((int(np.argmax(c)) - (len(m) - 1)) / up)
            corr = float(c.max() / np.sqrt((r @ r) * (m @ m)))
            assert corr > 0.995, (k, ear, corr)
    assert max(shifts) - min(shifts) <= 0.25  # interaural and inter-direction delays kept


def test_interpolation_blends_aligned_responses_without_comb_filtering(hset):
    """Halfway between 45 and 50 deg the band levels stay between the neighbours' (+-1 dB);
    blending the responses with their delays (the naive way) notches the far ear."""
    a, b = hset.interpolate(45, 0), hset.interpolate(50, 0)
    mid = hset.interpolate(47.5, 0)
    naive = 0.5 * (a + b)
    nfft = 4096
    f = np.fft.rfftfreq(nfft, 1 / SAMPLE_RATE)
    edges = 1000 * 2 ** (np.arange(0, 13) / 3)  # third octaves 1-16 kHz

    def bands(x):
        p = np.abs(np.fft.rfft(x, nfft)) ** 2
        return np.array([[10 * np.log10(p[e, (f >= lo) & (f < hi)].mean()) for lo, hi in zip(edges[:-1], edges[1:])]
                         for e in range(2)])

    la, lb, lm, ln = bands(a), bands(b), bands(mid), bands(naive)
    lo, hi = np.minimum(la, lb) - 1.0, np.maximum(la, lb) + 1.0
    assert np.all((lm >= lo) & (lm <= hi))
    assert not np.all((ln >= lo) & (ln <= hi))  # the check can fail


def test_weights_and_onsets_are_sensible_everywhere(hset):
    for az in range(-180, 180, 7):
        for el in (-90, -65, -40, -17, 0, 33, 71, 90):
            idx, w = hset.weights(az, el)
            assert np.all(w >= 0) and math.isclose(w.sum(), 1.0)
            ir, on = hset.interpolate_aligned(az, el)
            assert np.all(np.isfinite(ir)) and np.sum(ir**2) > 0.01
            if el == 0 and 10 < az < 170:
                assert on[0] < on[1]  # source left: the left ear hears it first
            if el == 0 and -170 < az < -10:
                assert on[1] < on[0]


def test_below_the_lowest_measured_ring_uses_that_ring(hset):
    idx, w = hset.weights(0.0, -90.0)
    assert np.all(hset.elevations[idx[w > 0]] == -40.0)
    down = hset.interpolate(0.0, -90.0)
    assert np.all(np.isfinite(down)) and abs(np.sum(down[0] ** 2) / np.sum(down[1] ** 2) - 1) < 0.5


def test_small_direction_change_small_filter_change(hset):
    a, b = hset.interpolate(31.0, 12.0), hset.interpolate(31.2, 12.1)
    assert np.max(np.abs(a - b)) < 0.05 * np.max(np.abs(a))


def test_distance_laws():
    assert distance_gain(REFERENCE_DISTANCE) == pytest.approx(1.0)
    assert REFERENCE_DISTANCE == 1.4
    assert distance_gain(0.7) == pytest.approx(2.0)
    assert distance_gain(5.6) == pytest.approx(0.25)
    assert distance_gain(0.01) == distance_gain(MIN_DISTANCE)  # clamped near the head
    assert propagation_delay_samples(343.0) == pytest.approx(48_000.0)
    assert propagation_delay_samples(1.4) == pytest.approx(1.4 / 343.0 * 48_000)


@pytest.mark.skipif(not SOFA.exists(), reason="libmysofa1's KEMAR SOFA is not installed")
def test_converter_reproduces_the_committed_file(tmp_path, hset):
    pytest.importorskip("h5py")
    out = convert(SOFA, tmp_path / "k.safetensors")
    again = HrirSet.load(out)
    assert np.max(np.abs(again.irs - hset.irs)) < 1e-6
    assert np.max(np.abs(again.onsets - hset.onsets)) < 1e-6
    assert np.array_equal(again.azimuths, hset.azimuths)
    assert PRE_ROLL > 0
