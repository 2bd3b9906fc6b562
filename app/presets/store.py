"""Preset files on disk: save, load, list, rename, delete.

User presets live in ``<data dir>/presets/NAME.json`` (see app/paths.py:
``$DREAMDECK_DATA_DIR`` or the platform's user data folder).  The repository's
``presets/looks/*.json`` are shipped presets: listed and loadable, read-only; a
user preset of the same name takes their place in the list.  (They sit in a
sub-folder because ``presets/`` also holds control-surface templates, some of
them JSON too.)

Every write is atomic: the new text goes to a temp file in the same folder
(``.NAME.<random>.tmp``, which never lists as a preset), is flushed and fsynced,
then ``os.replace``d over the old file, and the folder is fsynced.  A crash at any
point leaves either the old preset or the new one, never a truncated file.

A file that cannot be read (bad JSON, schema errors, unknown parameters, a newer
schema_version) raises PresetError with one line naming the preset, its file and
the reason; nothing is changed.  Files are read by ``app.json_file`` (regular files
only, at most 1 MB, nested at most 64 levels), the reader MIDI mappings use too.

The folder holds at most ``MAX_PRESETS`` user presets: saving a new one beyond that is
refused with one line (saving over an existing one still works).  The listing is cached
until either folder's mtime moves or this store writes, so a control surface asking for
the list many times a second costs two ``stat`` calls each.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from engine.params.registry import Param

from ..atomic_file import write_atomic
from ..errors import one_line
from ..json_file import MAX_FILE_BYTES, JsonFileError, read_json_file
from ..paths import data_dir
from .errors import PresetError
from .names import check_name, file_name, name_of_file
from .schema import PresetDocument, check_values, read_document

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "presets" / "looks"
MAX_PRESETS = 1000  # user presets in the folder; saving a new one beyond that is refused (see save)
# A folder changed this recently may change again within its timestamp's granularity (2 s on FAT,
# ~4 ms on ext4) without its mtime moving: its listing is not trusted from the cache until older.
RACY_MTIME_NS = 2_000_000_000

USER = "user"
SHIPPED = "shipped"


@dataclass(frozen=True)
class Preset:
    """A validated preset: only the parameters it sets, values already checked by the registry."""

    name: str
    values: Mapping[str, Any]
    description: str = ""
    origin: str = USER  # 'user' or 'shipped'
    path: Path | None = None

    def document(self) -> PresetDocument:
        return PresetDocument(name=self.name, description=self.description, values=dict(self.values))


@dataclass(frozen=True)
class PresetInfo:
    """One entry of the preset list (read from the folder, not from the file: listing never fails)."""

    name: str
    origin: str
    path: Path
    replaces_shipped: bool = field(default=False)


def default_params() -> Mapping[str, Param]:
    from engine.params.catalog import engine_store

    return engine_store().params


class PresetStore:
    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        shipped_directory: str | os.PathLike | None = SHIPPED_DIR,
        params: Mapping[str, Param] | None = None,
        max_presets: int = MAX_PRESETS,
    ):
        self.directory = Path(directory) if directory is not None else data_dir() / "presets"
        self.shipped_directory = Path(shipped_directory) if shipped_directory is not None else None
        self.params = MappingProxyType(dict(params if params is not None else default_params()))
        self.max_presets = max_presets
        # the listing, kept until either folder changes (its mtime) or this store writes
        self._lock = threading.Lock()
        self._listing: tuple[tuple, tuple[PresetInfo, ...]] | None = None

    # -- listing --------------------------------------------------------------------
    def _scan(self, folder: Path | None) -> dict[str, Path]:
        found: dict[str, Path] = {}
        if folder is None:
            return found
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return found
        except OSError as e:
            raise PresetError(f"cannot read the presets folder {folder}: {e.strerror or e}") from None
        for entry in entries:
            name = name_of_file(entry.name)
            if name is not None and entry.is_file():
                found[name] = Path(entry.path)
        return found

    def list(self) -> list[PresetInfo]:
        """Every preset, user and shipped, sorted by name (case-insensitively); a user preset
        replaces a shipped one of the same name.  Cached: while neither folder changes, a
        listing costs two ``stat`` calls (a surface may ask for it many times a second)."""
        key = (_folder_key(self.shipped_directory), _folder_key(self.directory))
        with self._lock:
            if self._listing is not None and self._listing[0] == key:
                return list(self._listing[1])
        shipped = self._scan(self.shipped_directory)
        user = self._scan(self.directory)
        infos = {n: PresetInfo(n, SHIPPED, p) for n, p in shipped.items()}
        infos.update({n: PresetInfo(n, USER, p, replaces_shipped=n in shipped) for n, p in user.items()})
        listing = tuple(sorted(infos.values(), key=lambda i: (i.name.casefold(), i.name)))
        with self._lock:
            self._listing = (key, listing) if _settled(key) else None
        return list(listing)

    def _changed(self) -> None:
        """This store wrote to its folder: the next listing reads it again."""
        with self._lock:
            self._listing = None

    def names(self) -> list[str]:
        return [i.name for i in self.list()]

    def _find(self, name: str) -> PresetInfo:
        clean = check_name(name)
        user = self.directory / file_name(clean)
        if user.is_file():
            return PresetInfo(clean, USER, user, replaces_shipped=self._shipped_path(clean) is not None)
        shipped = self._shipped_path(clean)
        if shipped is not None:
            return PresetInfo(clean, SHIPPED, shipped)
        names = self.names()
        known = f" (presets: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''})" if names else " (there are no presets yet)"
        raise PresetError(f"there is no preset named {clean!r}{known}")

    def _shipped_path(self, clean: str) -> Path | None:
        if self.shipped_directory is None:
            return None
        p = self.shipped_directory / file_name(clean)
        return p if p.is_file() else None

    def exists(self, name: str) -> bool:
        try:
            self._find(name)
            return True
        except PresetError:
            return False

    # -- reading --------------------------------------------------------------------
    def load(self, name: str) -> Preset:
        info = self._find(name)
        return self._read(info)

    def _read(self, info: PresetInfo) -> Preset:
        where = f"preset {info.name!r} ({info.path})"
        try:
            raw = read_json_file(info.path, where, "preset JSON file", max_bytes=MAX_FILE_BYTES)
        except JsonFileError as e:
            raise PresetError(str(e)) from None
        try:
            doc = read_document(raw)
            values = check_values(doc.values, self.params)
        except PresetError as e:
            raise PresetError(one_line(f"{where}: {e}")) from None
        # the file name is the preset's identity; the name inside is for people reading the file
        return Preset(info.name, MappingProxyType(values), doc.description, info.origin, info.path)

    # -- writing --------------------------------------------------------------------
    def save(self, name: str, values: Mapping[str, Any], description: str = "", overwrite: bool = True) -> Preset:
        """Write a user preset (atomically).  ``values`` are checked first; nothing is written on error."""
        clean = check_name(name)
        checked = check_values(values, self.params)
        if len(description) > 2000:
            raise PresetError("a preset description is at most 2000 characters")
        path = self.directory / file_name(clean)
        exists = path.exists()
        if not overwrite and exists:
            raise PresetError(f"a preset named {clean!r} already exists")
        if not exists:
            self._check_room(clean)
        preset = Preset(clean, MappingProxyType(checked), description, USER, path)
        self._write(path, preset)
        return preset

    def _check_room(self, name: str) -> None:
        """A new user preset must leave at most ``max_presets`` in the folder (a surface that
        saves in a loop must not fill the disk or make every listing slow)."""
        count = sum(1 for i in self.list() if i.origin == USER)
        if count >= self.max_presets:
            raise PresetError(
                f"cannot save preset {name!r}: the presets folder {self.directory} already holds {count} presets "
                f"(at most {self.max_presets}): delete some (dreamdeck preset delete NAME) or save over an existing one")

    def rename(self, old: str, new: str, overwrite: bool = False) -> Preset:
        info = self._find(old)
        if info.origin == SHIPPED:
            raise PresetError(f"{info.name!r} is a shipped preset and cannot be renamed; save a copy under a new name instead")
        clean = check_name(new)
        target = self.directory / file_name(clean)
        same_file = target.exists() and os.path.samefile(target, info.path)  # a change of case on a case-insensitive disk
        if target.exists() and not same_file and not overwrite:
            raise PresetError(f"a preset named {clean!r} already exists")
        preset = self._read(info)
        renamed = Preset(clean, preset.values, preset.description, USER, target)
        self._write(target, renamed)  # new file complete first: a crash now leaves a copy, never a loss
        if not same_file:
            with contextlib.suppress(FileNotFoundError):
                info.path.unlink()
        self._changed()
        return renamed

    def delete(self, name: str) -> PresetInfo:
        info = self._find(name)
        if info.origin == SHIPPED:
            raise PresetError(f"{info.name!r} is a shipped preset and cannot be deleted")
        try:
            info.path.unlink()
        except OSError as e:
            raise PresetError(f"cannot delete preset {info.name!r} ({info.path}): {e.strerror or e}") from None
        finally:
            self._changed()
        return info

    def _write(self, path: Path, preset: Preset) -> None:
        text = json.dumps(preset.document().model_dump(), indent=2, ensure_ascii=False) + "\n"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
        except OSError as e:
            raise PresetError(f"could not save preset {preset.name!r} to {path}: {e.strerror or e}") from None
        finally:
            self._changed()


def _folder_key(folder: Path | None) -> tuple | None:
    """What identifies a folder's listing: device, inode and mtime (None when absent)."""
    if folder is None:
        return None
    try:
        st = os.stat(folder)
    except OSError:
        return None  # absent or unreadable: _scan says which
    return (st.st_dev, st.st_ino, st.st_mtime_ns)


def _settled(key: tuple) -> bool:
    """False while a folder's mtime is too recent to prove that no later change hides behind it."""
    now = time.time_ns()
    return all(k is None or now - k[2] > RACY_MTIME_NS for k in key)
