"""The show's MIDI input: a port chosen at start or from the console, learn, and the shared mappings file.

Mappings live in ``midi_mappings.json`` in the data folder, shared with ``dreamdeck midi``; a mapping
learned here is saved there at once (unless a ``--midi-map`` file is in use, which is never saved over).
"""

from __future__ import annotations

import threading
from typing import Any

from .errors import SessionError
from .status import MidiState


class SessionMidi:
    def __init__(self, store, actions: Any = None, api: str | None = None, mapping_file: str | None = None,
                 data_dir: str | None = None, client_name: str | None = None):
        self.store, self.actions, self.api, self.mapping_file, self.data_dir = store, actions, api, mapping_file, data_dir
        self.client_name = client_name  # the MIDI client's name (default DreamDeck's; tests use their own)
        self.controller = None
        self._lock = threading.Lock()
        self._error: str | None = None
        self._learned: str | None = None

    # -- ports ---------------------------------------------------------------------------
    def ports(self) -> list[str]:
        from app.midi.errors import MidiError
        from app.midi.input import list_input_ports

        try:
            return list_input_ports(self.api, self.client_name)
        except MidiError as e:
            raise SessionError(str(e)) from None

    def open(self, port: str | None = None, virtual: bool = False) -> str:
        """Open ``port`` (a name or part of one; None: the first; ``virtual``: DreamDeck's own port), closing the
        one open now. Returns one line; SessionError (and MIDI stays as it was closed) when it cannot open."""
        from app.midi.errors import MidiError
        from app.midi.input import MidiController

        self.close()
        try:
            c = MidiController(self.store, self.actions, port, api=self.api, virtual=virtual, data_dir=self.data_dir,
                               autosave=not self.mapping_file, on_learned=self._on_learned,
                               client_name=self.client_name)
            if self.mapping_file:
                try:
                    c.load(self.mapping_file)
                except MidiError:
                    c.close()
                    raise
        except MidiError as e:
            self._error = str(e)
            raise SessionError(str(e)) from None
        with self._lock:
            self.controller = c
            self._error = c.load_error
        note = f"; mappings not loaded: {c.load_error}" if c.load_error else ""
        return f"midi: {c.port_name}, {len(c.mappings())} mappings{note}"

    def forget(self, target: str) -> int:
        """Remove every mapping of parameter ``target`` (saved to the shared file); how many went."""
        return len(self._need().unmap_param(target))

    def mappings(self) -> list[str]:
        c = self.controller
        return [m.describe() for m in c.mappings()] if c is not None else []

    def close(self) -> None:
        with self._lock:
            c, self.controller = self.controller, None
        if c is not None:
            c.close()

    # -- learn ---------------------------------------------------------------------------
    def learn(self, target: str, action: bool = False, arg: Any = None) -> None:
        """Bind the next control moved to parameter ``target``, or (``action``) to that action of the action table
        (with ``arg``, e.g. a preset for preset_recall). SessionError says why not."""
        from app.midi.errors import MidiError

        c = self._need()
        try:
            if action:
                c.learn_action(target, arg)
            else:
                c.learn(target)
        except (MidiError, ValueError, KeyError) as e:
            raise SessionError(f"MIDI learn {target!r}: {e}") from None

    def forget_action(self, name: str) -> int:
        return len(self._need().router.unmap_action(name))

    def cancel_learn(self) -> None:
        c = self.controller
        if c is not None:
            c.cancel_learn()

    def wait_learned(self, timeout: float | None = None):
        return self._need().wait_learned(timeout)

    def _on_learned(self, mapping) -> None:
        self._learned = mapping.describe()

    def _need(self):
        c = self.controller
        if c is None:
            raise SessionError("MIDI is off: choose an input port first")
        return c

    # -- reading -------------------------------------------------------------------------
    @property
    def mappings_path(self):
        c = self.controller
        return c.mappings_path if c is not None else None

    def state(self) -> MidiState:
        c = self.controller
        if c is None:
            return MidiState(error=self._error)
        error = self._error or c.save_error
        return MidiState(port=c.port_name, mappings=len(c.mappings()), learning=c.learning, learned=self._learned,
                         error=error, stats=c.stats())
