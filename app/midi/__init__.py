"""Direct MIDI control of the parameter registry (the optional ``midi`` extra).

Importing this package needs only pydantic; mido and python-rtmidi are imported when
a port is listed or opened, and their absence then raises :class:`MidiUnavailable`
("MIDI needs: pip install 'dreamdeck[midi]'").

    from app.midi import MidiController
    with MidiController(store, actions, port_name="nanoKONTROL") as midi:
        midi.learn("strength")       # the next knob / fader moved drives strength
"""

from .errors import INSTALL_HINT, MappingError, MappingFileError, MidiError, MidiUnavailable
from .input import MidiController, list_input_ports
from .mapping import CCMapping, NoteMapping
from .mapping_file import default_path, read_mappings, write_mappings
from .router import SOURCE, MidiRouter

__all__ = [
    "INSTALL_HINT", "MappingError", "MappingFileError", "MidiError", "MidiUnavailable",
    "MidiController", "list_input_ports", "CCMapping", "NoteMapping", "default_path",
    "read_mappings", "write_mappings", "SOURCE", "MidiRouter",
]
