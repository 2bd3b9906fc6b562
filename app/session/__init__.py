"""The show session: one Qt-free object that owns a running show (see session.py)."""

from .config import SessionConfig, config_from_args
from .errors import SessionError
from .session import ShowSession
from .status import AudioState, MidiState, ShowStatus

__all__ = ["AudioState", "MidiState", "SessionConfig", "SessionError", "ShowSession", "ShowStatus", "config_from_args"]
