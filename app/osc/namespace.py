"""The OSC namespace, generated from the parameter registry.

Every parameter lives at ``param.osc_address`` (``/dreamdeck/strength``,
``/dreamdeck/prompt/1/text``) and takes its value in its own unit there.  Besides:

* ``<address>/norm`` takes a 0..1 float mapped onto the parameter's range (the
  Resolume / TouchDesigner habit): floats linearly, ints rounded (to the nearest
  allowed multiple), choices by equal bins (index = floor(norm * count)), bools and
  triggers at >= 0.5.  Text parameters have no ``/norm`` form.
* ``<address>/get`` (and ``<address>/norm/get``), or a single ``"?"`` string argument,
  asks for the current value; the answer goes back to the asking socket.
* Action addresses (the action table, ``engine.params.actions.ACTIONS``) call the show's
  :class:`app.show_actions.ShowActions` ``trigger``; :func:`action_arg` turns the OSC
  arguments into the table's argument.

This module only converts: OSC arguments -> registry values (raising :class:`OscValueError`
with a counter category) and registry values -> OSC arguments.  The server, the feedback
sender and the generated reference all use it, so they cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from engine.params.actions import ACTIONS, Action, ActionArgumentError, ArgType, action, parse_argument
from engine.params.registry import Kind, Param

ROOT = "/dreamdeck"
NORM = "/norm"
GET = "/get"
QUERY = "?"

# Action addresses come from the one action table (engine.params.actions): each action at its
# ``osc_address``, calling ``ShowActions.trigger``.  The preset list is a query: it is answered.
PRESET_RECALL = action("preset_recall").osc_address
PRESET_SAVE = action("preset_save").osc_address
PRESET_LIST = action("preset_list").osc_address
PRESET_RENAME = action("preset_rename").osc_address
PRESET_DELETE = action("preset_delete").osc_address
TEMPO_TAP = action("tap").osc_address
PRESET_LIST_PAGE_BYTES = 8 * 1024  # one /preset/list answer datagram at most; a longer list is paged
# What an action's answer looks like over OSC, where the table's words are not enough.
ACTION_ANSWERS = {
    "preset_list": "The answer comes at the same address: one string argument per name, in one datagram of at most"
                   f" {PRESET_LIST_PAGE_BYTES // 1024} KiB; when more follow, the last argument is an int: the index"
                   " to ask for next",
}

# Error categories (also the names of the server's counters).
WRONG_TYPE = "wrong_type"
NOT_FINITE = "not_finite"
OUT_OF_RANGE = "out_of_range"
TOO_LONG = "too_long"
BAD_VALUE = "bad_value"


class OscValueError(ValueError):
    """An OSC argument list was refused; ``category`` names the counter it goes to."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


class Ignore(Exception):
    """The message is valid but does nothing (a trigger sent 0)."""


@dataclass(frozen=True)
class Route:
    """One mapped address: a parameter form or an action."""

    address: str
    form: str  # "value" | "norm" | "get" | "norm_get" | "action"
    param: Param | None = None
    action: Action | None = None


def has_norm(p: Param) -> bool:
    if p.kind in (Kind.BOOL, Kind.CHOICE, Kind.TRIGGER):
        return True
    if p.kind in (Kind.FLOAT, Kind.INT):
        return p.minimum is not None and p.maximum is not None and p.maximum > p.minimum
    return False


def routes(params: Iterable[Param]) -> list[Route]:
    """Every address the server answers, in registry order, then the actions."""
    out: list[Route] = []
    for p in params:
        a = p.osc_address
        out.append(Route(a, "value", p))
        out.append(Route(a + GET, "get", p))
        if has_norm(p):
            out.append(Route(a + NORM, "norm", p))
            out.append(Route(a + NORM + GET, "norm_get", p))
    out.extend(Route(a.osc_address, "action", action=a) for a in ACTIONS)
    return out


