"""MIDI mappings on disk: one JSON file in the user data folder the presets use.

The file is validated with pydantic and against the registry as a whole before
anything is replaced, so a bad file gives one line of error and the mappings in use
stay as they were.  Writes are atomic: a temporary file in the same folder, flushed
and fsynced, then ``os.replace``d over the old one (and the folder fsynced), so a
crash never leaves a truncated mappings file.  Files are read like presets (``app.json_file``):
a regular file only (never a pipe or a device), at most 1 MB, JSON nested at most 64 levels.

Format (``schema_version`` 1)::

    {"schema_version": 1,
     "description": "optional words",
     "mappings": [
        {"type": "cc", "channel": 1, "control": 0, "param": "strength", "lo": 0.2, "hi": 0.8},
        {"type": "note", "channel": 1, "note": 36, "param": "blackout_momentary", "mode": "momentary"},
        {"type": "note", "channel": 1, "note": 40, "action": "recall_preset", "preset": 0}]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import one_line
from engine.params.registry import ParamStore

from ..atomic_file import write_atomic
from ..json_file import JsonFileError, parse_json, read_text_file
from .errors import MappingError, MappingFileError
from .mapping import CCMapping, Mapping, NoteMapping, resolve

SCHEMA_VERSION = 1
FILE_NAME = "midi_mappings.json"


class MappingDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    description: str = Field("", max_length=2000)
    mappings: list[Mapping] = Field(default_factory=list)


def default_path(data_dir: str | os.PathLike | None = None) -> Path:
    """``<data dir>/midi_mappings.json``; the data dir is the presets' (app.paths)."""
    if data_dir is None:
        from app.paths import data_dir as user_data_dir

        data_dir = user_data_dir()
    return Path(data_dir) / FILE_NAME


def _pydantic_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "file"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_mappings(text: str, store: ParamStore, origin: str = "mappings") -> list[CCMapping | NoteMapping]:
    """Every mapping in ``text``, checked against ``store``; MappingFileError (one line) if any is wrong."""
    try:
        raw = parse_json(text, origin)
    except JsonFileError as e:
        raise MappingFileError(one_line(e)) from None
    if not isinstance(raw, dict):
        raise MappingFileError(f"{origin}: expected a JSON object with schema_version and mappings")
    version = raw.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise MappingFileError(
            f"{origin}: written by a newer DreamDeck (schema_version {version}; this one reads up to {SCHEMA_VERSION})")
    if version != SCHEMA_VERSION:
        raise MappingFileError(f"{origin}: schema_version must be {SCHEMA_VERSION}, not {version!r}")
    try:
        doc = MappingDocument.model_validate(raw)
    except ValidationError as e:
        raise MappingFileError(one_line(f"{origin}: {_pydantic_line(e)}")) from None
    out: list[CCMapping | NoteMapping] = []
    seen: dict[tuple, int] = {}
    for i, m in enumerate(doc.mappings):
        try:
            out.append(resolve(m, store))
        except MappingError as e:
            raise MappingFileError(one_line(f"{origin}: mappings.{i}: {e}")) from None
        if m.key in seen:
            raise MappingFileError(
                f"{origin}: mappings.{i}: {m.key[0]} {m.key[2]} on channel {m.key[1]} is already mapped by mappings.{seen[m.key]}")
        seen[m.key] = i
    return out


def read_mappings(path: str | os.PathLike, store: ParamStore) -> list[CCMapping | NoteMapping]:
    """The mappings in the file at ``path``, read with the presets' limits (``app.json_file``:
    a regular file of at most 1 MB, JSON nested at most 64 levels); MappingFileError (one line)."""
    path = Path(path)
    try:
        text = read_text_file(path, f"MIDI mappings {path}", "MIDI mappings JSON file")
    except JsonFileError as e:
        raise MappingFileError(one_line(e)) from None
    return parse_mappings(text, store, origin=str(path))


def dump_mappings(mappings: Sequence[CCMapping | NoteMapping], description: str = "") -> str:
    doc = MappingDocument(description=description, mappings=list(mappings))
    return json.dumps(doc.model_dump(mode="json", exclude_none=True), indent=2) + "\n"


def write_mappings(path: str | os.PathLike, mappings: Sequence[CCMapping | NoteMapping], description: str = "") -> Path:
    """Write atomically; MappingFileError (one line) if the folder is not writable."""
    path = Path(path)
    text = dump_mappings(mappings, description)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as e:
        raise MappingFileError(one_line(f"cannot save MIDI mappings to {path}: {e.strerror or e}")) from None
    return path
