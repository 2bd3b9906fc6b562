"""The shipped control-surface templates in ``presets/control-surfaces/``, generated from
one table and the parameter registry (so ranges and addresses cannot drift):

* ``generic-midi-controller.json`` - direct MIDI mappings (``MidiController.load``) for a
  typical 8-fader / 8-knob controller: faders CC 0-7, knobs CC 16-23, buttons notes
  32-39, preset pads notes 48-55, all on channel 1;
* ``open-stage-control/dreamdeck.json`` - an Open Stage Control session whose widgets send
  to DreamDeck's OSC addresses;
* ``open-stage-control/dreamdeck-midi-bridge.js`` - an Open Stage Control custom module
  that forwards the same generic controller to the same OSC addresses;
* ``touchosc/dreamdeck.tosc`` - a TouchOSC layout with the same controls.

Regenerate after changing the table or the registry:
``python -m app.midi.templates`` (a test fails while the committed files are stale).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.params.actions import action
from engine.params.catalog import engine_store
from engine.params.registry import ParamStore

from . import touchosc as tosc
from .mapping import CCMapping, NoteMapping, resolve
from .mapping_file import dump_mappings

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "presets" / "control-surfaces"
PRESET_RECALL = action("preset_recall").osc_address
TEMPO_TAP = action("tap").osc_address
OSC_STAGE_VERSION = "1.26.2"  # the Open Stage Control session format written here
DREAMDECK_OSC = ("127.0.0.1", 9000)  # DreamDeck's default OSC listening address

# -- the generic controller (direct MIDI and the Open Stage Control bridge) -------------
FADER_CCS = dict(zip(range(0, 8), (
    "strength", "guidance_scale", "delta", "prompt.1.weight", "prompt.2.weight", "prompt.3.weight",
    "prompt.4.weight", "brightness")))
KNOB_CCS = dict(zip(range(16, 24), (
    "seed.1.weight", "seed.2.weight", "similarity_threshold", "passthrough_time", "fade_time",
    "preset_fade_time", "guidance", "bpm")))
SUB_RANGES = {"bpm": (60.0, 180.0)}  # a knob over 20..300 BPM is too coarse to set a tempo
BUTTON_NOTES = {32: "passthrough", 33: "blackout_momentary", 34: "blackout", 35: "freeze", 36: "fade_to_black",
                37: "similarity_filter", 38: "tap", 39: "watchdog"}
PRESET_NOTES = {48 + i: i for i in range(8)}  # recall presets 0..7 (0-based, in list order)


def generic_midi_mappings(store: ParamStore | None = None) -> list:
    store = store or engine_store()
    out: list = []
    for cc, name in {**FADER_CCS, **KNOB_CCS}.items():
        lo, hi = SUB_RANGES.get(name, (None, None))
        out.append(resolve(CCMapping(control=cc, param=name, lo=lo, hi=hi), store))
    for note, name in BUTTON_NOTES.items():
        out.append(NoteMapping(note=note, action="tap") if name == "tap"
                   else resolve(NoteMapping(note=note, param=name), store))
    out += [NoteMapping(note=n, action="preset_recall", arg=i) for n, i in PRESET_NOTES.items()]
    return out


def generic_midi_json(store: ParamStore | None = None) -> str:
    return dump_mappings(generic_midi_mappings(store), description=(
        "Generic 8-fader / 8-knob MIDI controller, channel 1: faders CC 0-7 (strength, guidance_scale, delta, "
        "prompt weights 1-4, brightness), knobs CC 16-23 (seed weights 1-2, similarity_threshold, passthrough_time, "
        "fade_time, preset_fade_time, guidance, bpm 60-180), buttons notes 32-39 (passthrough, blackout while held, "
        "blackout, freeze, fade_to_black, similarity_filter, tap tempo, watchdog), pads notes 48-55 recall presets "
        "0-7. Load it with MidiController.load(path), or copy it to the data folder as midi_mappings.json."))


def osc_address(store: ParamStore, name: str) -> str:
    return store.spec(name).osc_address


def bridge_module(store: ParamStore | None = None) -> str:
    """The Open Stage Control custom module forwarding the generic controller to DreamDeck."""
    store = store or engine_store()
    cc = {f"1:{c}": osc_address(store, n) + "/norm" for c, n in {**FADER_CCS, **KNOB_CCS}.items()}
    sub = {}
    for name, (lo, hi) in SUB_RANGES.items():
        spec = store.spec(name)
        sub[spec.osc_address + "/norm"] = [(v - spec.minimum) / (spec.maximum - spec.minimum) for v in (lo, hi)]
    notes = {}
    for note, name in BUTTON_NOTES.items():
        if name == "tap":
            notes[f"1:{note}"] = ["tap", TEMPO_TAP]
        else:
            mode = resolve(NoteMapping(note=note, param=name), store).mode
            notes[f"1:{note}"] = [mode, osc_address(store, name)] + ([store.spec(name).default] if mode == "toggle" else [])
    notes.update({f"1:{n}": ["preset", PRESET_RECALL, i] for n, i in PRESET_NOTES.items()})
    host, port = DREAMDECK_OSC
    return BRIDGE_JS.format(host=host, port=port, cc=_js_object(cc), sub=_js_object(sub), notes=_js_object(notes))


def _js_object(d: dict) -> str:
    return "{\n" + ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in d.items()) + "\n}"


BRIDGE_JS = """\
// DreamDeck MIDI bridge: an Open Stage Control custom module (generated by
// `python -m app.midi.templates`; edit the table there, not here).
//
// Forwards a generic controller (channel 1: faders CC 0-7, knobs CC 16-23, buttons
// notes 32-39, pads notes 48-55) to DreamDeck's OSC namespace.  Start Open Stage Control
// with, for example:
//
//   open-stage-control --load dreamdeck.json --custom-module dreamdeck-midi-bridge.js \\
//       --send 127.0.0.1:9000 --port 9001 --midi controller:<input port>,<output port>
//
// and DreamDeck with `dreamdeck live --osc-feedback 127.0.0.1:9001` so the widgets (and
// the toggle states below) follow changes from every surface.
var DREAMDECK_HOST = '{host}', DREAMDECK_PORT = {port}

