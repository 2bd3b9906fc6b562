"""What a look is, and the cue: the next look, edited off-air and taken with the preset crossfade.

A *look* is what "save the current look" captures (:func:`captured_values`): every parameter but
triggers, the show's own settings (tempo, presets), the output set-up and the safety controls (a
preset saved during a blackout must not black out the show when recalled).

The :class:`Cue` is the preview half of a preview/program pair.  It holds a shadow
:class:`ParamStore` with the program's declarations (so every control the console makes for the
program it can make for the cue) whose values nothing reads but the cue's own surfaces: editing
it never touches the output.

* It starts as the program's look (:meth:`Cue.reset`, also the ``cue_reset`` action).
* :meth:`Cue.load` lays a preset's values over it, the way a recall lays them over the program
  (a partial preset changes only what it names).
* :meth:`Cue.take` recalls the cue's values through the show's recaller, exactly like a preset
  recall (preset_fade_time, preset_quantize, latency_compensation).  The cue then *keeps* its
  values: they are the look the program is fading to, so the next cue is built on the new
  program (``cue_reset`` copies the program as it is, e.g. after hands moved it during the fade).

The cue covers the look's parameters that apply live (:func:`cue_names`); reload-level ones
(model, size, steps, ...) and the acceleration back end are the engine's set-up: a take never
writes them, so a model loaded since the cue was set is never quietly reverted in the registry.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

from engine.params.registry import Apply, Kind, Param, ParamStore

from .schema import SHOW_SETTING_GROUPS

NOT_CAPTURED_GROUPS = (*SHOW_SETTING_GROUPS, "output", "safety")
NOT_CUED_GROUPS = ("acceleration",)  # the engine's set-up, not a look
SOURCE = "cue"  # the source of the cue store's writes made by reset() and load()


def look_names(params: Mapping[str, Param]) -> tuple[str, ...]:
    """The parameters a look is made of, in declaration order."""
    return tuple(n for n, p in params.items() if p.kind is not Kind.TRIGGER and p.group not in NOT_CAPTURED_GROUPS)


def captured_values(store: ParamStore) -> dict[str, Any]:
    """The store's look: what a saved preset holds."""
    values = store.snapshot().values
    return {n: values[n] for n in look_names(store.params)}


def cue_names(params: Mapping[str, Param]) -> tuple[str, ...]:
    """The look's parameters the cue holds and a take recalls: those that apply live."""
    return tuple(n for n in look_names(params)
                 if params[n].apply is Apply.LIVE and params[n].group not in NOT_CUED_GROUPS)


class Cue:
    def __init__(self, program: ParamStore, recall: Callable[[Mapping[str, Any]], Any]):
        """``program``: the live registry.  ``recall(values)``: how a take reaches it (the show's
        recaller, with the registry's fade time and quantise)."""
        self.program = program
        self._recall = recall
        self.store = ParamStore(program.params.values())
        self.names = cue_names(self.store.params)
        self._lock = threading.Lock()
        self._preset: str | None = None  # the preset cued, while the cue still holds just that
        self._loading = threading.local()
        self.store.subscribe(self._on_change)
        self.reset()

    def values(self) -> dict[str, Any]:
        """The cued look (parameter -> value), what a take recalls."""
        values = self.store.snapshot().values
        return {n: values[n] for n in self.names}

    def reset(self) -> None:
        """The cue becomes the program's look, as it is now."""
        values = self.program.snapshot().values
        self._write({n: values[n] for n in self.names}, None)

    def load(self, name: str, values: Mapping[str, Any]) -> None:
        """Lay preset ``name``'s ``values`` over the cue (reload-level ones are left out, see the module)."""
        self._write({n: v for n, v in values.items() if n in self.names}, name)

    @property
    def preset(self) -> str | None:
        """The preset the cue holds, unchanged since it was cued (None once edited or reset)."""
        with self._lock:
            return self._preset

    def take(self) -> str | None:
        """Recall the cue's values on the program (with the preset crossfade).  Returns the preset the
        cue holds unchanged, if any.  A refused recall raises what the recaller raised."""
        preset = self.preset
        self._recall(self.values())
        return preset

    def _write(self, values: Mapping[str, Any], preset: str | None) -> None:
        self._loading.active = True
        try:
            self.store.update(values, source=SOURCE)
        finally:
            self._loading.active = False
        with self._lock:
            self._preset = preset

    def _on_change(self, name: str, value: Any, source: Any) -> None:
        if not getattr(self._loading, "active", False):  # a hand moved the cue: it is no preset any more
            with self._lock:
                self._preset = None
