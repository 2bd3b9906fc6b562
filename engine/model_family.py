"""One door for every model family: load by name, build the live stage for what loaded.

``styles`` is the built-in style network (:mod:`engine.styles`); every other name is a
diffusion model (:mod:`engine.diffusion.model_loader`: ``tiny``, a Hugging Face id, a
folder, a ``.safetensors`` file).  The model host, ``render``, ``demo`` and the benches load
through :func:`load_any` and build through :func:`make_stage`, so a family is wired once.
"""

from __future__ import annotations

from typing import Any, Mapping

from .styles import STYLES_MODEL


def is_styles(name: str) -> bool:
    return name.strip().lower() == STYLES_MODEL


def load_any(name: str, progress=None, cancel=None, warn=None, **options) -> Any:
    """The bundle for ``name`` (ModelLoadError, one line, when it cannot be loaded)."""
    if is_styles(name):
        from .styles.loader import load_styles

        return load_styles(progress=progress, cancel=cancel, warn=warn)
    from .diffusion.model_loader import load_model

    return load_model(name, progress=progress, cancel=cancel, warn=warn, **options)


def make_stage(bundle: Any, values: Mapping, t_index_list=None, frame_aspect: tuple[int, int] | None = None):
    """The live stage for a loaded bundle with the registry's ``values`` now (ValueError: what they cannot take)."""
    from .styles.loader import StyleBundle

    if isinstance(bundle, StyleBundle):
        from .styles.stream import StyleSettings, StyleStream

        return StyleStream(bundle, StyleSettings.from_values(values, frame_aspect=frame_aspect))
    from .diffusion.stream import DiffusionStream, StreamSettings

    overrides = {"t_index_list": t_index_list} if t_index_list else {}
    return DiffusionStream(bundle, StreamSettings.from_values(values, **overrides))


def frame_for(values: Mapping) -> tuple[int, int]:
    """(width, height) the model named in ``values`` paints for its ``size`` and ``output_size`` (ValueError: not a size
    this family takes)."""
    if is_styles(values["model"]):
        from .styles.stream import StyleSettings

        return StyleSettings.from_values(values).frame
    from .diffusion.stream import StreamSettings

    return StreamSettings.from_values(values).frame