// "channel:cc" -> address taking 0..1
var CC = {cc}

// addresses whose 0..1 covers only part of the parameter (e.g. bpm 60..180)
var SUB_RANGE = {sub}

// "channel:note" -> [mode, address, (toggle: DreamDeck's default | preset: index)]
var NOTES = {notes}

var toggled = {{}}  // address -> last known on/off (from DreamDeck's feedback or our own toggles)

function forward(address, type, value) {{
    send(DREAMDECK_HOST, DREAMDECK_PORT, address, {{type: type, value: value}})
}}

module.exports = {{
    oscInFilter: function(data) {{
        var {{address, args, host, port}} = data
        if (host !== 'midi') {{
            if (address in toggled && args.length) toggled[address] = !!args[0].value  // feedback
            return data
        }}
        var a = args.map(function(arg) {{ return arg.value }})
        if (address === '/control') {{
            var target = CC[a[0] + ':' + a[1]]
            if (target === undefined) return data
            var x = a[2] / 127, span = SUB_RANGE[target]
            if (span) x = span[0] + x * (span[1] - span[0])
            forward(target, 'f', x)
            return
        }}
        if (address === '/note') {{
            var note = NOTES[a[0] + ':' + a[1]]
            if (note === undefined) return data
            var on = a[2] > 0, mode = note[0], target = note[1]
            if (mode === 'momentary') forward(target, 'i', on ? 1 : 0)
            else if (!on) return
            else if (mode === 'toggle') {{
                toggled[target] = !toggled[target]
                forward(target, 'i', toggled[target] ? 1 : 0)
            }}
            else if (mode === 'preset') forward(target, 'i', note[2])
            else forward(target, 'i', 1)  // trigger, tap
            return
        }}
        return data
    }}
}}

