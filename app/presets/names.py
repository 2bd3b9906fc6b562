"""Preset names: what a user may call a preset, so that a name is always one file
in the presets folder and never a path out of it.

A name is stripped of surrounding spaces and NFC-normalised; it must be 1..64
characters, printable, without ``/ \\ : * ? " < > |``, must not start with a dot
(hidden files and our temp files do) nor end with a dot or a space (Windows drops
them), and must not be a Windows device name (``CON``, ``NUL``, ``COM1``, ...).
Case is kept as typed.
"""

from __future__ import annotations

import unicodedata

from .errors import PresetError

MAX_NAME_LENGTH = 64
FORBIDDEN_CHARS = '/\\:*?"<>|'
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
SUFFIX = ".json"


def check_name(name: object) -> str:
    """Return the clean form of ``name`` or raise PresetError saying what is wrong."""
    if not isinstance(name, str):
        raise PresetError(f"a preset name is text, not {type(name).__name__}")
    clean = unicodedata.normalize("NFC", name.strip())
    shown = repr(name if len(name) <= 80 else name[:77] + "...")
    if not clean:
        raise PresetError("a preset name cannot be empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise PresetError(f"preset name {shown} is too long ({len(clean)} characters; at most {MAX_NAME_LENGTH})")
    bad = sorted({c for c in clean if c in FORBIDDEN_CHARS or not c.isprintable()})
    if bad:
        listed = " ".join(repr(c) for c in bad)
        raise PresetError(f"preset name {shown} may not contain {listed} (a name is not a path)")
    if clean.startswith("."):
        raise PresetError(f"preset name {shown} may not start with a dot")
    if clean.endswith((".", " ")):
        raise PresetError(f"preset name {shown} may not end with a dot")
    if clean.split(".")[0].upper() in RESERVED:
        raise PresetError(f"preset name {shown} is reserved by Windows; choose another")
    return clean


def file_name(name: str) -> str:
    return check_name(name) + SUFFIX


def name_of_file(file_name: str) -> str | None:
    """The preset name a file in the presets folder stands for, or None when the file is not a preset
    (temp files, hidden files, other extensions, names we would not have written)."""
    if not file_name.endswith(SUFFIX) or file_name.startswith("."):
        return None
    stem = file_name[: -len(SUFFIX)]
    try:
        return stem if check_name(stem) == stem else None
    except PresetError:
        return None
