"""Make a binaural renderer by its registry name, falling back to one that works.

``flow`` needs trained weights; when they are missing or corrupt (or the model
cannot load for any other reason) the HRTF renderer stands in and the message
says why. ``hrtf`` needs the committed KEMAR filter set; without it the
spherical-head model (no data needed) stands in. Renderer modules are imported
only when asked for, so the flow model's torch import costs nothing until used.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from ..params.catalog import AUDIO_RENDERERS
from .types import BinauralRenderer

FALLBACK = {"flow": "hrtf", "hrtf": "head"}


class RendererUnavailable(RuntimeError):
    """No renderer could be made; the message says why."""


@dataclass
class RendererChoice:
    renderer: BinauralRenderer
    requested: str
    used: str
    message: str | None = None  # why ``used`` is not ``requested``


def _construct(cls, **kw) -> BinauralRenderer:
    """Call ``cls`` with the keyword arguments it accepts (room=, weights=, ...)."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return cls(**kw)
    return cls(**{k: v for k, v in kw.items() if k in params})


def _make_exact(name: str, **kw) -> BinauralRenderer:
    if name == "hrtf":
        from .hrtf import HrtfRenderer

        return _construct(HrtfRenderer, **kw)
    if name == "head":
        from .head import SphericalHeadRenderer

        return _construct(SphericalHeadRenderer, **kw)
    if name == "flow":
        from .flow import FlowRenderer

        return _construct(FlowRenderer, **kw)
    raise RendererUnavailable(f"there is no renderer named {name!r}; choose one of {', '.join(AUDIO_RENDERERS)}")


def make_renderer(name: str, **kw) -> RendererChoice:
    """The renderer ``name`` (keyword arguments such as ``room=True`` go to its constructor), or its fallback."""
    if name not in AUDIO_RENDERERS:
        raise RendererUnavailable(f"there is no renderer named {name!r}; choose one of {', '.join(AUDIO_RENDERERS)}")
    reasons = []
    current = name
    while True:
        try:
            r = _make_exact(current, **kw)
        except Exception as e:  # missing weights, corrupt file, missing module: try the fallback
            reasons.append(f"the {current} renderer is unavailable ({type(e).__name__}: {e})")
            nxt = FALLBACK.get(current)
            if nxt is None:
                raise RendererUnavailable("; ".join(reasons)) from None
            current = nxt
            continue
        msg = None
        if current != name:
            msg = "; ".join(reasons) + f"; using the {current} renderer instead"
        return RendererChoice(r, name, current, msg)