# -- OSC arguments -> an action's argument --------------------------------------------
def action_arg(a: Action, args: tuple) -> Any:
    """The OSC arguments of action ``a`` -> its argument for ``trigger`` (None without one).
    An action without an argument fires on no argument or 1 and ignores 0 (:class:`Ignore`),
    like a trigger parameter; one with an argument takes exactly its values."""
    addr = a.osc_address
    spec = a.argument
    if spec is None:
        x = args[0] if len(args) == 1 else (1 if not args else None)
        if isinstance(x, bool):
            x = int(x)
        if not _is_number(x) or x not in (0, 1):
            raise OscValueError(WRONG_TYPE if not _is_number(x) else OUT_OF_RANGE, f"{addr} fires on 1 (0 is ignored)")
        if x == 0:
            raise Ignore()
        return None
    if not args and spec.optional:
        return None
    if len(args) != spec.count:
        raise OscValueError(WRONG_TYPE, f"{addr} takes {action_osc_argument(a)}; got {len(args)} arguments")
    try:
        return parse_argument(a, args[0] if spec.count == 1 else tuple(args))
    except ActionArgumentError as e:
        raise OscValueError(e.category, f"{addr}: {e}") from None


def action_osc_argument(a: Action) -> str:
    """What an action's address takes, in OSC types (for errors and the reference)."""
    spec = a.argument
    if spec is None:
        return "none, or 1 (0 is ignored)"
    text = {
        ArgType.NAME: "string name",
        ArgType.NAME_OR_INDEX: "string name, or int 0-based index",
        ArgType.INDEX: f"int {spec.name} index",
        ArgType.NAME_PAIR: "string old name, string new name",
    }[spec.type]
    return f"none, or {text}" if spec.optional else text


# -- OSC arguments -> registry values ------------------------------------------------
def _is_number(x: Any) -> bool:
    return type(x) in (int, float)  # OSC i, h, f, d (never bool, never str)


def _number(p: Param, x: Any) -> float | int:
    if not _is_number(x):
        raise OscValueError(WRONG_TYPE, f"{p.osc_address} takes a number, not {_type_name(x)}")
    if isinstance(x, float) and not math.isfinite(x):
        raise OscValueError(NOT_FINITE, f"{p.osc_address} takes a finite number, not {x!r}")
    return x


def _type_name(x: Any) -> str:
    return "no argument" if x is _MISSING else type(x).__name__


_MISSING = object()


def single_arg(p: Param, args: tuple) -> Any:
    if len(args) == 1:
        return args[0]
    if not args:
        if p.kind is Kind.TRIGGER:
            return 1  # an address-only message fires a trigger
        raise OscValueError(WRONG_TYPE, f"{p.osc_address} takes one argument, got none")
    raise OscValueError(WRONG_TYPE, f"{p.osc_address} takes one argument, got {len(args)}")


def _in_range(p: Param, v: float) -> None:
    if (p.minimum is not None and v < p.minimum) or (p.maximum is not None and v > p.maximum):
        raise OscValueError(OUT_OF_RANGE, f"{p.osc_address} takes {p.range_text()}; got {v!r}")


F32_ULP = 2.0**-23  # OSC floats are float32: 0.02 arrives as 0.0199999995...


def _snap_to_bounds(p: Param, x: float) -> float:
    """A float32 that is the nearest to a bound counts as that bound (a fader at its end)."""
    for bound in (p.minimum, p.maximum):
        if bound is not None and abs(x - bound) <= abs(bound) * F32_ULP:
            return float(bound)
    return x


