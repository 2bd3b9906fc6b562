"""The show's actions, declared once: what a control surface can *do* besides setting a value.

Parameters are values (engine.params.catalog); actions are verbs: blackout on/off, PANIC,
tap tempo, recall the next preset, take the cue.  Every surface is generated from this one table:

* the console's buttons and keyboard shortcuts (``Action.key``, a ``QKeySequence`` string;
  ``None`` where the action needs an argument the console asks for in its own widgets);
* the OSC addresses (``Action.osc_address``) and ``docs/osc.md``;
* MIDI note mappings (``{"type": "note", "note": 40, "action": "panic"}``) and MIDI learn.

One executor runs them all: ``app.show_control.ShowControl.trigger(name, arg, source)``.

OSC addresses follow one rule: ``/dreamdeck/<thing>/<verb>``.  Preset actions live under
``/dreamdeck/preset/`` and tap tempo at ``/dreamdeck/tempo/tap`` (the addresses surfaces
already use); the cue (the next look, edited off-air and taken with the preset crossfade)
under ``/dreamdeck/cue/``; a toggle is the ``/toggle`` form of its parameter's address
(``/dreamdeck/blackout/toggle`` flips what ``/dreamdeck/blackout 1`` sets); PANIC is
``/dreamdeck/panic``.  An action without an argument fires on an address-only message or 1
and ignores 0 (a button's release).

This module is Qt-free and knows nothing of presets or tempo: it describes actions and
checks their arguments (:func:`parse_argument`), nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

ROOT = "/dreamdeck"
MAX_NAME = 200  # the longest preset name an action takes (the preset store checks the rest)
SAFE_PRESET = "blackout-safe"  # what PANIC recalls, at once, under a blackout

# Error categories of a refused argument (also OSC counter names: app.osc.namespace).
WRONG_TYPE = "wrong_type"
OUT_OF_RANGE = "out_of_range"
TOO_LONG = "too_long"


class ArgType(str, Enum):
    NAME = "name"  # a preset name (text)
    NAME_OR_INDEX = "name_or_index"  # a preset name, or a whole number >= 0: its 0-based place in the list
    INDEX = "index"  # a whole number >= 0
    NAME_PAIR = "name_pair"  # two names: old, new


@dataclass(frozen=True)
class Argument:
    name: str
    type: ArgType
    help: str
    optional: bool = False

    @property
    def count(self) -> int:
        """How many values it is made of (OSC: arguments in the message)."""
        return 2 if self.type is ArgType.NAME_PAIR else 1


@dataclass(frozen=True)
class Action:
    name: str  # what MIDI mappings, trigger() and the docs call it
    label: str  # button text, in the user's words
    description: str  # one line: what it does
    group: str  # safety | presets | tempo | cue
    osc_address: str
    key: str | None = None  # default console shortcut (QKeySequence text); None: a button/widget only
    argument: Argument | None = None
    param: str | None = None  # a toggle: the registry BOOL it flips
    query: bool = False  # answers a question and changes nothing (preset_list)

    @property
    def toggle(self) -> bool:
        return self.param is not None


class UnknownAction(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class ActionArgumentError(ValueError):
    """An action's argument was refused; ``category`` is WRONG_TYPE, OUT_OF_RANGE or TOO_LONG."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


def _toggle(param: str, label: str, key: str, what: str) -> Action:
    return Action(param, label, f"{what} on/off (flips the {param} parameter)", "safety",
                  f"{ROOT}/{param}/toggle", key=key, param=param)


_PRESET = Argument("preset", ArgType.NAME_OR_INDEX, "a preset name, or its 0-based index in list order")
_NAME = Argument("name", ArgType.NAME, "a preset name")

