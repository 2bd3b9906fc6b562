"""MIDI on the command line: ``dreamdeck live --midi [PORT]`` and
``dreamdeck midi ports | list | learn TARGET | unmap TARGET | load FILE``; a TARGET is a
parameter or an action of the action table (``--action`` for the names that are both,
``--arg`` for an action's argument: ``dreamdeck midi learn preset_recall --arg 3``).

``live`` and ``gui`` add the ``--midi*`` flags with ``add_midi_arguments(parser)``; the show session
(``app/session``) opens the port from them.  ``app/cli.py`` needs ``add_midi_parser(sub)``.
"""

from __future__ import annotations

import argparse

from engine.params.actions import RUNNABLE as ACTIONS
from engine.params.registry import ParamStore

from ..errors import UserError
from .errors import MidiError


def _port_options(g) -> None:
    g.add_argument("--midi-api", default=None, metavar="API",
                   help="MIDI system: LINUX_ALSA, UNIX_JACK, MACOSX_CORE, WINDOWS_MM (default: $DREAMDECK_MIDI_API, "
                        "else the first that starts)")
    g.add_argument("--midi-virtual", action="store_true",
                   help="open DreamDeck's own MIDI input port (DreamDeck:midi_in) for other software to connect to")


def add_midi_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("MIDI (pip install 'dreamdeck[midi]')")
    g.add_argument("--midi", nargs="?", const="", default=None, metavar="PORT",
                   help="take MIDI from this input port (a name or part of one; no name: the first port); "
                        "mappings come from the data folder (see 'dreamdeck midi')")
    _port_options(g)
    g.add_argument("--midi-map", default=None, metavar="FILE",
                   help="use these MIDI mappings for this run (e.g. presets/control-surfaces/generic-midi-controller.json)")


# -- dreamdeck midi ... -----------------------------------------------------------------

def add_midi_parser(sub) -> None:
    md = sub.add_parser("midi", help="list MIDI ports, learn and list MIDI mappings",
                        description="Direct MIDI control (pip install 'dreamdeck[midi]'). Mappings are kept in "
                                    "midi_mappings.json in DreamDeck's data folder ($DREAMDECK_DATA_DIR).")
    ms = md.add_subparsers(dest="midi_command", metavar="COMMAND", parser_class=type(md), required=True)
    pt = ms.add_parser("ports", help="list MIDI input ports")
    pt.add_argument("--midi-api", default=None, metavar="API", help="MIDI system (default: the first that starts)")
    pt.set_defaults(func=cmd_ports)
    ms.add_parser("list", help="list the saved mappings").set_defaults(func=cmd_list)
    for name, helptext, func in (("learn", "bind the next control moved (an action: the next pad or key pressed) "
                                           "to TARGET and save it", cmd_learn),
                                 ("unmap", "remove every mapping of TARGET", cmd_unmap)):
        p = ms.add_parser(name, help=helptext)
        p.add_argument("param", metavar="TARGET",
                       help="a parameter, or an action: " + ", ".join(ACTIONS))
        p.add_argument("--action", action="store_true",
                       help="TARGET is the action, for names that are a parameter too (blackout, freeze, tap, ...)")
        if name == "learn":
            p.add_argument("--arg", default=None, metavar="VALUE",
                           help="the action's argument (preset_recall: a preset name or 0-based index)")
            p.add_argument("--port", default=None, help="input port (a name or part of one; default: the first)")
            p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default %(default)s)")
            _port_options(p)
        p.set_defaults(func=func)
    ld = ms.add_parser("load", help="check a mappings file and make it the saved mappings")
    ld.add_argument("file")
    ld.set_defaults(func=cmd_load)


def _store() -> ParamStore:
    from engine.params.catalog import engine_store

    return engine_store()


def _saved(store: ParamStore) -> list:
    from .errors import MappingFileError
    from .mapping_file import default_path, read_mappings

    path = default_path()
    if not path.exists():
        return []
    try:
        return read_mappings(path, store)
    except MappingFileError as e:
        raise UserError(str(e)) from None


def cmd_ports(a) -> int:
    from .input import list_input_ports

    try:
        names = list_input_ports(a.midi_api)
    except MidiError as e:
        raise UserError(str(e)) from None
    print("\n".join(names) if names else "no MIDI input ports")
    return 0


def cmd_list(a) -> int:
    from .mapping_file import default_path

    mappings = _saved(_store())
    print(f"{default_path()}: {len(mappings)} mappings")
    for m in mappings:
        print("  " + m.describe())
    return 0


def _is_action(a, store: ParamStore) -> bool:
    """Whether the command names an action (``--action``, an argument, or a name only the action table has)."""
    return a.action or getattr(a, "arg", None) is not None or (a.param not in store.params and a.param in ACTIONS)


def _action_arg(text: str | None) -> int | str | None:
    """``--arg``: digits are an index (a preset named like a number is still found by name)."""
    return int(text) if text is not None and text.isascii() and text.isdigit() else text


def cmd_learn(a) -> int:
    from .input import MidiController

    store = _store()
    try:
        with MidiController(store, port_name=a.port, api=a.midi_api, virtual=a.midi_virtual) as ctl:
            if ctl.load_error:
                raise UserError(ctl.load_error)
            if _is_action(a, store):
                ctl.learn_action(a.param, _action_arg(a.arg))
                print(f"press a pad or key on {ctl.port_name} to bind it to action {a.param} ...", flush=True)
            else:
                ctl.learn(a.param)
                print(f"move a control on {ctl.port_name} to bind it to {a.param} ...", flush=True)
            mapping = ctl.wait_learned(a.timeout)
            if mapping is None:
                raise UserError(f"no control moved within {a.timeout:g} s")
            if ctl.save_error:
                raise UserError(ctl.save_error)
            print(f"learned: {mapping.describe()} (saved to {ctl.mappings_path})")
    except MidiError as e:
        raise UserError(str(e)) from None
    return 0


def cmd_unmap(a) -> int:
    from .mapping_file import default_path, write_mappings
    from .router import MidiRouter

    store = _store()
    router = MidiRouter(store)
    try:
        router.set_mappings(_saved(store))
        gone = router.unmap_action(a.param) if _is_action(a, store) else router.unmap_param(a.param)
        write_mappings(default_path(), router.mappings())
    except MidiError as e:
        raise UserError(str(e)) from None
    finally:
        router.close()
    print(f"removed {len(gone)} mapping(s) of {a.param}")
    return 0


def cmd_load(a) -> int:
    from .mapping_file import default_path, read_mappings, write_mappings

    try:
        mappings = read_mappings(a.file, _store())
        path = write_mappings(default_path(), mappings)
    except MidiError as e:
        raise UserError(str(e)) from None
    print(f"{len(mappings)} mappings saved to {path}")
    return 0
