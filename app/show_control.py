"""The show's actions for every control surface: presets and tap tempo.

``ShowControl`` implements ``app.show_actions.ShowActions``; OSC, MIDI and the GUI
hold one and call it.  It owns the tempo clock and the preset recaller (one timer
thread, started by ``start()`` or by the first recall, joined by ``stop()``; with
``timer_thread=False`` none: the owner moves fades with ``recaller.tick()``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from engine.params.registry import Kind, ParamError, ParamStore

from .presets.errors import PresetError
from .presets.recall import PresetRecaller
from .presets.schema import SHOW_SETTING_GROUPS
from .presets.store import Preset, PresetStore
from .show_actions import ShowActionError
from .tempo import Tempo

# What "save the current look" captures: everything but triggers, the show's own
# settings (tempo, presets), the output set-up and the safety controls (a preset
# saved during a blackout must not black out the show when recalled).  A preset
# written by hand may still list safety values (see presets/looks/blackout-safe.json).
NOT_CAPTURED_GROUPS = (*SHOW_SETTING_GROUPS, "output", "safety")


def captured_values(store: ParamStore) -> dict[str, Any]:
    values = store.snapshot().values
    return {
        n: values[n]
        for n, p in store.params.items()
        if p.kind is not Kind.TRIGGER and p.group not in NOT_CAPTURED_GROUPS
    }


class ShowControl:
    def __init__(
        self,
        store: ParamStore,
        presets: PresetStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        tick_hz: float = 60.0,
        timer_thread: bool = True,
    ):
        self.store = store
        self.presets = presets if presets is not None else PresetStore(params=store.params)
        self.tempo = Tempo(store, clock=clock)
        self.recaller = PresetRecaller(store, tempo=self.tempo, clock=clock, tick_hz=tick_hz,
                                       timer_thread=timer_thread)

    def start(self) -> None:
        self.tempo.attach()
        self.recaller.start()

    def stop(self) -> None:
        self.recaller.stop()
        self.tempo.detach()

    def __enter__(self) -> "ShowControl":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- ShowActions ----------------------------------------------------------------
    def preset_names(self) -> list[str]:
        try:
            return self.presets.names()
        except PresetError as e:
            raise ShowActionError(str(e)) from None

    def find_preset(self, name_or_index: str | int) -> Preset:
        """A preset by name, or by 0-based index in list order (an int, or a string of digits
        that is not itself a preset's name)."""
        try:
            if isinstance(name_or_index, str):
                key = name_or_index.strip()
                if not (key.isascii() and key.isdigit()) or self.presets.exists(key):
                    return self.presets.load(name_or_index)
                index = int(key)
            elif isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
                index = name_or_index
            else:
                raise ShowActionError(f"a preset is chosen by name or index, not {name_or_index!r}")
            names = self.presets.names()
            if not 0 <= index < len(names):
                raise ShowActionError(f"there is no preset number {index} (there are {len(names)}, numbered from 0)")
            return self.presets.load(names[index])
        except PresetError as e:
            raise ShowActionError(str(e)) from None

    def recall_preset(self, name_or_index: str | int, source: object = None) -> None:
        """Recall with the registry's preset_fade_time, preset_quantize and latency_compensation.
        A preset that cannot be read raises ShowActionError and changes nothing."""
        preset = self.find_preset(name_or_index)
        try:
            self.recaller.recall(preset.values)
        except (ParamError, ValueError) as e:
            raise ShowActionError(f"preset {preset.name!r}: {e}") from None

    def save_preset(self, name: str, source: object = None, description: str = "") -> None:
        """Save the current look (see ``captured_values``) as user preset ``name``, replacing one of that name."""
        try:
            self.presets.save(name, captured_values(self.store), description=description)
        except PresetError as e:
            raise ShowActionError(str(e)) from None

    def rename_preset(self, old: str, new: str, source: object = None) -> None:
        try:
            self.presets.rename(old, new)
        except PresetError as e:
            raise ShowActionError(str(e)) from None

    def delete_preset(self, name: str, source: object = None) -> None:
        try:
            self.presets.delete(name)
        except PresetError as e:
            raise ShowActionError(str(e)) from None

    def tap(self, source: object = None) -> None:
        self.tempo.tap()