def value_from_osc(p: Param, x: Any) -> Any:
    """One argument at the parameter's own address -> a value for ``store.update``."""
    k = p.kind
    if k is Kind.TRIGGER:
        if isinstance(x, bool):
            x = int(x)
        x = _number(p, x)
        if x == 0:
            raise Ignore()
        if x != 1:
            raise OscValueError(OUT_OF_RANGE, f"{p.osc_address} fires on 1 (0 is ignored); got {x!r}")
        return True
    if k is Kind.BOOL:
        if isinstance(x, bool):
            return x
        if isinstance(x, str):
            if x.lower() in ("true", "false", "on", "off", "1", "0"):
                return x.lower() in ("true", "on", "1")
            raise OscValueError(BAD_VALUE, f"{p.osc_address} takes 1/0, true/false or on/off; got {x[:40]!r}")
        x = _number(p, x)
        if x not in (0, 1):
            raise OscValueError(OUT_OF_RANGE, f"{p.osc_address} takes 1 or 0 (use /norm for a 0..1 float); got {x!r}")
        return bool(x)
    if k is Kind.STR and p.coerce is not None:  # e.g. /dreamdeck/size takes 512 as well as "768x448"
        try:
            return p.coerce(x)
        except ValueError as e:
            raise OscValueError(BAD_VALUE, f"{p.osc_address}: {e}") from None
    if k is Kind.STR:
        if not isinstance(x, str):
            raise OscValueError(WRONG_TYPE, f"{p.osc_address} takes a string, not {_type_name(x)}")
        if len(x) > p.max_length:
            raise OscValueError(TOO_LONG, f"{p.osc_address} is limited to {p.max_length} characters; got {len(x)}")
        return x
    if k is Kind.CHOICE:
        if isinstance(x, str):
            if x not in p.choices:
                raise OscValueError(BAD_VALUE, f"{p.osc_address} takes one of {', '.join(p.choices)}; got {x[:40]!r}")
            return x
        x = _number(p, x)  # an int (or whole float) is a 0-based index
        if x != int(x):
            raise OscValueError(BAD_VALUE, f"{p.osc_address} takes a name or a whole 0-based index; got {x!r}")
        if not 0 <= x < len(p.choices):
            raise OscValueError(OUT_OF_RANGE, f"{p.osc_address} index is 0..{len(p.choices) - 1}; got {x!r}")
        return p.choices[int(x)]
    # FLOAT / INT
    x = _number(p, x)
    if k is Kind.FLOAT:
        x = _snap_to_bounds(p, x)
    _in_range(p, x)
    if k is Kind.INT:
        if x != int(x):
            raise OscValueError(BAD_VALUE, f"{p.osc_address} takes a whole number; got {x!r}")
        x = int(x)
        if p.multiple_of and x % p.multiple_of:
            raise OscValueError(BAD_VALUE, f"{p.osc_address} takes multiples of {p.multiple_of}; got {x!r}")
        return x
    return float(x)


def value_from_norm(p: Param, x: Any) -> Any:
    """A 0..1 argument at ``<address>/norm`` -> a value for ``store.update``."""
    if isinstance(x, bool):
        x = int(x)
    n = _number(p, x)
    if not 0.0 <= n <= 1.0:
        raise OscValueError(OUT_OF_RANGE, f"{p.osc_address}{NORM} takes 0..1; got {n!r}")
    k = p.kind
    if k is Kind.TRIGGER:
        if n < 0.5:
            raise Ignore()
        return True
    if k is Kind.BOOL:
        return n >= 0.5
    if k is Kind.CHOICE:
        return p.choices[min(int(n * len(p.choices)), len(p.choices) - 1)]
    if p.minimum is None or p.maximum is None:  # text (e.g. size) has no 0..1 range
        raise OscValueError(WRONG_TYPE, f"{p.osc_address} has no {NORM} form: send it a value")
    lo, hi = float(p.minimum), float(p.maximum)
    if k is Kind.INT:
        step = p.multiple_of or 1
        first = math.ceil(lo / step) * step
        count = (math.floor(hi / step) * step - first) // step  # allowed values - 1
        return int(first + round(n * count) * step)
    return min(hi, max(lo, lo + n * (hi - lo)))


# -- registry values -> OSC arguments ------------------------------------------------
def value_to_osc(p: Param, value: Any) -> Any:
    """The argument sent in feedback and answers: floats, ints, strings; bools and
    triggers as int 1/0 (understood by every surface, and accepted back)."""
    k = p.kind
    if k is Kind.TRIGGER or k is Kind.BOOL:
        return int(bool(value))
    if k is Kind.FLOAT:
        return float(value)
    if k is Kind.INT:
        return int(value)
    return str(value)


def value_to_norm(p: Param, value: Any) -> float:
    k = p.kind
    if k in (Kind.TRIGGER, Kind.BOOL):
        return float(bool(value))
    if k is Kind.CHOICE:
        n = len(p.choices)
        return p.choices.index(value) / (n - 1) if n > 1 else 0.0
    lo, hi = float(p.minimum), float(p.maximum)
    return min(1.0, max(0.0, (float(value) - lo) / (hi - lo)))


def osc_type(p: Param) -> str:
    """The OSC type tag a parameter takes at its own address (for the reference)."""
    if p.kind is Kind.STR and p.coerce is not None:
        return "s (or i)"
    return {
        Kind.FLOAT: "f",
        Kind.INT: "i",
        Kind.BOOL: "i (1/0) or T/F",
        Kind.STR: "s",
        Kind.CHOICE: "s (or i index)",
        Kind.TRIGGER: "i/f 1",
    }[p.kind]
