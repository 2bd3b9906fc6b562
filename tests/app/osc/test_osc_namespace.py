"""The address scheme and its conversions (pure functions; the UDP tests are elsewhere)."""

from __future__ import annotations

import math
import struct

import pytest

from app.osc import namespace as ns
from app.osc.packets import problem
from engine.params.catalog import engine_store
from engine.params.registry import Kind

PARAMS = engine_store().params


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def test_every_parameter_has_its_addresses_once():
    routes = ns.routes(PARAMS.values())
    addresses = [r.address for r in routes]
    assert len(addresses) == len(set(addresses))
    for p in PARAMS.values():
        assert p.osc_address in addresses and p.osc_address + "/get" in addresses
        assert (p.osc_address + "/norm" in addresses) == (p.kind is not Kind.STR)
    assert {a.osc_address for a in ns.ACTIONS} <= set(addresses)  # and none collides with a parameter's


@pytest.mark.parametrize("name", [n for n, p in PARAMS.items() if ns.has_norm(p) and p.kind is not Kind.TRIGGER])
def test_norm_spans_the_range_and_round_trips(name):
    p = PARAMS[name]
    lo, hi = ns.value_from_norm(p, 0.0), ns.value_from_norm(p, 1.0)
    if p.kind is Kind.CHOICE:
        assert (lo, hi) == (p.choices[0], p.choices[-1])
    elif p.kind is Kind.BOOL:
        assert (lo, hi) == (False, True)
    else:
        assert (lo, hi) == (p.minimum, p.maximum)
    for i in range(101):
        v = ns.value_from_norm(p, f32(i / 100))
        assert p.validate(v) == v  # always a value the parameter accepts
        assert ns.value_from_norm(p, f32(ns.value_to_norm(p, v))) == pytest.approx(v, rel=1e-6) if isinstance(v, float) \
            else ns.value_from_norm(p, f32(ns.value_to_norm(p, v))) == v


def test_norm_details():
    g = PARAMS["guidance"]  # 4 choices: equal bins, and k/(n-1) steps land on each
    assert [ns.value_from_norm(g, x) for x in (0.0, 0.24, 0.26, 1 / 3, 2 / 3, 0.99, 1.0)] == \
        ["none", "none", "self", "self", "initialize", "full", "full"]
    steps = PARAMS["steps"]  # ints snap to whole steps over their range
    assert [ns.value_from_norm(steps, x) for x in (0.0, 0.5, 1.0)] == [1, 5, 8]
    size = PARAMS["size"]  # text: a long side as an int or text, or WxH; no 0..1 form
    assert ns.value_from_osc(size, 512) == "512" and ns.value_from_osc(size, "768X432") == "768x432"
    with pytest.raises(ns.OscValueError) as e:
        ns.value_from_norm(size, 0.5)
    assert e.value.category == ns.WRONG_TYPE
    with pytest.raises(ns.OscValueError) as e:
        ns.value_from_norm(PARAMS["strength"], 1.01)
    assert e.value.category == ns.OUT_OF_RANGE
    with pytest.raises(ns.Ignore):
        ns.value_from_norm(PARAMS["tap"], 0.4)


def test_float32_at_a_bound_counts_as_the_bound():
    s = PARAMS["strength"]  # 0.02 .. 1.0; 0.02 is not a float32
    assert f32(0.02) < 0.02 and ns.value_from_osc(s, f32(0.02)) == 0.02
    with pytest.raises(ns.OscValueError):
        ns.value_from_osc(s, f32(0.0199))


@pytest.mark.parametrize("name, arg, category", [
    ("strength", "0.5", ns.WRONG_TYPE),
    ("strength", math.nan, ns.NOT_FINITE),
    ("strength", -math.inf, ns.NOT_FINITE),
    ("strength", 1.5, ns.OUT_OF_RANGE),
    ("steps", 2.5, ns.BAD_VALUE),
    ("steps", 9, ns.OUT_OF_RANGE),
    ("size", 5000, ns.BAD_VALUE),
    ("size", "12x", ns.BAD_VALUE),
    ("blackout", 0.5, ns.OUT_OF_RANGE),
    ("blackout", b"\x01", ns.WRONG_TYPE),
    ("prompt.1.text", "x" * 1001, ns.TOO_LONG),
    ("prompt.1.text", 3, ns.WRONG_TYPE),
    ("guidance", "loud", ns.BAD_VALUE),
    ("guidance", 4, ns.OUT_OF_RANGE),
    ("guidance", None, ns.WRONG_TYPE),
    ("tap", 2, ns.OUT_OF_RANGE),
])
def test_refusals_are_categorised(name, arg, category):
    with pytest.raises(ns.OscValueError) as e:
        ns.value_from_osc(PARAMS[name], arg)
    assert e.value.category == category


def test_values_go_out_in_types_every_surface_reads():
    assert ns.value_to_osc(PARAMS["blackout"], True) == 1 and type(ns.value_to_osc(PARAMS["blackout"], True)) is int
    assert ns.value_to_osc(PARAMS["steps"], 3) == 3
    assert ns.value_to_osc(PARAMS["strength"], 0.5) == 0.5
    assert ns.value_to_osc(PARAMS["guidance"], "self") == "self"
    for p in PARAMS.values():  # what goes out is accepted back
        if p.kind is not Kind.TRIGGER:
            assert ns.value_from_osc(p, ns.value_to_osc(p, p.default)) == p.default


def test_packet_framing_checks():
    assert problem(b"/dreamdeck/strength\0,f\0\0\0\0\0\0") is None
    assert problem(b"/dreamdeck/tap\0\0") is None
    assert problem(b"hello") == "not an OSC message or bundle"
    assert problem(b"/x\0\0,Q\0\0") == "unknown type tag"
    assert problem(b"/dreamdeck/strength") is not None
    nested = b"/x\0\0"
    for _ in range(20):
        nested = b"#bundle\0" + bytes(8) + len(nested).to_bytes(4, "big") + nested
    assert "nested" in problem(nested)
