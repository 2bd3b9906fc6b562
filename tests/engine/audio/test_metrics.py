"""The binaural quality metrics (engine/audio/metrics.py)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.metrics import binaural_metrics, l2, magnitude_distance, mean_metrics, phase_distance


def _signal(n: int = 24000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((n, 2))).astype(np.float32)


def test_identical_signals_score_zero():
    x = _signal()
    m = binaural_metrics(x, x)
    assert m == {"l2": 0.0, "mag": 0.0, "phase": 0.0}
    assert l2(x, x) == magnitude_distance(x, x) == phase_distance(x, x) == 0.0


def test_l2_is_the_mean_squared_error():
    x = _signal()
    assert l2(x + 0.01, x) == pytest.approx(1e-4, rel=1e-4)


def test_pure_delay_moves_phase_not_magnitude():
    x = _signal(seed=1)
    d = np.roll(x, 24, axis=0)  # 0.5 ms
    m = binaural_metrics(d, x)
    assert m["phase"] > 0.5
    ref_mag = binaural_metrics(np.zeros_like(x), x)["mag"]
    assert m["mag"] < 0.1 * ref_mag


def test_gain_change_moves_magnitude_not_phase():
    x = _signal(seed=2)
    m = binaural_metrics(1.5 * x, x)
    assert m["mag"] == pytest.approx(0.5 * binaural_metrics(np.zeros_like(x), x)["mag"], rel=1e-6)
    assert m["phase"] < 1e-6
    assert m["l2"] == pytest.approx(0.25 * np.mean(x.astype(np.float64) ** 2), rel=1e-5)


def test_inverted_signal_has_phase_distance_pi_and_mean_over_examples():
    x = _signal(seed=3)
    assert phase_distance(-x, x) == pytest.approx(np.pi, abs=1e-6)
    rows = [{"l2": 1.0, "mag": 2.0, "phase": 0.0}, {"l2": 3.0, "mag": 4.0, "phase": 1.0}]
    assert mean_metrics(rows) == {"l2": 2.0, "mag": 3.0, "phase": 0.5}
    with pytest.raises(ValueError):
        l2(x, x[:-1])
