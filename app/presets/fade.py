"""How a preset recall moves each value from where it is to where the preset says.

A :class:`FadePlan` is built once, at the moment the recall starts, from the current
values and the preset's (partial) values; it then answers "which values at progress
p" (0..1) for every tick of the fade.

Rules:

* live numbers (float, int) interpolate linearly; ints round;
* on/off, choices, text and reload-level parameters (model, size, steps, ...) switch
  at the start (switching at the start keeps a recall's switches on the beat it was
  quantised to); reload-level values take effect when the stream is next prepared;
* weighted slots (``prompt.N.text`` + ``prompt.N.weight``, ``seed.N.value`` +
  ``seed.N.weight``): the identity (text, seed) never interpolates; a weight does:

  - same identity: the weight interpolates;
  - new identity on a slot whose weight is 0 now: the identity switches at the start
    (invisible at weight 0) and the weight rises to its target;
  - new identity with target weight 0: the weight falls to 0, the identity switches
    at the end;
  - new identity on a slot that is showing (weight > 0) with a target weight > 0: a
    true crossfade when another slot of the group is idle (weight 0 now and after
    the recall): the idle slot carries the incoming identity and rises from 0 to the
    target weight while the old one falls to 0; at the end, in one update, the new
    identity and weight move to their own slot and the idle slot returns to weight 0
    (the blend is unchanged by that swap, the engine's caches are keyed by text/seed,
    so nothing is recomputed).  Without an idle slot the weight dips through 0 at the
    midpoint, where the identity switches.  (Blends are normalised, so a slot that is
    the only one showing cuts at that midpoint; an idle slot avoids that.)

The end of a fade writes the exact target values (no float residue).

Composition (a recall that starts while another fades, see app/presets/recall.py):
the new plan takes over what its preset names, together with what must move with
them (``links``: a weighted slot's identity and weight, and the idle slot a crossfade
borrowed), and is built with ``reserved`` = what the older fades still move, so it
never borrows a slot they are using; the older plans ``drop`` what it took.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from engine.params.registry import Apply, Kind, Param

_SLOT_IDENTITY = re.compile(r"^(?P<group>.+)\.(?P<n>\d+)\.(?:text|value)$")


@dataclass
class Track:
    """A piecewise-linear value over progress 0..1: ``keys`` are (progress, value), ascending."""

    keys: list[tuple[float, float]]
    integer: bool = False

    def at(self, p: float) -> float | int:
        keys = self.keys
        if p <= keys[0][0]:
            v = keys[0][1]
        elif p >= keys[-1][0]:
            v = keys[-1][1]
        else:
            v = keys[-1][1]
            for (p0, v0), (p1, v1) in zip(keys, keys[1:]):
                if p0 <= p <= p1:
                    v = v0 if p1 == p0 else v0 + (v1 - v0) * (p - p0) / (p1 - p0)
                    break
        return int(round(v)) if self.integer else float(v)


@dataclass
class FadePlan:
    tracks: dict[str, Track] = field(default_factory=dict)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (progress, switches)
    final: dict[str, Any] = field(default_factory=dict)
    links: list[set[str]] = field(default_factory=list)  # names handed over together (see linked_targets)

    def values_at(self, p: float) -> dict[str, Any]:
        """Every value this plan drives, at progress ``p``; at 1 exactly the final values."""
        if p >= 1.0:
            return dict(self.final)
        out: dict[str, Any] = {}
        for at, switches in sorted(self.events, key=lambda e: e[0]):
            if at <= p:
                out.update(switches)
        for name, track in self.tracks.items():
            out[name] = track.at(p)
        return out

    def names(self) -> set[str]:
        names = set(self.tracks) | set(self.final)
        for _, switches in self.events:
            names |= set(switches)
        return names

    def drop(self, names: Iterable[str]) -> None:
        """Stop driving these parameters (someone else moved them, or a newer recall took them over)."""
        for n in names:
            self.tracks.pop(n, None)
            self.final.pop(n, None)
            for _, switches in self.events:
                switches.pop(n, None)

    def moving(self, current: Mapping[str, Any]) -> set[str]:
        """The parameters this plan will still change, seen from ``current``."""
        out = set(self.tracks) | {n for n, v in self.final.items() if current.get(n) != v}
        for _, switches in self.events:
            out |= {n for n, v in switches.items() if current.get(n) != v}
        return out

    def linked_targets(self, names: Iterable[str]) -> dict[str, Any]:
        """The final values of what must be handed over together with ``names`` (and is not among them):
        the other half of a weighted slot, the idle slot a crossfade of that slot borrowed."""
        names = set(names)
        out: dict[str, Any] = {}
        for link in self.links:
            if link & names:
                out.update({n: self.final[n] for n in link - names if n in self.final})
        return out


def weighted_slots(params: Mapping[str, Param]) -> dict[str, list[tuple[str, str]]]:
    """{group: [(identity name, weight name), ...] in slot order}, e.g. prompt -> [(prompt.1.text, prompt.1.weight), ...]."""
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for name in params:
        m = _SLOT_IDENTITY.match(name)
        if m:
            weight = f"{m['group']}.{m['n']}.weight"
            if weight in params and params[weight].kind is Kind.FLOAT:
                groups.setdefault(m["group"], []).append((int(m["n"]), name, weight))
    return {g: [(i, w) for _, i, w in sorted(slots)] for g, slots in groups.items()}


def build_plan(
    current: Mapping[str, Any], target: Mapping[str, Any], params: Mapping[str, Param], reserved: Iterable[str] = ()
) -> FadePlan:
    """The plan that takes ``current`` to ``target`` (validated values of a subset of ``params``).
    A weighted slot with a name in ``reserved`` (an older fade still moves it) is never borrowed as idle."""
    reserved = set(reserved)
    plan = FadePlan(final=dict(target))
    start: dict[str, Any] = {}
    middle: dict[str, Any] = {}
    slot_names: set[str] = set()
    for slots in weighted_slots(params).values():
        slot_names |= {n for pair in slots for n in pair}
        _plan_slots(plan, start, middle, slots, current, target, reserved)
    for name, value in target.items():
        if name in slot_names:
            continue
        p = params[name]
        if p.apply is Apply.LIVE and p.kind in (Kind.FLOAT, Kind.INT):
            if current[name] != value:
                plan.tracks[name] = Track([(0.0, float(current[name])), (1.0, float(value))], integer=p.kind is Kind.INT)
        else:
            start[name] = value
    plan.events = [(0.0, start), (0.5, middle)]
    return plan


def _plan_slots(plan: FadePlan, start: dict, middle: dict, slots, current, target, reserved: set[str]) -> None:
    state = []  # (identity, weight, identity now, weight now, identity after, weight after, touched)
    for ident, weight in slots:
        t0, w0 = current[ident], float(current[weight])
        t1, w1 = target.get(ident, t0), float(target.get(weight, w0))
        state.append((ident, weight, t0, w0, t1, w1, ident in target or weight in target))
    crossing = [s for s in state if s[6] and s[2] != s[4] and s[3] > 0.0 and s[5] > 0.0]
    idle = [s for s in state if s[3] == 0.0 and s[5] == 0.0 and not {s[0], s[1]} & reserved]
    helper_of = {s[0]: idle.pop(0) for s in crossing if idle}
    helpers = {h[0] for h in helper_of.values()}
    for ident, weight, t0, w0, t1, w1, touched in state:
        if not touched or ident in helpers:
            continue
        plan.final[ident], plan.final[weight] = t1, w1
        plan.links.append({ident, weight})
        if t1 == t0:
            if w0 != w1:
                plan.tracks[weight] = Track([(0.0, w0), (1.0, w1)])
        elif w0 == 0.0:  # unseen now: switch at once, then fade in
            start[ident] = t1
            plan.tracks[weight] = Track([(0.0, 0.0), (1.0, w1)])
        elif w1 == 0.0:  # fade out; the new identity lands at the end, unseen
            plan.tracks[weight] = Track([(0.0, w0), (1.0, 0.0)])
        elif ident in helper_of:  # true crossfade through an idle slot
            h_ident, h_weight, _, _, h_t1, _, _ = helper_of[ident]
            plan.tracks[weight] = Track([(0.0, w0), (1.0, 0.0)])
            start[h_ident] = t1
            plan.tracks[h_weight] = Track([(0.0, 0.0), (1.0, w1)])
            plan.final[h_ident], plan.final[h_weight] = h_t1, 0.0
            plan.links[-1] |= {h_ident, h_weight}
        else:  # no idle slot: dip through 0 at the midpoint, switch there
            plan.tracks[weight] = Track([(0.0, w0), (0.5, 0.0), (1.0, w1)])
            middle[ident] = t1
