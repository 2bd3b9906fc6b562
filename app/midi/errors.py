"""What the MIDI layer can refuse, each with a message a user can act on."""

from __future__ import annotations

INSTALL_HINT = "MIDI needs: pip install 'dreamdeck[midi]'"


class MidiError(Exception):
    """A MIDI port could not be listed or opened, or a mapping was refused."""


class MidiUnavailable(MidiError):
    """mido / python-rtmidi are not installed (the optional ``midi`` extra)."""

    def __init__(self, detail: str = ""):
        super().__init__(INSTALL_HINT + (f" ({detail})" if detail else ""))


class MappingError(MidiError):
    """A mapping does not fit its parameter (unknown name, wrong kind, range outside)."""


class MappingFileError(MidiError):
    """A mappings file could not be read or written; the message is one line."""
