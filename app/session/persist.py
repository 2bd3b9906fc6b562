"""The show file: the running show saved as it changes, so it comes back after a restart or a crash.

:class:`ShowFile` keeps ``<data folder>/show.json`` a mirror of the registry (every value but the
triggers) plus a few facts the session and the console remember (the source on air, ...): it is
written when the show starts, at most every :data:`WRITE_EVERY_S` while values change (from a small
writer thread, never from the thread that made the change), and once more when the show stops.  Every
write is atomic (:func:`app.atomic_file.write_atomic`), so a crash, SIGKILL included, leaves the last
state written, whole.

The file::

    {"format": 1, "values": {"strength": 0.7, "prompt.1.text": "...", ...}, "extras": {"source": "pattern"}}

Restoring is forgiving: an unknown name or a value the registry refuses is skipped (each one logged);
a file that cannot be read at all is put aside as ``show.json.bad`` (never written over) and the show
starts from the defaults, with one warning line.  A restart never comes up dark: the safety switches
(:data:`SAFETY_OFF`) come back off and a brightness of 0 comes back at its default.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

from engine.params.registry import Kind, ParamError

from ..atomic_file import write_atomic
from ..json_file import JsonFileError, read_json_file

FORMAT = 1
FILE_NAME = "show.json"
WRITE_EVERY_S = 0.5  # the most often the file is written while values change
SAFETY_OFF = frozenset(("blackout", "blackout_momentary", "freeze", "passthrough", "fade_to_black"))
MAX_SKIP_LINES = 10  # a file full of strange names logs this many lines, then a count
SOURCE = "show file"  # the source of the registry writes a restore makes
log = logging.getLogger("dreamdeck.session")


class ShowFileError(ValueError):
    """The show file cannot be used; the message is one line."""


def default_path() -> Path:
    """``show.json`` in the user data folder ($DREAMDECK_DATA_DIR overrides it)."""
    from ..paths import data_dir

    return data_dir() / FILE_NAME


def read_document(path: Path | str) -> dict | None:
    """The show file's document (format, values, extras), None when there is none; ShowFileError (one line)
    when it cannot be read or is not a show file this DreamDeck understands."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    where = f"the saved show ({path})"
    try:
        doc = read_json_file(path, where, "show file")
    except JsonFileError as e:
        raise ShowFileError(str(e)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("format"), int) or isinstance(doc.get("format"), bool):
        raise ShowFileError(f"{where} is not a DreamDeck show file (no format number)")
    if doc["format"] > FORMAT:
        raise ShowFileError(f"{where} was written by a newer DreamDeck (format {doc['format']}; this one reads {FORMAT})")
    for part in ("values", "extras"):
        if not isinstance(doc.get(part, {}), dict):
            raise ShowFileError(f"{where}: '{part}' is not an object")
    return {"format": doc["format"], "values": dict(doc.get("values", {})), "extras": dict(doc.get("extras", {}))}


def remembered_in(path: Path | str | None, key: str) -> Any:
    """What the show file at ``path`` remembers under ``key``; None when nothing (or the file cannot be read:
    the session that restores it says so)."""
    if path is None:
        return None
    try:
        doc = read_document(path)
    except ShowFileError:
        return None
    return None if doc is None else doc["extras"].get(key)


def put_aside(path: Path) -> Path:
    """Rename the unreadable ``path`` to ``<name>.bad`` (``<name>.bad.1``, ... when taken); returns the new path."""
    bad = path.with_name(path.name + ".bad")
    n = 0
    while os.path.lexists(bad):
        n += 1
        bad = path.with_name(f"{path.name}.bad.{n}")
    os.replace(path, bad)
    return bad


