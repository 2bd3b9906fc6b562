"""Atomic file writes for everything DreamDeck saves (presets, MIDI mappings, model weights,
checkpoints, engine-cache manifests).

The new content goes to a temporary file in the same folder, is flushed and fsynced, then
``os.replace``d over the old file, and the folder is fsynced: a crash at any point leaves
either the old file or the new one, whole, never a truncated mix. (Here in ``engine`` so
the engine and the app share it: the engine never imports ``app``.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file, whole."""
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary documents
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(folder)


def write_atomic(path: Path | str, text: str) -> None:
    """:func:`write_bytes_atomic` for text (UTF-8, newlines as written)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def fsync_folder(folder: Path | str) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
