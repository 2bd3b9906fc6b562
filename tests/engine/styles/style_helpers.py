"""Helpers for the style tests (imported by its own name: a bare `conftest` import could meet another folder's)."""

from __future__ import annotations

import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is a test dependency: pip install -e '.[test]'")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