ACTIONS: tuple[Action, ...] = (
    _toggle("blackout", "Blackout", "B", "Black output"),
    _toggle("freeze", "Freeze", "F", "Hold the current output frame"),
    _toggle("passthrough", "Passthrough", "P", "Crossfade to the raw input"),
    _toggle("fade_to_black", "Fade to black", "Shift+B", "Fade the output to black"),
    Action("panic", "PANIC",
           f"Black now: stop every preset fade, blackout on, passthrough and freeze off, then recall"
           f" '{SAFE_PRESET}' at once (no fade); the blackout stays on", "safety", f"{ROOT}/panic", key="Shift+Esc"),
    Action("release", "Release all",
           "Undo PANIC and every safety control in one go: blackout (latched and held), freeze, passthrough and fade"
           " to black all off, so the picture comes back as it goes out", "safety", f"{ROOT}/release", key="Shift+R"),
    Action("tap", "Tap", "One tap of tap tempo", "tempo", f"{ROOT}/tempo/tap", key="T"),
    Action("preset_recall", "Recall", "Recall a preset (with preset_fade_time and preset_quantize)", "presets",
           f"{ROOT}/preset/recall", argument=_PRESET),
    Action("preset_next", "Next preset",
           "Recall the preset after the last one recalled, in list order (wraps around; the first if none was)",
           "presets", f"{ROOT}/preset/next", key="Ctrl+PgDown"),
    Action("preset_previous", "Previous preset",
           "Recall the preset before the last one recalled, in list order (wraps around; the last if none was)",
           "presets", f"{ROOT}/preset/previous", key="Ctrl+PgUp"),
    Action("preset_save", "Save", "Save the current look as a preset (replacing one of that name)", "presets",
           f"{ROOT}/preset/save", argument=_NAME),
    Action("preset_list", "List", "Answer with the preset names in list order, from the index given (0 without one)",
           "presets", f"{ROOT}/preset/list",
           argument=Argument("start", ArgType.INDEX, "the index to start from", optional=True), query=True),
    Action("preset_rename", "Rename", "Rename a user preset", "presets", f"{ROOT}/preset/rename",
           argument=Argument("old, new", ArgType.NAME_PAIR, "the preset's name, then its new name")),
    Action("preset_delete", "Delete", "Delete a user preset", "presets", f"{ROOT}/preset/delete", argument=_NAME),
    # The cue: the next look, edited without touching the output.  TAKE's key has a modifier: plain Return
    # applies a text field (the cue's prompts too) and Space presses the focused button, so neither may take.
    Action("take", "TAKE", "Take the cue (the next look) to the output with the preset crossfade"
           " (preset_fade_time, preset_quantize); the cue keeps the look taken", "cue", f"{ROOT}/cue/take",
           key="Ctrl+Return"),
    Action("cue_preset", "Cue", "Load a preset into the cue (the next look) without touching the output", "cue",
           f"{ROOT}/cue/preset", argument=_PRESET),
    Action("cue_reset", "From program", "Copy the output's look (the program) into the cue", "cue",
           f"{ROOT}/cue/reset"),
)

BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}
# What a key, a button or a MIDI note can run: every action but the queries (whose answer they cannot show).
RUNNABLE: tuple[str, ...] = tuple(a.name for a in ACTIONS if not a.query)
BY_ADDRESS: dict[str, Action] = {a.osc_address: a for a in ACTIONS}
# Names older mapping files use, and the table names they mean.
LEGACY_NAMES = {"recall_preset": "preset_recall"}


def action(name: str) -> Action:
    """The action called ``name`` (a legacy name too), or UnknownAction with one line saying which exist."""
    a = BY_NAME.get(LEGACY_NAMES.get(name, name)) if isinstance(name, str) else None
    if a is None:
        raise UnknownAction(f"there is no action {str(name)[:60]!r} (actions: {', '.join(BY_NAME)})")
    return a


def parse_argument(a: Action, arg: Any) -> Any:
    """``arg`` checked against ``a.argument``: the value ``trigger`` gets (a str, an int >= 0, a
    (old, new) pair or None), or ActionArgumentError.  A whole float counts as an int (OSC)."""
    spec = a.argument
    if spec is None:
        if arg is not None:
            raise ActionArgumentError(WRONG_TYPE, f"{a.name} takes no argument; got {_what(arg)}")
        return None
    if arg is None:
        if spec.optional:
            return None
        raise ActionArgumentError(WRONG_TYPE, f"{a.name} takes {_wants(spec)}; got none")
    t = spec.type
    if t is ArgType.NAME_PAIR:
        if not isinstance(arg, (tuple, list)) or len(arg) != 2:
            raise ActionArgumentError(WRONG_TYPE, f"{a.name} takes {_wants(spec)}; got {_what(arg)}")
        return tuple(_name(a, x) for x in arg)
    if t is ArgType.NAME:
        return _name(a, arg)
    if isinstance(arg, str) and t is ArgType.NAME_OR_INDEX:
        return _name(a, arg)
    index = _whole(arg)
    if index is None:
        raise ActionArgumentError(WRONG_TYPE, f"{a.name} takes {_wants(spec)}; got {_what(arg)}")
    if index < 0:
        raise ActionArgumentError(OUT_OF_RANGE, f"{a.name}: an index is 0 or more; got {arg!r}")
    return index


def _name(a: Action, x: Any) -> str:
    if not isinstance(x, str):
        raise ActionArgumentError(WRONG_TYPE, f"{a.name} takes a preset name (text), not {_what(x)}")
    if len(x) > MAX_NAME:
        raise ActionArgumentError(TOO_LONG, f"{a.name}: preset names are limited to {MAX_NAME} characters")
    return x


def _whole(x: Any) -> int | None:
    if type(x) is int:
        return x
    if type(x) is float and math.isfinite(x) and x.is_integer():
        return int(x)
    return None


def _wants(spec: Argument) -> str:
    return {ArgType.NAME: "a preset name", ArgType.NAME_OR_INDEX: "a preset name or a 0-based index",
            ArgType.INDEX: "a whole number 0 or more", ArgType.NAME_PAIR: "two names (old, new)"}[spec.type]


def _what(x: Any) -> str:
    return f"{type(x).__name__} {x!r}"[:80]


def shortcuts() -> list[tuple[str, Action]]:
    """(key, action) for every action with a default key, in table order (the console's shortcut list)."""
    return [(a.key, a) for a in ACTIONS if a.key is not None]
