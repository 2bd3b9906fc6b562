"""Turns incoming MIDI messages into registry writes and show actions: the mapping
table, learn mode and soft takeover.  A note mapped to an action (engine.params.actions)
runs it through ``ShowActions.trigger(name, arg, source='midi')``.  No ports here (see ``input.py``), so the same
logic runs whatever delivers the messages.

Soft takeover (pickup): a CC mapping on a FLOAT / INT / CHOICE parameter starts out
*engaged* - the first move of the control sets the value (DreamDeck cannot know where
a knob sits until it moves).  When the parameter changes from anywhere else (OSC, the
GUI, a preset recall, another MIDI control), every mapping on it lets go; a mapping
takes hold again only when its control comes within ``tolerance`` CC steps of the
current value, or passes it between two messages.  Until then its messages change
nothing, so a fader left at the bottom cannot make the picture jump.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import ValidationError

from app.errors import one_line
from engine.params.actions import UnknownAction, action
from engine.params.registry import Kind, ParamError, ParamStore

from .errors import MappingError
from .mapping import ACTIONS, RANGED_KINDS, CCMapping, NoteMapping, cc_to_value, resolve, value_to_cc

SOURCE = "midi"
log = logging.getLogger("dreamdeck.midi")

AnyMapping = CCMapping | NoteMapping


@dataclass
class _Pickup:
    engaged: bool = True
    last_cc: int | None = None  # where the physical control was last seen (even while not engaged)


@dataclass(frozen=True)
class _LearnTarget:
    param: str | None = None
    action: str | None = None
    arg: int | str | tuple[str, str] | None = None


class _RateLimitedLog:
    def __init__(self, every_s: float = 5.0):
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def warning(self, key: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -1e9) < self.every_s:
                return
            self._last[key] = now
        log.warning("%s", message)


class MidiRouter:
    """The mapping table plus learn mode and soft takeover, writing with ``source='midi'``."""

    def __init__(self, store: ParamStore, actions: Any = None, *, takeover_tolerance: int = 2,
                 on_learned: Callable[[AnyMapping], None] | None = None,
                 on_mappings_changed: Callable[[], None] | None = None):
        self.store = store
        self.actions = actions
        self.tolerance = takeover_tolerance
        self.on_learned = on_learned
        self.on_mappings_changed = on_mappings_changed
        self._lock = threading.RLock()
        self._mappings: dict[tuple, AnyMapping] = {}
        self._pickup: dict[tuple, _Pickup] = {}
        self._learn: _LearnTarget | None = None
        self._learned = threading.Condition(self._lock)
        self._last_learned: AnyMapping | None = None
        self._learn_serial = 0
        self._tls = threading.local()
        self._warn = _RateLimitedLog()
        self._stats = dict(received=0, applied=0, unmapped=0, held=0, refused=0, action_errors=0, learned=0)
        self._unsubscribe = store.subscribe(self._on_store_change)

    def close(self) -> None:
        self._unsubscribe()
        self.cancel_learn()

    # -- the mapping table --------------------------------------------------------------
    def mappings(self) -> list[AnyMapping]:
        with self._lock:
            return list(self._mappings.values())

    def set_mappings(self, mappings: list[AnyMapping]) -> None:
        """Replace every mapping (checked first: one bad mapping changes nothing)."""
        resolved = {}
        for m in mappings:
            m = resolve(m, self.store)
            resolved[m.key] = m
        with self._lock:
            self._mappings = resolved
            self._pickup = {k: _Pickup() for k in resolved}

    def map(self, mapping: AnyMapping, notify: bool = True) -> AnyMapping:
        """Add a mapping; one per (kind, channel, control): a new one replaces the old."""
        mapping = resolve(mapping, self.store)
        with self._lock:
            self._mappings[mapping.key] = mapping
            self._pickup[mapping.key] = _Pickup()
        if notify:
            self._changed()
        return mapping

    def unmap(self, kind: str, channel: int, number: int) -> AnyMapping | None:
        """Remove the mapping of CC / note ``number`` on ``channel`` (1..16); returns it, or None."""
        with self._lock:
            gone = self._mappings.pop((kind, channel, number), None)
            self._pickup.pop((kind, channel, number), None)
        if gone is not None:
            self._changed()
        return gone

    def unmap_param(self, name: str) -> list[AnyMapping]:
        """Remove every mapping that drives parameter ``name``."""
        return self._unmap_where(lambda m: m.param == name)

    def unmap_action(self, name: str) -> list[AnyMapping]:
        """Remove every note mapping that runs action ``name`` (whatever its argument)."""
        try:
            name = action(name).name
        except UnknownAction as e:
            raise MappingError(str(e)) from None
        return self._unmap_where(lambda m: isinstance(m, NoteMapping) and m.action == name)

    def _unmap_where(self, drops: Callable[[AnyMapping], bool]) -> list[AnyMapping]:
        with self._lock:
            gone = [m for m in self._mappings.values() if drops(m)]
            for m in gone:
                del self._mappings[m.key]
                self._pickup.pop(m.key, None)
        if gone:
            self._changed()
        return gone

    def _changed(self) -> None:
        if self.on_mappings_changed is not None:
            self.on_mappings_changed()

    # -- learn mode -----------------------------------------------------------------------
    def learn(self, target: str) -> None:
        """Bind the next CC or note received to ``target``: a parameter (CC: range mapping; note:
        toggle / momentary / trigger by the parameter's kind), or else an action of the action table
        that takes no argument (a note; blackout, freeze, tap ... name parameters too, so
        ``learn('blackout')`` learns the parameter: use :meth:`learn_action` for the action).
        Raises MappingError for a parameter no control can drive (text) or an unknown name."""
        if target not in self.store.params and target in ACTIONS:
            self.learn_action(target)
            return
        spec = self._spec(target)
        if spec.kind is Kind.STR:
            raise MappingError(f"{target} takes text; no MIDI control can drive it")
        self._start_learn(_LearnTarget(param=target))

    def learn_action(self, action: str, arg: int | str | tuple[str, str] | None = None, *,
                     preset: int | str | None = None) -> None:
        """Bind the next note received to an action of the action table (engine.params.actions)
        with its argument (``preset`` is the older name of ``arg``, for recall_preset)."""
        try:
            probe = NoteMapping(note=0, action=action, **({"preset": preset} if preset is not None else {"arg": arg}))
        except ValidationError as e:
            raise MappingError(one_line(f"{action}: {e.errors()[0]['msg'].removeprefix('Value error, ')}")) from None
        self._start_learn(_LearnTarget(action=probe.action, arg=probe.arg))

    def _start_learn(self, target: _LearnTarget) -> None:
        with self._lock:
            self._learn = target
            self._last_learned = None

    def cancel_learn(self) -> None:
        with self._lock:
            self._learn = None
            self._learned.notify_all()

    @property
    def learning(self) -> str | None:
        """What learn mode waits to bind (a parameter name or an action), or None."""
        with self._lock:
            t = self._learn
        return None if t is None else (t.param or t.action)

    def wait_learned(self, timeout: float | None = None) -> AnyMapping | None:
        """Block until learn mode binds a control (the new mapping), or None on timeout / cancel."""
        with self._lock:
            self._learned.wait_for(lambda: self._learn is None or self._last_learned is not None, timeout)
            return self._last_learned

    def _try_learn(self, target: _LearnTarget, kind: str, channel: int, number: int) -> AnyMapping | None:
        try:
            if kind == "cc":
                if target.param is None:
                    raise MappingError("actions bind to notes (pads, keys); press one")
                mapping = CCMapping(channel=channel, control=number, param=target.param)
            elif target.param is not None:
                mapping = NoteMapping(channel=channel, note=number, param=target.param)
            else:
                mapping = NoteMapping(channel=channel, note=number, action=target.action, arg=target.arg)
            mapping = resolve(mapping, self.store)
        except MappingError as e:
            self._warn.warning("learn", f"MIDI learn: {e}")
            return None
        with self._lock:
            if self._learn is not target:  # cancelled (or restarted) meanwhile
                return None
            self._mappings[mapping.key] = mapping  # one per control: relearning replaces
            self._pickup[mapping.key] = _Pickup()
            self._learn = None
            self._last_learned = mapping
            self._stats["learned"] += 1
            self._learned.notify_all()
        log.info("MIDI learn: %s", mapping.describe())
        self._changed()
        if self.on_learned is not None:
            self.on_learned(mapping)
        return mapping

    # -- messages -------------------------------------------------------------------------
    def handle(self, msg: Any) -> None:
        """Apply one mido message (control_change, note_on, note_off; others are ignored)."""
        kind = msg.type
        if kind == "control_change":
            key, data = ("cc", msg.channel + 1, msg.control), msg.value
        elif kind in ("note_on", "note_off"):
            key, data = ("note", msg.channel + 1, msg.note), (msg.velocity if kind == "note_on" else 0)
        else:
            return
        with self._lock:
            self._stats["received"] += 1
            target = self._learn
            mapping = self._mappings.get(key)
        if target is not None and (key[0] == "cc" or data > 0):
            if self._try_learn(target, *key) is not None:
                return
        if mapping is None:
            self._count("unmapped")
            return
        if isinstance(mapping, CCMapping):
            self._handle_cc(mapping, data)
        else:
            self._handle_note(mapping, data > 0)

    def _handle_cc(self, m: CCMapping, cc: int) -> None:
        spec = self._spec(m.param)
        if spec.kind is Kind.TRIGGER:
            with self._lock:
                state = self._pickup.setdefault(m.key, _Pickup())
                rising = cc_to_value(spec, m, cc) and (state.last_cc is None or not cc_to_value(spec, m, state.last_cc))
                state.last_cc = cc
            if rising:
                self._write(m, True)
            return
        value = cc_to_value(spec, m, cc)
        if m.takeover and spec.kind in RANGED_KINDS:
            current = self.store.get(m.param)
            with self._lock:
                state = self._pickup.setdefault(m.key, _Pickup())
                last, state.last_cc = state.last_cc, cc
                if not state.engaged:
                    target = value_to_cc(spec, m, current)
                    near = abs(cc - target) <= self.tolerance or value == current
                    crossed = last is not None and (last - target) * (cc - target) <= 0
                    if not (near or crossed):
                        self._count_locked("held")
                        return
                    state.engaged = True
        self._write(m, value)

    def _handle_note(self, m: NoteMapping, on: bool) -> None:
        if m.action is not None:
            if on:
                self._run_action(m)
            return
        if m.mode == "momentary":
            self._write(m, on)
        elif on and m.mode == "trigger":
            self._write(m, True)
        elif on:  # toggle
            self._write(m, not self.store.get(m.param))

    def _run_action(self, m: NoteMapping) -> None:
        try:
            if self.actions is not None:
                note = self.actions.trigger(m.action, m.arg, source=SOURCE)
                if isinstance(note, str) and m.action == "panic":  # black, but the safe preset did not come
                    self._warn.warning(f"action:{m.key}", f"MIDI {m.describe()}: {note}")
            elif m.action == "tap":  # without show actions, the registry's tap trigger is the tempo's input
                self.store.set("tap", True, source=SOURCE)
            else:
                raise RuntimeError(f"no show control is running to run {m.action}")
            self._count("applied")
        except Exception as e:  # an action refused (unknown preset, ...) never stops the MIDI input
            self._count("action_errors")
            self._warn.warning(f"action:{m.key}", f"MIDI {m.describe()}: {e}")

    def _write(self, m: AnyMapping, value: Any) -> None:
        self._tls.writing = m.key
        try:
            self.store.set(m.param, value, source=SOURCE)
        except ParamError as e:  # the registry validates; an invalid value never gets in
            self._count("refused")
            self._warn.warning(f"refused:{m.param}", f"MIDI {m.describe()}: {e}")
            return
        finally:
            self._tls.writing = None
        self._count("applied")

    # -- soft takeover: another surface moved a parameter ------------------------------------
    def _on_store_change(self, name: str, value: Any, source: Any) -> None:
        writer = getattr(self._tls, "writing", None) if source == SOURCE else None
        with self._lock:
            for key, m in self._mappings.items():
                if key != writer and m.param == name and isinstance(m, CCMapping):
                    state = self._pickup.get(key)
                    if state is not None:
                        state.engaged = False

    def engaged(self, kind: str, channel: int, number: int) -> bool | None:
        """Whether that CC mapping currently moves its parameter (None: no such mapping)."""
        with self._lock:
            state = self._pickup.get((kind, channel, number))
            return None if state is None else state.engaged

    # -- bookkeeping ----------------------------------------------------------------------
    def _spec(self, name: str):
        try:
            return self.store.spec(name)
        except ParamError as e:
            raise MappingError(str(e)) from None

    def _count(self, what: str) -> None:
        with self._lock:
            self._stats[what] += 1

    def _count_locked(self, what: str) -> None:
        self._stats[what] += 1

    def stats(self) -> dict[str, int]:
        """Counters: received, applied, unmapped, held (by soft takeover), refused, action_errors, learned."""
        with self._lock:
            return dict(self._stats)


__all__ = ["MidiRouter", "SOURCE", "ACTIONS"]
