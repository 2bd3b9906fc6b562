"""MIDI mappings: which control drives which parameter, and how a 0..127 value becomes
a parameter value.

Channels are written as on the controller, 1..16 (mido counts 0..15).  A CC mapping
turns the control's position into a value of a FLOAT / INT parameter (linearly over
the parameter's range or a sub-range ``lo..hi``), a CHOICE (equal bins over the
choices, or over the indices ``lo..hi``), a BOOL (on at 64 and up) or a TRIGGER
(fires when the control rises past 64).  A note mapping toggles a BOOL, holds it while
the key is down (``momentary``), fires a TRIGGER, or runs an action of the one action
table (``engine.params.actions``: blackout, panic, tap, preset_recall, preset_next, ...)
on note-on, with the action's argument in ``arg`` (preset_recall: a 0-based index or a
name).  Older files' ``{"action": "recall_preset", "preset": 0}`` still load, as
``{"action": "preset_recall", "arg": 0}``.  Query actions (preset_list) answer a question
MIDI cannot hear, so no note runs them.

The models only describe; :func:`resolve` checks a mapping against the registry and
fills in the defaults, so nothing that does not fit a parameter is ever kept.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.params.actions import LEGACY_NAMES, RUNNABLE, ActionArgumentError, UnknownAction, action, parse_argument
from engine.params.registry import Kind, Param, ParamError, ParamStore

from .errors import MappingError

CC_MAX = 127
CC_KINDS = (Kind.FLOAT, Kind.INT, Kind.CHOICE, Kind.BOOL, Kind.TRIGGER)
RANGED_KINDS = (Kind.FLOAT, Kind.INT, Kind.CHOICE)  # the kinds soft takeover applies to
NOTE_MODES_BY_KIND = {Kind.BOOL: ("toggle", "momentary"), Kind.TRIGGER: ("trigger",)}
ACTIONS = RUNNABLE  # the actions a note can run


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CCMapping(_Strict):
    type: Literal["cc"] = "cc"
    channel: int = Field(1, ge=1, le=16)
    control: int = Field(ge=0, le=127)
    param: str
    lo: float | None = None  # parameter value (CHOICE: choice index) at CC 0; default: the minimum
    hi: float | None = None  # ... at CC 127; default: the maximum
    invert: bool = False  # CC 0 gives hi, CC 127 gives lo
    takeover: bool = True  # soft takeover (pickup) after another surface moved the parameter

    @property
    def key(self) -> tuple[str, int, int]:
        return ("cc", self.channel, self.control)

    def describe(self) -> str:
        span = "" if self.lo is None else f" {self.lo:g}..{self.hi:g}"
        return f"CC {self.control} ch {self.channel} -> {self.param}{span}{' inverted' if self.invert else ''}"


class NoteMapping(_Strict):
    type: Literal["note"] = "note"
    channel: int = Field(1, ge=1, le=16)
    note: int = Field(ge=0, le=127)
    param: str | None = None
    mode: Literal["toggle", "momentary", "trigger"] | None = None  # default: by the parameter's kind
    action: str | None = None  # a name from engine.params.actions.ACTIONS (see ACTIONS)
    arg: Annotated[int, Field(ge=0)] | Annotated[str, Field(min_length=1, max_length=200)] | tuple[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_files(cls, data: Any) -> Any:
        """``{"action": "recall_preset", "preset": 0}`` (files before the action table) -> table names."""
        if isinstance(data, dict) and ("preset" in data or data.get("action") in LEGACY_NAMES):
            data = dict(data)
            if "preset" in data:
                if "arg" in data:
                    raise ValueError("give the action's argument once, as arg (preset is its older name)")
                data["arg"] = data.pop("preset")
            data["action"] = LEGACY_NAMES.get(data.get("action"), data.get("action"))
        return data

    @model_validator(mode="after")
    def _one_target(self) -> "NoteMapping":
        if (self.param is None) == (self.action is None):
            raise ValueError("a note mapping names either a param or an action")
        if self.action is None:
            if self.arg is not None:
                raise ValueError("arg goes with an action, not with a param")
            return self
        if self.mode is not None:
            raise ValueError("mode is for param mappings; an action fires on note-on")
        try:
            a = action(self.action)
            if a.query:
                raise ValueError(f"{a.name} answers a question that MIDI cannot hear; ask it over OSC")
            parse_argument(a, self.arg)
        except (UnknownAction, ActionArgumentError) as e:
            raise ValueError(str(e)) from None
        return self

    @property
    def key(self) -> tuple[str, int, int]:
        return ("note", self.channel, self.note)

    def describe(self) -> str:
        if self.param:
            target = f"{self.param} ({self.mode})"
        else:
            target = f"action {self.action}" + ("" if self.arg is None else f" {self.arg!r}")
        return f"note {self.note} ch {self.channel} -> {target}"


Mapping = Annotated[Union[CCMapping, NoteMapping], Field(discriminator="type")]


def default_note_mode(spec: Param) -> str:
    if spec.kind is Kind.TRIGGER:
        return "trigger"
    return "momentary" if spec.name.endswith("_momentary") else "toggle"


def resolve(mapping: CCMapping | NoteMapping, store: ParamStore) -> CCMapping | NoteMapping:
    """The mapping with its defaults filled in from the registry, or MappingError."""
    if isinstance(mapping, NoteMapping) and mapping.action is not None:
        return mapping
    try:
        spec = store.spec(mapping.param)
    except ParamError as e:
        raise MappingError(str(e)) from None
    if isinstance(mapping, NoteMapping):
        modes = NOTE_MODES_BY_KIND.get(spec.kind)
        if not modes:
            raise MappingError(
                f"a note cannot drive {spec.name} ({spec.kind.value}); notes toggle on/off parameters "
                "or fire triggers - use a knob or fader (CC) for it")
        mode = mapping.mode or default_note_mode(spec)
        if mode not in modes:
            raise MappingError(f"{spec.name} is {spec.kind.value}: a note drives it as {' or '.join(modes)}, not {mode}")
        return mapping.model_copy(update={"mode": mode})
    if spec.kind not in CC_KINDS:
        raise MappingError(f"{spec.name} takes text; no MIDI control can drive it")
    if spec.kind in (Kind.BOOL, Kind.TRIGGER):
        if mapping.lo is not None or mapping.hi is not None:
            raise MappingError(f"{spec.name} is on/off: a CC mapping for it takes no lo/hi")
        return mapping
    if spec.kind is Kind.CHOICE:
        full = (0.0, float(len(spec.choices) - 1))
    else:
        if spec.minimum is None or spec.maximum is None:
            if mapping.lo is None or mapping.hi is None:
                raise MappingError(f"{spec.name} has no range: its CC mapping needs lo and hi")
        full = (spec.minimum, spec.maximum)
    lo = full[0] if mapping.lo is None else mapping.lo
    hi = full[1] if mapping.hi is None else mapping.hi
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise MappingError(f"{spec.name}: lo must be below hi (use invert to reverse a control); got {lo:g}..{hi:g}")
    if (full[0] is not None and lo < full[0]) or (full[1] is not None and hi > full[1]):
        what = "choice indices" if spec.kind is Kind.CHOICE else "values"
        raise MappingError(f"{spec.name}: lo..hi {lo:g}..{hi:g} leaves the parameter's {what} {full[0]:g}..{full[1]:g}")
    if spec.kind is Kind.CHOICE and (lo != int(lo) or hi != int(hi)):
        raise MappingError(f"{spec.name}: lo and hi are choice indices (whole numbers)")
    return mapping.model_copy(update={"lo": float(lo), "hi": float(hi)})


# -- CC value <-> parameter value (for resolved mappings) ------------------------------

def position(mapping: CCMapping, cc: int) -> float:
    """The control's position 0..1 along the mapping (inverted if asked)."""
    x = min(max(cc, 0), CC_MAX) / CC_MAX
    return 1.0 - x if mapping.invert else x


