"""``dreamdeck preset list|save|show|rename|delete|recall`` and ``dreamdeck live --preset NAME``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.params.registry import Apply, Kind, ParamError

from ..errors import UserError, one_line
from ..flags import SAVE, add_flags, given, settle_size, show_in
from .errors import PresetError
from .fade import weighted_slots
from .store import PresetStore

def add_preset_parser(sub) -> None:
    """Add ``preset`` and its sub-commands to the top-level sub-parsers."""
    pr = sub.add_parser("preset", help="list, save, show, rename and delete presets (saved looks)",
                        description="Presets are saved looks: parameter values recalled live with a crossfade "
                                    "(OSC /dreamdeck/preset/recall, or 'dreamdeck live --preset NAME' at start).")
    ps = pr.add_subparsers(dest="preset_command", metavar="COMMAND", parser_class=type(pr), required=True)

    ps.add_parser("list", help="list user and shipped presets").set_defaults(func=cmd_list)

    sv = ps.add_parser("save", help="save a (partial) preset from options: only the values given are stored")
    sv.add_argument("name")
    add_flags(sv, SAVE)
    sv.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE", help="set any parameter (repeatable)")
    sv.add_argument("--description", default="", help="a line saying what the look is")
    sv.add_argument("--force", action="store_true", help="replace a user preset of the same name")
    sv.set_defaults(func=cmd_save)

    sh = ps.add_parser("show", help="print a preset as JSON (in the current format)")
    sh.add_argument("name")
    sh.set_defaults(func=cmd_show)

    rn = ps.add_parser("rename", help="rename a user preset")
    rn.add_argument("old")
    rn.add_argument("new")
    rn.add_argument("--force", action="store_true", help="replace a user preset called NEW")
    rn.set_defaults(func=cmd_rename)

    dl = ps.add_parser("delete", help="delete a user preset")
    dl.add_argument("name")
    dl.set_defaults(func=cmd_delete)

    rc = ps.add_parser("recall", help="show what recalling a preset would change (recall itself happens live)")
    rc.add_argument("name")
    rc.set_defaults(func=cmd_recall)


def _store() -> PresetStore:
    return PresetStore()


def cmd_list(a: argparse.Namespace) -> int:
    store = _store()
    infos = store.list()
    print(f"user presets: {store.directory}")
    if not infos:
        print("no presets (save one with 'dreamdeck preset save NAME --prompt ...')")
    width = max((len(i.name) for i in infos), default=0)
    for i in infos:
        try:
            p = store.load(i.name)
            about = f"{len(p.values)} value{'s' if len(p.values) != 1 else ''}" + (f"  {p.description}" if p.description else "")
        except PresetError as e:
            about = f"UNREADABLE: {e}"
        origin = i.origin + (" (replaces shipped)" if i.replaces_shipped else "")
        row = f"{i.name:<{width}}  {origin:<8}  {one_line(about)}"
        print(row if len(row) <= 160 else row[:159] + "…")
    return 0


def _save_values(a: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = given(a, SAVE)
    for item in a.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set takes PARAM=VALUE, e.g. --set strength=0.4; got {item!r}")
        values[name.strip()] = value
    return values


def cmd_save(a: argparse.Namespace) -> int:
    values = _save_values(a)
    if not values:
        raise UserError("nothing to save: give values with options such as --prompt TEXT, --strength 0.4 or --set PARAM=VALUE")
    store = _store()
    try:
        preset = store.save(a.name, values, description=a.description, overwrite=a.force)
    except PresetError as e:
        if "already exists" in str(e):
            raise PresetError(f"{e} (add --force to replace it)") from None
        raise
    print(f"saved preset {preset.name!r} ({len(preset.values)} value{'s' if len(preset.values) != 1 else ''}) to {preset.path}")
    return 0


def cmd_show(a: argparse.Namespace) -> int:
    p = _store().load(a.name)
    print(json.dumps(p.document().model_dump(), indent=2, ensure_ascii=False))
    return 0


def cmd_rename(a: argparse.Namespace) -> int:
    p = _store().rename(a.old, a.new, overwrite=a.force)
    print(f"renamed preset {a.old!r} to {p.name!r}")
    return 0


def cmd_delete(a: argparse.Namespace) -> int:
    store = _store()
    info = store.delete(a.name)
    after = " (the shipped preset of that name is listed again)" if info.replaces_shipped else ""
    print(f"deleted preset {info.name!r}{after}")
    return 0


def how_recalled(name: str, params) -> str:
    p = params[name]
    if p.apply is Apply.RELOAD:
        return "applies on reload"
    if any(name == ident for slots in weighted_slots(params).values() for ident, _ in slots):
        return "crossfades by weight"
    if p.kind in (Kind.FLOAT, Kind.INT):
        return "fades"
    return "switches at the start"


def cmd_recall(a: argparse.Namespace) -> int:
    from engine.params.catalog import engine_store

    defaults = engine_store()
    preset = _store().load(a.name)
    fade = defaults.get("preset_fade_time")
    changes = {n: v for n, v in preset.values.items() if defaults.get(n) != v}
    print(f"recalling {preset.name!r} ({preset.origin}) over preset_fade_time ({fade:g} s) would change, from the defaults:")
    for n, v in changes.items():
        print(f"  {n}: {defaults.get(n)!r} -> {v!r}  ({how_recalled(n, defaults.params)})")
    same = len(preset.values) - len(changes)
    if same:
        print(f"  and set {same} value{'s' if same != 1 else ''} equal to the defaults")
    print("a recall happens live: OSC /dreamdeck/preset/recall NAME, or 'dreamdeck live --preset NAME' at start")
    return 0


# -- dreamdeck live --preset -----------------------------------------------------------------
def add_live_preset_argument(group) -> None:
    group.add_argument("--preset", default=None, metavar="NAME",
                       help="start with this preset's values (options given on the command line win)")


def apply_live_preset(store, a: argparse.Namespace, presets: PresetStore | None = None):
    """Apply ``--preset NAME`` to the store (one update, source 'preset') before the show starts.

    Precedence: flags given on the command line > the preset > the registry's defaults.  The
    namespace's flags then show the values that run (so the model, size, ... the preset names are
    the ones loaded).  Raises PresetError (one line)."""
    name = getattr(a, "preset", None)
    if not name:
        return None
    preset = (presets or PresetStore(params=store.params)).load(name)
    typed = given(a)  # flags the user gave: they win over the preset
    values = {param: value for param, value in preset.values.items() if param not in typed}
    kept = [param for param in preset.values if param in typed]
    try:
        store.update(values, source="preset")
    except ParamError as e:  # the store's declarations differ from the presets' (cannot happen with the catalog)
        raise PresetError(f"preset {preset.name!r}: {e}") from None
    settle_size(a, store, preset.values)  # the preset's model decides the size no flag or preset gave
    show_in(a, store)  # the namespace shows what will run (the preset's model, size, ...)
    note = f"; the command line sets {', '.join(kept)}" if kept else ""
    print(f"preset {preset.name!r} ({preset.origin}): {len(values)} value{'s' if len(values) != 1 else ''}{note}", flush=True)
    return preset
