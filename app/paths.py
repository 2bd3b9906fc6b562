"""Where DreamDeck keeps the user's files (presets, MIDI mappings, ...)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "DREAMDECK_DATA_DIR"


def data_dir() -> Path:
    """The user data folder: ``$DREAMDECK_DATA_DIR`` if set, else the platform's
    (``~/.local/share/DreamDeck`` on Linux, ``~/Library/Application Support/DreamDeck``
    on macOS, ``%LOCALAPPDATA%\\DreamDeck`` on Windows).  Not created here."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("DreamDeck", appauthor=False))