class ShowFile:
    """The running show's file; ``path`` None keeps the extras in memory and saves nothing."""

    def __init__(self, store, path: Path | str | None, *, interval: float = WRITE_EVERY_S):
        self.store = store
        self.path = Path(path) if path is not None else None
        self.interval = interval
        self.notes: list[str] = []  # lines for the user (an unreadable file put aside)
        self.writes = 0  # files written (tests, the soak)
        self._extras: dict[str, Any] = {}
        self._lock = threading.Lock()  # the extras and the dirty flag
        self._write_lock = threading.Lock()  # one write at a time, each of the state at its time
        self._dirty = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = None
        self._last_error: str | None = None

    # -- restoring -------------------------------------------------------------------
    def restore(self, keep: Iterable[str] = ()) -> dict[str, Any]:
        """Read the file and put its values in the registry (one update), except the names in ``keep`` (what
        the command line set); returns the values restored.  Never raises for what is in the file."""
        if self.path is None:
            return {}
        try:
            doc = read_document(self.path)
        except ShowFileError as e:
            self._unreadable(str(e))
            return {}
        if doc is None:
            return {}
        with self._lock:
            self._extras = {k: v for k, v in doc["extras"].items() if isinstance(k, str)}
        values = self.restorable(doc["values"], keep)
        self.store.update(values, source=SOURCE)
        return values

    def restorable(self, values: Mapping[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
        """The values of a saved show the registry takes, checked one by one; the rest is logged and skipped."""
        keep = frozenset(keep)
        out, skipped = {}, []
        for name, value in values.items():
            spec = self.store.params.get(name)
            if spec is None:
                skipped.append(f"the saved show names {name[:80]!r}, which this DreamDeck does not have: skipped")
                continue
            if spec.kind is Kind.TRIGGER or name in keep or name in SAFETY_OFF:
                continue  # a trigger is not a state; the command line wins; a restart never comes up dark
            try:
                value = spec.validate(value)
            except ParamError as e:
                skipped.append(f"the saved show's {name} is refused: {e}; skipped")
                continue
            if name == "brightness" and value <= 0:
                continue  # black: the default comes back instead
            out[name] = value
        for line in skipped[:MAX_SKIP_LINES]:
            log.warning("%s", line[:300])
        if len(skipped) > MAX_SKIP_LINES:
            log.warning("the saved show: %d more values skipped", len(skipped) - MAX_SKIP_LINES)
        return out

    def _unreadable(self, reason: str) -> None:
        try:
            bad = put_aside(self.path)
        except OSError as e:
            # it cannot be moved out of the way: it must not be written over either
            self.notes.append(f"dreamdeck: warning: {reason}; starting from the defaults, and the show is not saved "
                              f"this time (it cannot be put aside: {e.strerror or e})")
            self.path = None
            return
        self.notes.append(f"dreamdeck: warning: {reason}; starting from the defaults (the file is kept as {bad})")

    # -- what else the show remembers ------------------------------------------------
    def remember(self, key: str, value: Any) -> None:
        """Keep ``value`` (anything JSON can hold) under ``key`` in the show file; TypeError when JSON cannot."""
        json.dumps(value)  # refused now, not at the next write on another thread
        with self._lock:
            if key in self._extras and self._extras[key] == value:
                return
            self._extras[key] = value
            self._dirty = True
        self._wake.set()

    def remembered(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._extras.get(key, default)

    # -- saving ------------------------------------------------------------------------
    def document(self) -> dict:
        values = {n: v for n, v in self.store.snapshot().values.items() if self.store.params[n].kind is not Kind.TRIGGER}
        with self._lock:
            extras = dict(self._extras)
        return {"format": FORMAT, "values": values, "extras": extras}

    def start(self) -> None:
        """Write the running show now, then follow every change (idempotent)."""
        if self.path is None or self._thread is not None:
            return
        self._unsubscribe = self.store.subscribe_batch(self._changed)
        with self._lock:
            self._dirty = True
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="dreamdeck-show-file", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following changes and write the show as it is now (idempotent)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(10)
        with self._lock:
            self._dirty = True
        self.flush()

    def flush(self) -> bool:
        """Write the file now if anything changed since the last write; False when it could not be written."""
        if self.path is None:
            return True
        with self._write_lock:
            with self._lock:
                if not self._dirty:
                    return True
                self._dirty = False
            doc = self.document()
            try:
                write_atomic(self.path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
            except (OSError, TypeError, ValueError) as e:
                with self._lock:
                    self._dirty = True  # tried again at the next change
                message = getattr(e, "strerror", None) or str(e)
                if message != self._last_error:  # once per kind of trouble, not twice a second
                    log.warning("cannot save the show to %s: %s", self.path, message)
                self._last_error = message
                return False
            self._last_error = None
            self.writes += 1
            return True

    def _changed(self, changes: dict, source: Any, version: int) -> None:
        params = self.store.params
        if all(params[n].kind is Kind.TRIGGER for n in changes):
            return
        with self._lock:
            self._dirty = True
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            self.flush()
            if self._stop.wait(self.interval):  # at most one write per interval
                return
