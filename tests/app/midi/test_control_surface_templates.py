"""The shipped control-surface templates (presets/control-surfaces): every address they use
exists in the registry's OSC namespace, they match what the generator writes today, and
they parse as the formats they claim to be."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib

import pytest

from app.midi import NoteMapping, read_mappings
from app.midi.templates import TEMPLATE_DIR, generated_files
from app.midi.touchosc import osc_paths
from engine.params.catalog import engine_store
from engine.params.registry import Kind

ACTION_ADDRESSES = {"/dreamdeck/preset/recall", "/dreamdeck/tempo/tap"}


def _namespace():
    params = engine_store().params.values()
    exact = {p.osc_address: p for p in params}
    norm = {p.osc_address + "/norm": p for p in params if p.kind is not Kind.STR}
    return exact, norm


def _assert_known(addresses):
    exact, norm = _namespace()
    addresses = list(addresses)
    assert addresses
    unknown = [a for a in addresses if a not in exact and a not in norm and a not in ACTION_ADDRESSES]
    assert not unknown, f"addresses outside DreamDeck's OSC namespace: {unknown}"


def test_the_committed_templates_are_what_the_generator_writes():
    stale = [rel for rel, content in generated_files().items() if (TEMPLATE_DIR / rel).read_bytes() != content]
    assert not stale, f"stale templates {stale}: run python -m app.midi.templates"


def _widgets(node):
    for w in node.get("widgets", []) + node.get("tabs", []):
        yield w
        yield from _widgets(w)


def test_open_stage_control_session_uses_dreamdeck_addresses_and_ranges():
    session = json.loads((TEMPLATE_DIR / "open-stage-control/dreamdeck.json").read_text())
    assert session["type"] == "session" and session["createdWith"] == "Open Stage Control"
    assert session["content"]["type"] == "root"
    widgets = list(_widgets(session["content"]))
    _assert_known(w["address"] for w in widgets)
    exact, _ = _namespace()
    ids = [w["id"] for w in widgets]
    assert len(ids) == len(set(ids))
    faders = {w["address"]: w for w in widgets if w["type"] == "fader"}
    assert {"/dreamdeck/strength", "/dreamdeck/guidance_scale", "/dreamdeck/delta", "/dreamdeck/brightness",
            *(f"/dreamdeck/prompt/{i}/weight" for i in range(1, 5))} <= set(faders)
    for address, w in faders.items():
        p = exact[address]
        assert (w["range"]["min"], w["range"]["max"]) == (p.minimum, p.maximum)
    buttons = {(w["address"], w.get("on")): w["mode"] for w in widgets if w["type"] == "button"}
    assert buttons[("/dreamdeck/passthrough", 1)] == "toggle"
    assert buttons[("/dreamdeck/blackout_momentary", 1)] == "push"  # 1 while held, 0 on release
    assert buttons[("/dreamdeck/tempo/tap", 1)] == "tap"
    assert [buttons.get(("/dreamdeck/preset/recall", i)) for i in range(4)] == ["tap"] * 4


def test_touchosc_layout_is_zlib_xml_with_dreamdeck_addresses():
    raw = (TEMPLATE_DIR / "touchosc/dreamdeck.tosc").read_bytes()
    root = ET.fromstring(zlib.decompress(raw))
    assert root.tag == "lexml" and root.get("version") == "3"
    top = root.find("node")
    assert top.get("type") == "GROUP"
    kinds = [n.get("type") for n in top.find("children").findall("node")]
    assert kinds.count("FADER") == 8 and kinds.count("BUTTON") == 9
    paths = list(osc_paths(raw))
    _assert_known(paths)
    assert paths.count("/dreamdeck/preset/recall") == 4 and "/dreamdeck/blackout_momentary" in paths
    exact, _ = _namespace()
    for node in top.iter("node"):
        if node.get("type") != "FADER":
            continue
        path = "".join(p.findtext("value") for p in node.find("messages/osc/path").iter("partial"))
        arg = node.find("messages/osc/arguments/partial")
        p = exact[path]
        assert (float(arg.findtext("scaleMin")), float(arg.findtext("scaleMax"))) == (p.minimum, p.maximum)


def test_generic_midi_mapping_loads_and_its_bridge_uses_dreamdeck_addresses():
    store = engine_store()
    mappings = read_mappings(TEMPLATE_DIR / "generic-midi-controller.json", store)
    ccs = sorted(m.control for m in mappings if m.type == "cc")
    notes = sorted(m.note for m in mappings if m.type == "note")
    assert ccs == list(range(0, 8)) + list(range(16, 24))
    assert notes == list(range(32, 40)) + list(range(48, 56))
    assert NoteMapping(note=33, param="blackout_momentary", mode="momentary") in mappings
    bridge = (TEMPLATE_DIR / "open-stage-control/dreamdeck-midi-bridge.js").read_text()
    _assert_known(re.findall(r'"(/dreamdeck/[^"]*)"', bridge))


def test_the_open_stage_control_bridge_forwards_midi_as_dreamdeck_osc():
    """Runs the custom module in Node with Open Stage Control's send() replaced by a recorder."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed (optional: this check runs the Open Stage Control module)")
    module = TEMPLATE_DIR / "open-stage-control/dreamdeck-midi-bridge.js"
    script = f"""
        const sent = []
        global.send = (host, port, address, arg) => sent.push([host, port, address, arg.type, arg.value])
        const m = require({json.dumps(str(module))})
        const midi = (address, ...values) => m.oscInFilter({{address, host: 'midi', port: 'controller',
                                                              args: values.map(value => ({{type: 'i', value}}))}})
        midi('/control', 1, 0, 127)      // fader 1 -> strength
        midi('/control', 1, 23, 0)       // bpm knob, sub-range 60..180
        midi('/control', 2, 0, 64)       // other channel: not ours
        midi('/note', 1, 32, 100); midi('/note', 1, 32, 0); midi('/note', 1, 32, 100)  // toggle passthrough
        midi('/note', 1, 33, 100); midi('/note', 1, 33, 0)  // blackout while held
        midi('/note', 1, 38, 100)        // tap
        midi('/note', 1, 50, 100)        // preset 2
        const passed = m.oscInFilter({{address: '/dreamdeck/freeze', host: '127.0.0.1', port: 9000,
                                       args: [{{type: 'i', value: 1}}]}})
        midi('/note', 1, 35, 100)        // freeze was switched on elsewhere: this press turns it off
        console.log(JSON.stringify({{sent, passed: passed.address}}))
    """
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True).stdout
    result = json.loads(out)
    sent = [s[2:] for s in result["sent"]]
    assert all(s[:2] == ["127.0.0.1", 9000] for s in result["sent"])
    assert sent == [
        ["/dreamdeck/strength/norm", "f", 1],
        ["/dreamdeck/bpm/norm", "f", pytest.approx((60 - 20) / 280)],
        ["/dreamdeck/passthrough", "i", 1],
        ["/dreamdeck/passthrough", "i", 0],
        ["/dreamdeck/blackout_momentary", "i", 1],
        ["/dreamdeck/blackout_momentary", "i", 0],
        ["/dreamdeck/tempo/tap", "i", 1],
        ["/dreamdeck/preset/recall", "i", 2],
        ["/dreamdeck/freeze", "i", 0],
    ]
    assert result["passed"] == "/dreamdeck/freeze"  # feedback still reaches the widgets
