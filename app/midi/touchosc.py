"""A small writer for TouchOSC (2022+) layouts: a ``.tosc`` file is zlib-compressed XML,
``<lexml version='3'>`` holding one root ``GROUP`` node whose children are controls.

Each node carries typed ``<property>`` elements (b bool, i int, f float, s string,
c colour, r frame), ``<values>`` (``x`` for faders and buttons, ``text`` for labels,
``touch``) and ``<messages>``.  An OSC message is a path made of partials and argument
partials: ``VALUE`` partials send a value scaled from 0..1 onto ``scaleMin..scaleMax``
(TouchOSC scales incoming feedback back the same way), ``CONSTANT`` partials send a
fixed value.  The element names and property sets follow layouts saved by TouchOSC's
own editor.  Node IDs are derived from the control names, so the output is
reproducible byte for byte.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass, field
from typing import Iterable

_NS = uuid.UUID("6f1d6f0e-5d2b-4c1e-9f57-6472656d6463")  # fixed: reproducible node IDs

BUTTON_MOMENTARY, BUTTON_TOGGLE_RELEASE = 0, 1


def _cdata(text: str) -> str:
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def prop(kind: str, key: str, value) -> str:
    if kind == "s":
        body = _cdata(value)
    elif kind == "c":
        body = "".join(f"<{k}>{_num(float(c))}</{k}>" for k, c in zip("rgba", value))
    elif kind == "r":
        body = "".join(f"<{k}>{int(c)}</{k}>" for k, c in zip("xywh", value))
    elif kind == "b":
        body = "1" if value else "0"
    else:
        body = _num(value)
    return f"<property type='{kind}'><key>{_cdata(key)}</key><value>{body}</value></property>"


def value(key: str, default: str) -> str:
    return (f"<value><key>{_cdata(key)}</key><locked>0</locked><lockedDefaultCurrent>0</lockedDefaultCurrent>"
            f"<default>{_cdata(default)}</default><defaultPull>0</defaultPull></value>")


def _partial(kind: str, conversion: str, content: str, lo: float = 0, hi: float = 1) -> str:
    return (f"<partial><type>{kind}</type><conversion>{conversion}</conversion><value>{_cdata(content)}</value>"
            f"<scaleMin>{_num(lo)}</scaleMin><scaleMax>{_num(hi)}</scaleMax></partial>")


def osc_message(address: str, *, arg: tuple | None = ("VALUE", "FLOAT", "x", 0, 1),
                condition: str = "ANY", receive: bool = True) -> str:
    """One OSC message sent when ``x`` changes (``condition`` ANY, or RISE for press only)."""
    args = _partial(*arg) if arg else ""
    return ("<osc><enabled>1</enabled><send>1</send>"
            f"<receive>{1 if receive else 0}</receive><feedback>0</feedback><noDuplicates>0</noDuplicates>"
            "<connections>00001</connections>"
            f"<triggers><trigger><var>{_cdata('x')}</var><condition>{condition}</condition></trigger></triggers>"
            f"<path>{_partial('CONSTANT', 'STRING', address)}</path><arguments>{args}</arguments></osc>")


@dataclass
class Node:
    type: str  # GROUP, FADER, BUTTON, LABEL
    name: str
    frame: tuple[int, int, int, int]
    color: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 1.0)
    props: dict = field(default_factory=dict)  # key -> (type letter, value), beyond the common ones
    values: tuple[tuple[str, str], ...] = ()
    messages: str = ""
    children: list["Node"] = field(default_factory=list)

    def xml(self) -> str:
        common = {"background": ("b", True), "color": ("c", self.color), "cornerRadius": ("f", 4.0),
                  "frame": ("r", self.frame), "name": ("s", self.name), "grabFocus": ("b", self.type != "GROUP"),
                  "interactive": ("b", self.type in ("FADER", "BUTTON")), "locked": ("b", False),
                  "orientation": ("i", 0), "outline": ("b", True), "outlineStyle": ("i", 0),
                  "pointerPriority": ("i", 0), "shape": ("i", 1), "visible": ("b", True)}
        common.update(self.props)
        props = "".join(prop(t, k, v) for k, (t, v) in sorted(common.items()))
        values = "".join(value(k, d) for k, d in (*self.values, ("touch", "false")))
        node_id = uuid.uuid5(_NS, self.name)
        out = f"<node ID='{node_id}' type='{self.type}'><properties>{props}</properties><values>{values}</values>"
        if self.messages:
            out += f"<messages>{self.messages}</messages>"
        if self.children:
            out += "<children>" + "".join(c.xml() for c in self.children) + "</children>"
        return out + "</node>"


def fader(name: str, frame, address: str, lo: float, hi: float, color) -> Node:
    props = {"bar": ("b", True), "barDisplay": ("i", 0), "centered": ("b", False), "cursor": ("b", True),
             "cursorDisplay": ("i", 0), "grid": ("b", True), "gridColor": ("c", (0.5, 0.5, 0.5, 1.0)),
             "gridSteps": ("i", 10), "response": ("i", 0), "responseFactor": ("i", 100)}
    return Node("FADER", name, frame, color, props, (("x", "0"),),
                osc_message(address, arg=("VALUE", "FLOAT", "x", lo, hi)))


def button(name: str, frame, address: str, color, *, toggle: bool = False, constant: int | None = None) -> Node:
    """A button sending x (1 pressed / 0 released, or on / off as a toggle) to ``address``;
    with ``constant`` it sends that integer once per press instead (preset recall by index)."""
    props = {"buttonType": ("i", BUTTON_TOGGLE_RELEASE if toggle else BUTTON_MOMENTARY), "press": ("b", True),
             "release": ("b", True), "valuePosition": ("b", False)}
    if constant is None:
        msg = osc_message(address, arg=("VALUE", "FLOAT", "x", 0, 1))
    else:
        msg = osc_message(address, arg=("CONSTANT", "INTEGER", str(constant), 0, 1), condition="RISE", receive=False)
    return Node("BUTTON", name, frame, color, props, (("x", "0"),), msg)


def label(name: str, frame, text: str, size: int = 14) -> Node:
    props = {"background": ("b", False), "outline": ("b", False), "font": ("i", 0), "textAlignH": ("i", 2), "textClip": ("b", True),
             "textColor": ("c", (1.0, 1.0, 1.0, 1.0)), "textLength": ("i", 0), "textSize": ("i", size)}
    return Node("LABEL", name, frame, (0.0, 0.0, 0.0, 0.0), props, (("text", text),))


def layout_xml(root: Node) -> str:
    return "<?xml version='1.0' encoding='UTF-8'?><lexml version='3'>" + root.xml() + "</lexml>"


def write_tosc(root: Node) -> bytes:
    """The ``.tosc`` bytes: the layout XML, zlib-compressed."""
    return zlib.compress(layout_xml(root).encode("utf-8"), 9)


def osc_paths(tosc: bytes) -> Iterable[str]:
    """Every constant OSC path in a ``.tosc`` file (for checks)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(zlib.decompress(tosc))
    for path in root.iter("path"):
        yield "".join(p.findtext("value") or "" for p in path.iter("partial"))
