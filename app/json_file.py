"""The one reader for the small JSON files a user hands to DreamDeck (presets, MIDI mappings).

A mistaken or hostile path must give one line, never a hang, a crash or gigabytes of
memory, so every such file is read with the same limits:

* a regular file only: a named pipe (which would block the read forever), a device such
  as ``/dev/zero`` (endless), a folder or a socket is refused.  The type is checked before
  opening and again on the opened descriptor (opened non-blocking, so a pipe without a
  writer cannot hang the open either);
* at most :data:`MAX_FILE_BYTES`, checked from the file's size and again while reading
  (never more than that plus one byte is read, even from a file that grows);
* UTF-8 text;
* JSON nested at most :data:`MAX_DEPTH` levels deep (a 200,000-deep ``[[[...`` is refused
  with a line, not a ``RecursionError``), numbers of sane length.

Errors are :class:`JsonFileError` with a one-line message that starts with the caller's
``where`` (e.g. ``preset 'x' (/path/x.json)``) and ends with what to do; callers turn it
into their own error type (``PresetError``, ``MappingFileError``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "JsonFileError", "parse_json", "read_json_file", "read_text_file"]


class JsonFileError(ValueError):
    """A JSON file could not be read or parsed; the message is one line that says what to do."""


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_kind(mode: int, where: str, what: str) -> None:
    kind = _kind(mode)
    if kind is not None:
        raise JsonFileError(f"{where} is {kind}, not a file: give the path of a {what}")


def read_text_file(path: str | os.PathLike, where: str, what: str = "JSON file",
                   max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``max_bytes``); JsonFileError otherwise."""
    path = Path(path)
    too_big = f"; the most DreamDeck reads is {max_bytes} bytes: check that this is the right file"
    try:
        _refuse_kind(os.stat(path).st_mode, where, what)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
        with open(fd, "rb", closefd=True) as f:
            info = os.fstat(fd)
            _refuse_kind(info.st_mode, where, what)  # replaced since the first look: check what was opened
            if info.st_size > max_bytes:
                raise JsonFileError(f"{where} is {info.st_size} bytes{too_big}")
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise JsonFileError(f"cannot read {where}: {e.strerror or e} (check the path and its permissions)") from None
    if len(data) > max_bytes:
        raise JsonFileError(f"{where} is over {max_bytes} bytes{too_big}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonFileError(f"{where} is not UTF-8 text: save it as UTF-8 JSON") from None


def _too_deep(value: Any, limit: int) -> bool:
    """True when ``value`` nests lists/objects more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def parse_json(text: str, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)`` with the depth limit; JsonFileError (one line) when it is not valid JSON."""
    deep = f"{where} is nested more than {max_depth} levels deep: this is not a DreamDeck file, check the path"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise JsonFileError(f"{where} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}: "
                            "fix the file in a text editor") from None
    except RecursionError:
        raise JsonFileError(deep) from None
    except ValueError:  # an integer of more than 4300 digits (Python's int_max_str_digits)
        raise JsonFileError(f"{where} holds a number too long to read: fix the file in a text editor") from None
    if _too_deep(value, max_depth):
        raise JsonFileError(deep)
    return value


def read_json_file(path: str | os.PathLike, where: str, what: str = "JSON file",
                   max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`read_text_file` then :func:`parse_json`: the parsed value, or JsonFileError (one line)."""
    return parse_json(read_text_file(path, where, what, max_bytes), where, max_depth)
