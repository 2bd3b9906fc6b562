"""``dreamdeck osc-docs``: the OSC address reference, generated from the registry.

The committed ``docs/osc.md`` is this module's output; a test regenerates it in memory
and fails when the file is stale, so run ``dreamdeck osc-docs`` after adding a parameter.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Iterable

from engine.params.registry import Kind, Param

from . import namespace as ns
from ..presets.store import MAX_PRESETS
from .server import DEFAULT_HOST, DEFAULT_PORT, MAX_REPLIES_PER_PACKET, MAX_REPLY_BYTES_PER_PACKET

DEFAULT_OUTPUT = "docs/osc.md"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(p: Param) -> str:
    if p.kind is Kind.TRIGGER:
        return "-"
    v = ns.value_to_osc(p, p.default)
    return f'`"{v}"`' if isinstance(v, str) else f"`{v:g}`" if isinstance(v, float) else f"`{v}`"


def _range(p: Param) -> str:
    if p.kind is Kind.STR and p.name == "size":
        return "a long side (i or s, e.g. 512) or `WxH` (e.g. `768x448`)"
    if p.kind is Kind.STR:
        return f"up to {p.max_length} characters"
    if p.kind is Kind.BOOL:
        return "1 / 0"
    if p.kind is Kind.TRIGGER:
        return "1 fires, 0 ignored"
    if p.kind is Kind.CHOICE:
        return " \\| ".join(f"`{c}`" for c in p.choices)
    fmt = (lambda v: str(int(v))) if p.kind is Kind.INT else (lambda v: f"{v:g}")
    text = f"{fmt(p.minimum)} .. {fmt(p.maximum)}"
    if p.multiple_of:
        text += f", multiples of {p.multiple_of}"
    return text


def _norm(p: Param) -> str:
    if not ns.has_norm(p):
        return "-"
    return {
        Kind.FLOAT: "linear",
        Kind.INT: "rounded",
        Kind.BOOL: ">= 0.5 is on",
        Kind.TRIGGER: ">= 0.5 fires",
        Kind.CHOICE: "equal bins",
    }[p.kind]


def _actions_section() -> list[str]:
    """The action table (engine.params.actions): one row per action, in table order."""
    rows = [
        "## Actions",
        "",
        "Verbs rather than values, from one table that the console's buttons and keys, MIDI note mappings"
        " (`\"action\": \"<name>\"`) and this list share. Addresses follow `/dreamdeck/<thing>/<verb>`: preset"
        " actions under `/dreamdeck/preset/`, a toggle at its parameter's address plus `/toggle` (it flips what"
        " the parameter's own address sets), tap tempo at `/dreamdeck/tempo/tap`, PANIC at `/dreamdeck/panic`,"
        " and the cue under `/dreamdeck/cue/`: the next look, loaded from a preset or the output (the program)"
        " and edited off-air in the console, goes to the output on `take` with the preset crossfade."
        " An action without an argument fires on an address-only message or 1 and ignores 0 (a button's release).",
        "",
        "| action | address | argument | effect | key |",
        "|---|---|---|---|---|",
    ]
    for a in ns.ACTIONS:
        effect = a.description + (f". {ns.ACTION_ANSWERS[a.name]}" if a.name in ns.ACTION_ANSWERS else "")
        key = f"`{a.key}`" if a.key else "-"
        rows.append(f"| `{a.name}` | `{a.osc_address}` | {_cell(ns.action_osc_argument(a))} | {_cell(effect)} | {key} |")
    return rows + [""]


def render_reference(params: Iterable[Param]) -> str:
    params = list(params)
    lines = [
        "# DreamDeck OSC reference",
        "",
        "<!-- Generated from the parameter registry by `dreamdeck osc-docs`; do not edit by hand. -->",
        "",
        f"DreamDeck listens for OSC over UDP on `{DEFAULT_HOST}:{DEFAULT_PORT}` by default"
        " (`dreamdeck live --osc-port N --osc-host ADDR`).",
        "Listening on the network needs an allow-list of sender addresses (`--osc-allow ADDR,...`);"
        " packets from anyone else are dropped and counted.",
        "",
        "## Forms of every address",
        "",
        "| form | argument | effect |",
        "|---|---|---|",
        "| `<address> value` | the value in the parameter's unit (type below) | sets it |",
        "| `<address>/norm x` | float 0..1 | sets it mapped onto its range: floats linearly, ints rounded,"
        " choices by equal bins (index = floor(x * count)), on/off and triggers at x >= 0.5 (not for text) |",
        "| `<address> \"?\"`, `<address>/get` | none | answers `<address> value` to the asking socket |",
        "| `<address>/norm \"?\"`, `<address>/norm/get` | none | answers `<address>/norm x` to the asking socket |",
        "",
        "* Triggers fire on 1 (a message without arguments fires too) and ignore 0.",
        "* On/off values are sent as int 1/0; they accept 1/0, T/F and the strings on/off, true/false.",
        "* Choices take the name as a string, or a 0-based int index.",
        "* Text takes a string; a single `\"?\"` is always a query.",
        "* The messages of one bundle apply together, in one frame; time tags are ignored (applied at once).",
        "* Values out of range, of the wrong type, NaN/inf or over-long strings are refused and counted, never clamped.",
        "",
        "## Answers",
        "",
        "Answers go to the asking socket (ip:port), from the port DreamDeck listens on. What one incoming packet"
        " can draw is capped (a bundle counts as one packet): at most"
        f" {MAX_REPLIES_PER_PACKET} answer datagrams and {MAX_REPLY_BYTES_PER_PACKET // 1024} KiB of answers."
        " Beyond that, answers are dropped, not queued, and counted (`replies_dropped` in the OSC stats);"
        " ask in several packets instead (UDP senders can be spoofed, so a small query must never draw a flood).",
        "",
        f"* `{ns.PRESET_LIST}` answers with one page of names: one datagram of at most"
        f" {ns.PRESET_LIST_PAGE_BYTES // 1024} KiB (about 100 names of 64 characters, several hundred short ones)."
        " If the list goes on, the page ends with an int argument, the index of the next name: send"
        f" `{ns.PRESET_LIST} <that index>` for the next page. A page without that int is the last one;"
        " string arguments are always names.",
        f"* `{ns.PRESET_SAVE}` makes a new preset only while the presets folder holds fewer than {MAX_PRESETS}"
        " (saving over an existing name still works); a refused save is counted (`action_refused`) and logged.",
        "",
        "## Feedback",
        "",
        "With `--osc-feedback HOST:PORT` every change, from any surface (GUI, preset recall, MIDI, another OSC peer),"
        " is sent to that target at `<address>` in the same types: one message per changed value, one bundle when"
        " one change touched several values. A preset recall sends one bundle when it starts (every value it"
        " switches, and the first step of every value it fades), then, while it crossfades, at most 10 bundles a"
        " second, each carrying every value that moved since the previous one, and one bundle with the final values"
        " when its fade ends (a recall with no fade time is one bundle). A recall that interrupts another is fed back"
        " the same way: the values the first one is still fading go out in the same bundles."
        " All values are sent once when the server starts, before the model has loaded."
        " A change is never echoed back to the peer it came from (same ip:port as the target).",
        "",
        *_actions_section(),
        "## Parameters",
        "",
        "Apply: `live` takes effect at the next frame; `reload` when the model or the output is prepared again.",
        "",
    ]
    groups: dict[str, list[Param]] = {}
    for p in params:
        groups.setdefault(p.group, []).append(p)
    for group, items in groups.items():
        lines += [
            f"### {group}",
            "",
            "| address | type | range | unit | default | /norm | apply | description |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in items:
            lines.append(
                f"| `{p.osc_address}` | {_cell(ns.osc_type(p))} | {_range(p)} | {_cell(p.unit) or '-'} | {_default(p)} |"
                f" {_norm(p)} | {p.apply.value} | {_cell(p.description)} |"
            )
        lines.append("")
    return "\n".join(lines)


def engine_reference() -> str:
    from engine.params.catalog import engine_store

    return render_reference(engine_store().params.values())


def write_reference(path: str | os.PathLike) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(engine_reference())
    return path


def cmd_osc_docs(a: argparse.Namespace) -> int:
    from ..errors import UserError

    out = Path(a.output)
    if not out.parent.is_dir():
        raise UserError(f"the folder of {a.output} does not exist: create it, or choose another --output")
    write_reference(out)
    print(f"wrote the OSC reference to {out}")
    return 0


def add_osc_docs_parser(sub) -> None:
    """Register ``dreamdeck osc-docs`` on the CLI's subparsers."""
    d = sub.add_parser("osc-docs", help="write the OSC address reference (generated from the parameter registry)")
    d.add_argument("--output", "-o", default=DEFAULT_OUTPUT, help="Markdown file to write (default %(default)s)")
    d.set_defaults(func=cmd_osc_docs)