for (var key in NOTES) if (NOTES[key][0] === 'toggle') toggled[NOTES[key][1]] = NOTES[key][2]
"""


# -- the touch surfaces (Open Stage Control session, TouchOSC layout) -------------------
@dataclass(frozen=True)
class Button:
    label: str
    address: str
    style: str  # toggle | push (1 while held) | tap (1 per press) | preset (index per press)
    preset: int | None = None


SURFACE_FADERS = ("strength", "guidance_scale", "delta", "prompt.1.weight", "prompt.2.weight", "prompt.3.weight",
                  "prompt.4.weight", "brightness")


def surface_buttons(store: ParamStore) -> list[list[Button]]:
    a = lambda n: osc_address(store, n)  # noqa: E731
    return [
        [Button("PASSTHROUGH", a("passthrough"), "toggle"), Button("BLACKOUT (hold)", a("blackout_momentary"), "push"),
         Button("BLACKOUT", a("blackout"), "toggle"), Button("FREEZE", a("freeze"), "toggle"),
         Button("TAP", TEMPO_TAP, "tap")],
        [Button(f"PRESET {i}", PRESET_RECALL, "preset", i) for i in range(4)],
    ]


COL_X, COL_W, FADER_TOP, FADER_H = 20, 130, 50, 400
ROW_TOPS = (500, 660)
BUTTON_H = 110
CYAN, ORANGE, RED, VIOLET, GREY = (0.1, 0.7, 0.9, 1.0), (1.0, 0.6, 0.1, 1.0), (0.9, 0.15, 0.15, 1.0), (0.6, 0.4, 1.0, 1.0), (0.2, 0.2, 0.2, 1.0)


def _x(col: int) -> int:
    return COL_X + col * (COL_W + 25)


def _color(b: Button):
    return RED if "blackout" in b.address else VIOLET if b.style == "preset" else ORANGE


def _widget_id(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")


def open_stage_control_session(store: ParamStore | None = None) -> str:
    store = store or engine_store()
    widgets = []
    for col, name in enumerate(SURFACE_FADERS):
        spec = store.spec(name)
        widgets.append({
            "type": "fader", "id": _widget_id(name), "top": FADER_TOP, "left": _x(col), "width": COL_W,
            "height": FADER_H, "html": name, "comments": spec.description, "design": "default", "pips": True,
            "range": {"min": spec.minimum, "max": spec.maximum}, "decimals": 2, "address": spec.osc_address,
            "preArgs": "", "typeTags": "", "target": "",
        })
    for top, row in zip(ROW_TOPS, surface_buttons(store)):
        for col, b in enumerate(row):
            w = {"type": "button", "id": _widget_id(b.label), "top": top, "left": _x(col), "width": COL_W,
                 "height": BUTTON_H, "label": b.label, "colorWidget": "#%02x%02x%02x" % tuple(int(c * 255) for c in _color(b)[:3]),
                 "address": b.address, "preArgs": "", "target": ""}
            if b.style == "toggle":
                w.update(mode="toggle", on=1, off=0, typeTags="i")
            elif b.style == "push":
                w.update(mode="push", on=1, off=0, typeTags="i")
            elif b.style == "tap":
                w.update(mode="tap", on=1, off=None, typeTags="i")
            else:
                w.update(mode="tap", on=b.preset, off=None, typeTags="i")
            widgets.append(w)
    session = {
        "createdWith": "Open Stage Control", "version": OSC_STAGE_VERSION, "type": "session",
        "content": {
            "type": "root", "id": "root",
            "comments": "DreamDeck control surface (generated by python -m app.midi.templates). Send to DreamDeck's "
                        "OSC port (open-stage-control --send 127.0.0.1:9000) and point DreamDeck's feedback here "
                        "(dreamdeck live --osc-feedback 127.0.0.1:<this server's --port>).",
            "widgets": widgets, "tabs": [],
        },
    }
    return json.dumps(session, indent=2) + "\n"


def touchosc_layout(store: ParamStore | None = None) -> bytes:
    store = store or engine_store()
    children = []
    for col, name in enumerate(SURFACE_FADERS):
        spec = store.spec(name)
        children.append(tosc.label(f"label {name}", (_x(col), 10, COL_W, 36), name))
        children.append(tosc.fader(name, (_x(col), FADER_TOP, COL_W, FADER_H), spec.osc_address,
                                   spec.minimum, spec.maximum, CYAN))
    for top, row in zip(ROW_TOPS, surface_buttons(store)):
        for col, b in enumerate(row):
            frame = (_x(col), top, COL_W, BUTTON_H)
            children.append(tosc.button(b.label, frame, b.address, _color(b), toggle=b.style == "toggle",
                                        constant=b.preset))
            children.append(tosc.label(f"label {b.label}", (_x(col), top - 40, COL_W, 36), b.label, size=12))
    root = tosc.Node("GROUP", "DreamDeck", (0, 0, 1280, 800), GREY, children=children)
    return tosc.write_tosc(root)


def generated_files(store: ParamStore | None = None) -> dict[str, bytes]:
    """Relative path under presets/control-surfaces -> content."""
    store = store or engine_store()
    return {
        "generic-midi-controller.json": generic_midi_json(store).encode(),
        "open-stage-control/dreamdeck.json": open_stage_control_session(store).encode(),
        "open-stage-control/dreamdeck-midi-bridge.js": bridge_module(store).encode(),
        "touchosc/dreamdeck.tosc": touchosc_layout(store),
    }


def write_all(folder: Path = TEMPLATE_DIR) -> list[Path]:
    written = []
    for rel, content in generated_files().items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE_DIR):
        print(p)
