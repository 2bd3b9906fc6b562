"""The show's actions for every control surface: the one executor of the action table.

``ShowControl`` implements ``app.show_actions.ShowActions``; OSC, MIDI and the GUI
hold one and call ``trigger(name, arg, source)`` with a name from
``engine.params.actions.ACTIONS`` (blackout, panic, tap, preset_recall, preset_next, ...).
It owns the tempo clock and the preset recaller (one timer thread, started by
``start()`` or by the first recall, joined by ``stop()``; with ``timer_thread=False``
none: the owner moves fades with ``recaller.tick()``), and remembers the last preset
recalled, from which preset_next / preset_previous step.  It owns the cue (``cue``: the next
look, edited off-air, taken with the preset crossfade; app/presets/cue.py) and keeps each user
preset's thumbnail with it (``capture``: where a saved preset's picture comes from, set by the
session to the preview's newest frame; app/presets/thumbnails.py).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.params.actions import SAFE_PRESET, ActionArgumentError, UnknownAction, action, parse_argument
from engine.params.registry import ParamError, ParamStore

# What "save the current look" captures (a preset written by hand may still list safety
# values: see presets/looks/blackout-safe.json): app/presets/cue.py, beside the cue it makes.
from .presets.cue import Cue, captured_values
from .presets.errors import PresetError
from .presets.recall import PresetRecaller
from .presets.store import Preset, PresetStore
from .presets.thumbnails import Thumbnails
from .show_actions import ShowActionError
from .tempo import Tempo

SOURCE = "show"  # the source of a registry write an action makes when its caller names none
log = logging.getLogger("dreamdeck.show")


# what "release all" turns off: every switch of the safety group that hides or holds the picture
RELEASED = ("blackout", "blackout_momentary", "freeze", "passthrough", "fade_to_black")


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
        self._lock = threading.RLock()  # the last-recalled preset (OSC, MIDI and the GUI call from their threads)
        self._last_preset: str | None = None
        self.cue = Cue(store, self._recall_values)
        self.thumbnails = Thumbnails(self.presets)
        # where a saved preset's thumbnail comes from: the output's newest frame (HxWx3 uint8 RGB) or None
        self.capture: Callable[[], np.ndarray | None] | None = None

    def start(self) -> None:
        """Start the tempo clock and the recaller; the cue starts as the program's look (set up by now:
        --preset, restored settings)."""
        self.tempo.attach()
        self.recaller.start()
        self.cue.reset()

    def stop(self) -> None:
        self.recaller.stop()
        self.tempo.detach()

    def __enter__(self) -> "ShowControl":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the action table's executor -------------------------------------------------
    def trigger(self, name: str, arg: Any = None, source: object = None) -> Any:
        """Run action ``name`` of ``engine.params.actions.ACTIONS`` with its argument (None for
        those without one).  Returns its answer: the names for preset_list, the preset recalled
        for preset_next / preset_previous, and for panic a warning line when the safe preset could
        not be recalled (the show is black either way); None otherwise.  An unknown action, a bad
        argument or a refusal (no such preset, ...) raises ShowActionError with one line."""
        try:
            a = action(name)
            value = parse_argument(a, arg)
        except (UnknownAction, ActionArgumentError) as e:
            raise ShowActionError(str(e)) from None
        if a.toggle:
            try:
                self.store.update({a.param: not bool(self.store.get(a.param))}, source=_source(source))
            except ParamError as e:
                raise ShowActionError(f"{a.name}: {e}") from None
            return None
        if a.name == "panic":
            return self.panic(source)
        if a.name == "release":
            return self.release(source)
        if a.name == "tap":
            return self.tap(source)
        if a.name == "preset_recall":
            return self.recall_preset(value, source)
        if a.name in ("preset_next", "preset_previous"):
            return self.step_preset(1 if a.name == "preset_next" else -1, source)
        if a.name == "preset_save":
            return self.save_preset(value, source)
        if a.name == "preset_list":
            return self.preset_names()[value or 0:]
        if a.name == "preset_rename":
            return self.rename_preset(*value, source=source)
        if a.name == "preset_delete":
            return self.delete_preset(value, source)
        if a.name == "take":
            return self.take(source)
        if a.name == "cue_preset":
            return self.cue_preset(value, source)
        if a.name == "cue_reset":
            return self.cue.reset()
        raise ShowActionError(f"{a.name} has no executor here")  # a table entry added without one

    def release(self, source: object = None) -> None:
        """Every safety control off in one update: what PANIC (or a hand) turned on, the picture back at once."""
        self.store.update({name: False for name in RELEASED}, source=_source(source))

    def panic(self, source: object = None) -> str | None:
        """Black now; stop every fade; passthrough and freeze off; then the safe preset, applied at
        once (not faded); the blackout stays on.  Returns a warning line when the safe preset could
        not be recalled (the show is black either way), else None."""
        src = _source(source)
        note = None
        self.recaller.cancel()
        try:
            self.store.update({"blackout": True, "passthrough": False, "freeze": False}, source=src)
            preset = self.find_preset(SAFE_PRESET)
            self.recaller.apply_now(preset.values)
            with self._lock:
                self._last_preset = preset.name
        except Exception as e:  # a broken safe preset or a failing listener: the show goes black anyway
            note = f"panic: blackout on; preset {SAFE_PRESET!r} not recalled: {e}"
            log.warning("%s", note)
        finally:
            self.store.update({"blackout": True}, source=src)
        return note

    def step_preset(self, step: int, source: object = None) -> str:
        """Recall the preset ``step`` places from the last one recalled, in list order, wrapping
        around (with none recalled yet: the first going forward, the last going back; one that
        was deleted or renamed since counts from where its name would sit).  Returns its name.
        A preset that cannot be recalled is still stepped onto, so the next step passes it."""
        with self._lock:
            names = self.preset_names()
            if not names:
                raise ShowActionError("there are no presets to step through")
            last = self._last_preset
            if last in names:
                i = names.index(last) + step
            elif last is None:
                i = 0 if step > 0 else -1
            else:
                place = sum(1 for n in names if n.casefold() < last.casefold())
                i = place if step > 0 else place - 1
            name = names[i % len(names)]
            try:
                self.recall_preset(name, source)
            finally:
                self._last_preset = name
            return name

    @property
    def last_preset(self) -> str | None:
        """The preset recalled last (by any surface), from which preset_next / previous step."""
        with self._lock:
            return self._last_preset

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
        self._recall_values(preset.values, f"preset {preset.name!r}")
        with self._lock:
            self._last_preset = preset.name

    def _recall_values(self, values, what: str = "the cue") -> None:
        try:
            self.recaller.recall(values)
        except (ParamError, ValueError) as e:
            raise ShowActionError(f"{what}: {e}") from None

    # -- the cue ---------------------------------------------------------------------
    def take(self, source: object = None) -> None:
        """Recall the cue on the output, as a preset recall (fade, quantise).  The cue keeps its values;
        when it holds a cued preset unchanged, that preset is the last recalled (next/previous step from it)."""
        preset = self.cue.take()
        if preset is not None:
            with self._lock:
                self._last_preset = preset

    def cue_preset(self, name_or_index: str | int, source: object = None) -> None:
        """Lay a preset over the cue; the output is not touched."""
        preset = self.find_preset(name_or_index)
        self.cue.load(preset.name, preset.values)

    # -- preset files (with their thumbnails) -----------------------------------------
    def save_preset(self, name: str, source: object = None, description: str = "") -> None:
        """Save the current look (see ``captured_values``) as user preset ``name``, replacing one of that
        name, with a thumbnail of the output when ``capture`` gives a frame."""
        try:
            preset = self.presets.save(name, captured_values(self.store), description=description)
        except PresetError as e:
            raise ShowActionError(str(e)) from None
        self.thumbnails.save(preset.name, self._frame())

    def _frame(self) -> np.ndarray | None:
        capture = self.capture
        if capture is None:
            return None
        try:
            return capture()
        except Exception as e:  # a picture is a nicety: the preset is saved without one
            log.warning("no thumbnail: the output frame could not be read: %s", e)
            return None

    def thumbnail_path(self, name: str) -> Path | None:
        """The picture of preset ``name`` (a file), or None when it has none."""
        return self.thumbnails.path(name)

    def rename_preset(self, old: str, new: str, source: object = None) -> None:
        try:
            renamed = self.presets.rename(old, new)
        except PresetError as e:
            raise ShowActionError(str(e)) from None
        self.thumbnails.rename(old, renamed.name)
        with self._lock:
            if self._last_preset == old:
                self._last_preset = new

    def delete_preset(self, name: str, source: object = None) -> None:
        try:
            info = self.presets.delete(name)
        except PresetError as e:
            raise ShowActionError(str(e)) from None
        self.thumbnails.delete(info.name)

    def tap(self, source: object = None) -> None:
        self.tempo.tap()


def _source(source: object) -> object:
    return SOURCE if source is None else source
