"""The live lock: while it is on, no change that reloads (model, model size, steps, frames per call, the tiny
autoencoder, output size or rate) reaches the show silently, whichever surface sends it (console, OSC, MIDI,
a preset).  Such a change is held and waits for a yes; everything else applies as always.

It is a guard on the registry (``ParamStore.set_guard``): the held values never enter it, so the engine never
sees them, and the registry always says what runs.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from engine.params.registry import Apply

PRESET_SOURCE = "preset"  # what the preset recaller writes with: a look never switches the model


class LiveLock:
    def __init__(self, store, own_source: Any, on_held: Callable[[dict], None] | None = None):
        self.store = store
        self.own_source = own_source  # the session's own writes (a yes, a model that finished loading) pass
        self.on_held = on_held
        self.locked = False
        self._held: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.reload_params = frozenset(n for n, p in store.params.items() if p.apply is Apply.RELOAD)
        store.set_guard(self.guard)

    def set(self, on: bool) -> None:
        with self._lock:
            self.locked = bool(on)

    def guard(self, changes: dict, source: Any) -> dict:
        if source == self.own_source:
            return changes
        if source == PRESET_SOURCE and "model" in changes:
            changes = {n: v for n, v in changes.items() if n != "model"}  # looks saved before carry 'tiny'
        with self._lock:
            if not self.locked:
                return changes
            for n, v in changes.items():  # asked back to what runs: nothing to hold for it any more
                if n in self._held and v == self.store.get(n):
                    del self._held[n]
            held = {n: v for n, v in changes.items() if n in self.reload_params and v != self.store.get(n)}
            if not held:
                return changes
            self._held.update(held)
            everything = dict(self._held)
        if self.on_held is not None:
            self.on_held(everything)
        return {n: v for n, v in changes.items() if n not in held}

    def held(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._held)

    def take_held(self) -> dict[str, Any]:
        """The held changes, and none are held any more (for a yes or a no)."""
        with self._lock:
            held, self._held = self._held, {}
        return held

    def close(self) -> None:
        self.store.set_guard(None)