def cc_to_value(spec: Param, mapping: CCMapping, cc: int) -> Any:
    """The parameter value a CC value asks for (always inside the parameter's range)."""
    if spec.kind in (Kind.BOOL, Kind.TRIGGER):
        return cc < 64 if mapping.invert else cc >= 64
    x = position(mapping, cc)
    lo, hi = mapping.lo, mapping.hi
    if spec.kind is Kind.CHOICE:
        count = int(hi) - int(lo) + 1
        return spec.choices[int(lo) + min(count - 1, int(x * count))]
    value = lo + x * (hi - lo)
    if spec.kind is Kind.INT:
        step = spec.multiple_of or 1
        value = int(round(value / step)) * step
        if spec.minimum is not None and value < spec.minimum:
            value += step
        if spec.maximum is not None and value > spec.maximum:
            value -= step
        return int(value)
    # rounding must never step outside the declared range (0.02 + 1 * 0.98 may exceed 1.0)
    if spec.minimum is not None:
        value = max(value, spec.minimum)
    if spec.maximum is not None:
        value = min(value, spec.maximum)
    return float(value)


def value_to_cc(spec: Param, mapping: CCMapping, value: Any) -> float:
    """The (fractional, clamped) CC value at which the control asks for ``value``."""
    lo, hi = mapping.lo, mapping.hi
    if spec.kind is Kind.CHOICE:
        count = int(hi) - int(lo) + 1
        index = spec.choices.index(value) if value in spec.choices else int(lo)
        x = (index - int(lo) + 0.5) / count
    else:
        x = (float(value) - lo) / (hi - lo)
    x = min(max(x, 0.0), 1.0)
    return CC_MAX * (1.0 - x if mapping.invert else x)
