"""Geometry and streaming behaviour of the Brown-Duda spherical-head renderer."""

from __future__ import annotations

import numpy as np
import pytest

import geometry as g
from engine.audio.head import SphericalHead, SphericalHeadRenderer
from engine.audio.hrir import propagation_delay_samples
from engine.audio.types import Pose

make = SphericalHeadRenderer


def test_interface():
    r = make()
    assert r.name == "head" and r.latency_samples == 0
    assert r.process(np.ones(100, np.float32), Pose(0, 1, 0)).shape == (100, 2)


def test_itd_is_woodworth():
    """The ears' delays are Woodworth's, so broadband the ITD matches within 40 us. Below
    1.5 kHz the minimum-phase head-shadow filter adds delay at the far ear (Brown & Duda
    note this low-frequency ITD growth, as real heads show): within 150 us there."""
    broad = g.itd_vs_woodworth(make, cutoff=20_000.0)
    low = g.itd_vs_woodworth(make, cutoff=1500.0)
    for (az, mb, w), (_, m, _) in zip(broad, low):
        assert abs(mb - w) <= 40e-6, (az, mb, w)
        assert abs(m - w) <= 150e-6, (az, m, w)
    itds = [m for _, m, _ in broad]
    assert abs(itds[0]) < 10e-6 and all(b > a for a, b in zip(itds, itds[1:]))
    assert all(m < -200e-6 for _, m, _ in g.itd_vs_woodworth(make, azimuths=(-30, -90)))


def test_model_delays_are_exactly_woodworth():
    head = SphericalHead()
    for az in (0, 20, 45, 70, 90):
        on = head.onsets(az, 0.0)
        assert (on[1] - on[0]) / g.FS == pytest.approx(g.woodworth_itd(az), abs=1e-9)


def test_ild_sign_and_exact_mirror_symmetry():
    for az, a, b in g.ild_mirror(make):
        assert a > 3.0 and b < -3.0
        assert abs(a + b) < 1e-6


def test_head_shadow_filter():
    """Far ear: high frequencies shadowed; near ear: boosted up to +6 dB; DC untouched."""
    head = SphericalHead()
    ir, _ = head.interpolate_aligned(90.0, 0.0)
    mag = 20 * np.log10(np.abs(np.fft.rfft(ir.astype(np.float64), 4096)))
    f = np.fft.rfftfreq(4096, 1 / g.FS)
    near, far = mag[0], mag[1]
    assert abs(near[0]) < 0.01 and abs(far[0]) < 0.01
    assert far[np.searchsorted(f, 8000)] < -10.0
    assert 4.0 < near[np.searchsorted(f, 8000)] < 6.1


def test_minus_six_db_per_doubling_of_distance():
    levels = g.level_vs_distance(make)
    assert np.all(np.abs(np.diff(levels) + 6.02) <= 0.5), np.diff(levels)


def test_causality_and_streaming():
    assert g.causality_leak(make) < 1e-9
    assert g.streaming_vs_offline(make) < 1e-5
    assert g.streaming_vs_offline(lambda: make(room=True)) < 1e-5


def test_orbit_has_no_clicks_at_block_edges():
    x = g.tone(300.0, 1.5)
    assert g.block_edge_ratio(g.orbit(make, x, 512, 360.0), 512) < 1.2
    hard = g.orbit(make, x, 512, 360.0, configure=lambda r: setattr(r, "crossfade", False))
    assert g.block_edge_ratio(hard, 512) > 3.0


def test_room_adds_energy_after_the_direct_sound():
    x = g.noise_burst(0.02, pad=0.3)
    src = Pose.from_spherical(-60, 0, 1.4)
    dry, wet = g.render(make, x, src), g.render(lambda: make(room=True), x, src)
    end = int(0.02 * g.FS) + int(propagation_delay_samples(1.4)) + 300
    assert g.energy_after(wet, end) > 0.05 * g.energy_after(wet, 0)
    assert g.energy_after(dry, end) < 1e-6 * g.energy_after(dry, 0)
