"""Direct MIDI input through python-rtmidi, with mido parsing the messages (the optional
``midi`` extra).

rtmidi calls back from its own thread (ALSA's input thread, or JACK's process thread)
for each message; that callback only puts the raw bytes into a queue, and one Python
thread (``dreamdeck-midi``) blocks on the queue, parses the bytes with mido and applies
the mappings.  No polling: the thread sleeps until a message or the stop sentinel
arrives.  Keeping the rtmidi callback that small keeps JACK's real-time thread free of
registry listeners and logging, and closing the port stops the callbacks before the
thread is told to stop, so ``close()`` leaves no thread behind.

Ports are opened through python-rtmidi itself rather than mido's port classes so that
DreamDeck's MIDI client carries its own name (``DreamDeck``) on every API: JACK keys
client sockets by client name, and two same-named clients on two servers collide.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable

from engine.params.registry import ParamStore

from .errors import MappingFileError, MidiError, MidiUnavailable
from .mapping_file import default_path, read_mappings, write_mappings
from .router import AnyMapping, MidiRouter

log = logging.getLogger("dreamdeck.midi")

API_ENV = "DREAMDECK_MIDI_API"  # e.g. UNIX_JACK, LINUX_ALSA, MACOSX_CORE, WINDOWS_MM
CLIENT_NAME = "DreamDeck"
PORT_NAME = "midi_in"
_STOP = object()


def _libs():
    try:
        import mido
        import rtmidi
    except ImportError as e:
        raise MidiUnavailable(f"{e.name or 'mido'} is not installed") from None
    return mido, rtmidi


def _api_ids(rtmidi) -> dict[str, int]:
    return {n[4:]: getattr(rtmidi, n) for n in dir(rtmidi) if n.startswith("API_")}


def _open_client(api: str | None, client_name: str):
    """An ``rtmidi.MidiIn`` on ``api`` (or ``$DREAMDECK_MIDI_API``, or the first compiled API
    that starts: the ALSA sequencer may be missing where JACK works)."""
    _, rtmidi = _libs()
    ids = _api_ids(rtmidi)
    compiled = [n for n, i in ids.items() if i in rtmidi.get_compiled_api() and n != "RTMIDI_DUMMY"]
    api = api or os.environ.get(API_ENV) or None
    if api:
        if api not in compiled:
            raise MidiError(f"MIDI API {api!r} is not available here (compiled in: {', '.join(compiled)})")
        candidates = [api]
    else:
        candidates = compiled
    errors = []
    for name in candidates:
        try:
            return rtmidi.MidiIn(rtapi=ids[name], name=client_name)
        except (rtmidi.RtMidiError, OSError, RuntimeError) as e:
            errors.append(f"{name}: {e}")
    raise MidiError("no MIDI system answers (" + "; ".join(errors) + ")" if errors else "python-rtmidi has no MIDI API")


def list_input_ports(api: str | None = None, client_name: str | None = None) -> list[str]:
    """The MIDI input ports (controllers) that can be opened, by name."""
    client = _open_client(api, client_name or CLIENT_NAME)
    try:
        return list(client.get_ports())
    finally:
        client.delete()


def pick_port(names: list[str], wanted: str | None) -> int:
    """The index of ``wanted`` exactly, else of the first name containing it (case-insensitive);
    None: the first port."""
    if not names:
        raise MidiError("no MIDI input ports: connect a controller (or start DreamDeck's own port with virtual=True)")
    if wanted is None:
        return 0
    if wanted in names:
        return names.index(wanted)
    for i, n in enumerate(names):
        if wanted.lower() in n.lower():
            return i
    raise MidiError(f"no MIDI input port matches {wanted!r}; ports: {', '.join(names)}")


class MidiController:
    """MIDI input mapped onto the parameter registry (and show actions).

    ``port_name``: a port name or part of one (see :func:`list_input_ports`); None opens
    the first port.  ``virtual=True`` instead opens DreamDeck's own input port, named
    ``DreamDeck:midi_in`` (``client_name:midi_in``) where the system allows it (Linux ALSA /
    JACK, macOS), for other software to connect to.  ``api`` picks rtmidi's MIDI system
    (UNIX_JACK, LINUX_ALSA, MACOSX_CORE, WINDOWS_MM; default ``$DREAMDECK_MIDI_API``, else
    the first that starts).  Mappings load from ``mappings_path`` (default
    ``<data dir>/midi_mappings.json``, the data dir being ``data_dir``, else
    ``$DREAMDECK_DATA_DIR``, else the platform's, as for presets); with ``autosave`` a
    learned or removed mapping is saved at once.  Raises MidiUnavailable without the extra,
    MidiError when the port cannot be opened.  Use as a context manager or call close().
    """

    def __init__(self, store: ParamStore, actions: Any = None, port_name: str | None = None, *,
                 api: str | None = None, virtual: bool = False, data_dir: str | os.PathLike | None = None,
                 mappings_path: str | os.PathLike | None = None, autosave: bool = True, load: bool = True,
                 takeover_tolerance: int = 2, on_learned: Callable[[AnyMapping], None] | None = None,
                 client_name: str | None = None):
        mido, _ = _libs()
        self._parse = mido.Message.from_bytes
        self.store = store
        self.mappings_path = Path(mappings_path) if mappings_path is not None else default_path(data_dir)
        self.autosave = autosave
        self.load_error: str | None = None
        self.save_error: str | None = None
        self.router = MidiRouter(store, actions, takeover_tolerance=takeover_tolerance, on_learned=on_learned,
                                 on_mappings_changed=self._autosave)
        if load and self.mappings_path.exists():
            try:
                self.load()
            except MappingFileError as e:
                self.load_error = str(e)
                log.warning("%s (no MIDI mappings loaded)", e)
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._handled = 0  # messages fully handled (written by the message thread only)
        self._rt = None
        try:
            self._rt = _open_client(api, client_name or CLIENT_NAME)
            self._rt.ignore_types(sysex=True, timing=True, active_sense=True)
            if virtual:
                self._rt.open_virtual_port(PORT_NAME)
                self.port_name = PORT_NAME
            else:
                names = list(self._rt.get_ports())
                index = pick_port(names, port_name)
                self._rt.open_port(index, PORT_NAME)
                self.port_name = names[index]
            self._rt.set_callback(self._on_rtmidi)
        except BaseException as e:
            if self._rt is not None:
                self._rt.delete()
                self._rt = None
            self.router.close()
            if isinstance(e, MidiError) or not isinstance(e, Exception):
                raise
            raise MidiError(f"cannot open MIDI input {port_name or ('(virtual)' if virtual else '(first)')}: {e}") from None
        self._thread = threading.Thread(target=self._run, name="dreamdeck-midi", daemon=True)
        self._thread.start()
        log.info("MIDI input: %s (%d mappings)", self.port_name, len(self.router.mappings()))

    # -- the message thread ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            data = self._inbox.get()
            if data is _STOP:
                return
            try:
                msg = self._parse(data)
            except ValueError:  # not a complete MIDI message
                self._handled += 1
                continue
            try:
                self.router.handle(msg)
            except Exception:  # a bug in one message must not end MIDI control mid-show
                self.router._warn.warning("handler", "MIDI message handling failed")
                log.debug("MIDI handler error", exc_info=True)
            self._handled += 1

    def _on_rtmidi(self, event, _data=None) -> None:
        # rtmidi's thread (JACK: the real-time process thread): hand over the bytes, nothing else
        self._inbox.put(event[0])

    def close(self) -> None:
        """Close the port (stopping rtmidi's callbacks), then stop the message thread."""
        rt, self._rt = self._rt, None
        if rt is None:
            return
        try:
            rt.cancel_callback()
            rt.close_port()
            rt.delete()
        finally:
            self._inbox.put(_STOP)
            self._thread.join(timeout=5)
            self.router.close()

    @property
    def closed(self) -> bool:
        return self._rt is None

    def __enter__(self) -> "MidiController":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- mappings -------------------------------------------------------------------------
    def learn(self, param: str) -> None:
        self.router.learn(param)

    def learn_action(self, action: str, preset: int | str | None = None) -> None:
        self.router.learn_action(action, preset)

    def cancel_learn(self) -> None:
        self.router.cancel_learn()

    @property
    def learning(self) -> str | None:
        return self.router.learning

    def wait_learned(self, timeout: float | None = None) -> AnyMapping | None:
        return self.router.wait_learned(timeout)

    def mappings(self) -> list[AnyMapping]:
        return self.router.mappings()

    def map(self, mapping: AnyMapping) -> AnyMapping:
        return self.router.map(mapping)

    def unmap(self, kind: str, channel: int, number: int) -> AnyMapping | None:
        return self.router.unmap(kind, channel, number)

    def unmap_param(self, name: str) -> list[AnyMapping]:
        return self.router.unmap_param(name)

    def stats(self) -> dict[str, int]:
        """The router's counters plus ``handled``: messages whose effects are all applied."""
        return {**self.router.stats(), "handled": self._handled}

    def load(self, path: str | os.PathLike | None = None) -> list[AnyMapping]:
        """Replace the mappings with those in ``path`` (default: mappings_path).  A bad file
        raises MappingFileError (one line) and the mappings in use stay as they were."""
        mappings = read_mappings(path or self.mappings_path, self.store)
        self.router.set_mappings(mappings)
        return mappings

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the mappings atomically to ``path`` (default: mappings_path)."""
        written = write_mappings(path or self.mappings_path, self.router.mappings())
        if written == self.mappings_path:
            self.load_error = None
        return written

    def _autosave(self) -> None:
        if not self.autosave:
            return
        if self.load_error is not None:  # never overwrite a file the user may still want to fix
            self.save_error = f"not saving over {self.mappings_path}: it did not load; fix it, or call save()"
            log.warning("%s", self.save_error)
            return
        try:
            write_mappings(self.mappings_path, self.router.mappings())
            self.save_error = None
        except MappingFileError as e:
            self.save_error = str(e)
            log.warning("%s", e)
