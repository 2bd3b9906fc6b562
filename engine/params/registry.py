"""The parameter registry: every controllable value declared once, stored once.

A :class:`Param` declares a value (name, type, range, default, unit, whether it
applies live or needs a reload, OSC address).  A :class:`ParamStore` holds the
current values of a set of declarations, validates every write, is safe to use
from any thread, counts versions and tells listeners about changes.  The engine
reads one immutable :class:`Snapshot` per frame, so a frame never sees half of a
multi-parameter update.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping


class Kind(str, Enum):
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STR = "str"
    CHOICE = "choice"
    TRIGGER = "trigger"


class Apply(str, Enum):
    LIVE = "live"  # takes effect at the next frame boundary
    RELOAD = "reload"  # takes effect when the model/stream is (re)prepared


class ParamError(ValueError):
    """A value was refused; the message says what the parameter accepts."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    apply: Apply = Apply.LIVE
    group: str = "engine"
    max_length: int = 1000
    multiple_of: int | None = None  # for INT: values must be multiples of this (e.g. 64 px)
    # for STR: turns any accepted value (e.g. an int from OSC) into the stored text, or raises ValueError saying what it takes
    coerce: Callable[[Any], str] | None = field(default=None, compare=False)

    @property
    def osc_address(self) -> str:
        return "/dreamdeck/" + self.name.replace(".", "/")

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise ParamError."""
        k = self.kind
        if k is Kind.TRIGGER:
            return bool(value)
        if k is Kind.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.lower() in ("true", "false", "on", "off", "1", "0"):
                return value.lower() in ("true", "on", "1")
            raise ParamError(f"{self.name} takes on/off (true/false), not {value!r}")
        if k is Kind.STR and self.coerce is not None:
            try:
                return self.coerce(value)
            except ValueError as e:
                raise ParamError(str(e)) from None
        if k is Kind.STR:
            if not isinstance(value, str):
                raise ParamError(f"{self.name} takes text, not {type(value).__name__}")
            if len(value) > self.max_length:
                raise ParamError(f"{self.name} is limited to {self.max_length} characters")
            return value
        if k is Kind.CHOICE:
            if value not in self.choices:
                raise ParamError(f"{self.name} takes one of {', '.join(self.choices)}; got {value!r}")
            return value
        # numbers
        if isinstance(value, bool):
            raise ParamError(f"{self.name} takes a number, not {value!r}")
        if not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParamError(f"{self.name} takes a number, not {value!r}") from None
        if not math.isfinite(value):
            raise ParamError(f"{self.name} takes a finite number, not {value!r}")
        if k is Kind.INT:
            if float(value) != int(value):
                raise ParamError(f"{self.name} takes a whole number, not {value!r}")
            value = int(value)
        else:
            value = float(value)
        lo, hi = self.minimum, self.maximum
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ParamError(f"{self.name} takes {self.range_text()}; got {value!r}")
        if self.multiple_of and value % self.multiple_of:
            raise ParamError(f"{self.name} takes multiples of {self.multiple_of} ({self.range_text()}); got {value!r}")
        return value

    def range_text(self) -> str:
        if self.kind is Kind.CHOICE:
            return " | ".join(self.choices)
        if self.minimum is None and self.maximum is None:
            return "any"
        return f"{self.minimum:g}..{self.maximum:g}" + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of every value at one version."""

    version: int
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


Listener = Callable[[str, Any, Any], None]  # (name, value, source)
BatchListener = Callable[[dict, Any, int], None]  # ({name: value, ...}, source, version)


class ParamStore:
    """Thread-safe current values of a set of :class:`Param` declarations."""

    def __init__(self, params: Iterable[Param]):
        self._params: dict[str, Param] = {}
        for p in params:
            if p.name in self._params:
                raise ValueError(f"parameter {p.name!r} is declared twice")
            p.validate(p.default)  # a bad default is a programming error
            self._params[p.name] = p
        self._values = {n: p.default for n, p in self._params.items()}
        self._lock = threading.RLock()
        self._version = 0
        self._listeners: list[Listener] = []
        self._batch_listeners: list[BatchListener] = []
        self._guard: Callable[[dict, Any], dict] | None = None
        self._snapshot = Snapshot(0, MappingProxyType(dict(self._values)))

    # -- declarations -------------------------------------------------------
    @property
    def params(self) -> Mapping[str, Param]:
        return MappingProxyType(self._params)

    def spec(self, name: str) -> Param:
        try:
            return self._params[name]
        except KeyError:
            raise ParamError(f"there is no parameter named {name!r}") from None

    # -- values ---------------------------------------------------------------
    def get(self, name: str) -> Any:
        self.spec(name)
        with self._lock:
            return self._values[name]

    def set(self, name: str, value: Any, source: Any = None) -> Any:
        return self.update({name: value}, source=source)[name]

    def update(self, changes: Mapping[str, Any], source: Any = None, expect: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate every change first, then apply them all as one version.

        ``expect`` (name -> value) makes it compare-and-set: a change whose parameter no longer
        holds the expected value is skipped, atomically (a fade step never overwrites a fader
        that a hand moved since the last step)."""
        clean = {n: self.spec(n).validate(v) for n, v in changes.items()}
        guard = self._guard
        allowed = guard(clean, source) if guard is not None else clean
        changed: list[tuple[str, Any]] = []
        with self._lock:
            for n, v in allowed.items():
                if expect is not None and n in expect and self._values[n] != expect[n]:
                    continue
                if self._values[n] != v or self._params[n].kind is Kind.TRIGGER:
                    self._values[n] = v
                    changed.append((n, v))
            if changed:
                self._version += 1
                self._snapshot = Snapshot(self._version, MappingProxyType(dict(self._values)))
            listeners = list(self._listeners)
            batch_listeners = list(self._batch_listeners)
            version = self._version
        for n, v in changed:
            for cb in listeners:
                cb(n, v, source)
        if changed:
            for cb in batch_listeners:
                cb(dict(changed), source, version)
        return clean

    def set_guard(self, guard: Callable[[dict, Any], dict] | None) -> None:
        """``guard(changes, source) -> the changes to apply now``: checked values go through it before they apply
        (the show's live lock holds reload-class changes there until the operator says yes). None: no guard."""
        self._guard = guard

    def reset(self, name: str, source: Any = None) -> Any:
        return self.set(name, self.spec(name).default, source=source)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    # -- change events ------------------------------------------------------
    def subscribe_batch(self, listener: BatchListener) -> Callable[[], None]:
        """Be told once per update() with every value it changed (e.g. one OSC bundle per preset recall)."""
        with self._lock:
            self._batch_listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._batch_listeners:
                    self._batch_listeners.remove(listener)

        return unsubscribe

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
