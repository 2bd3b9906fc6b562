"""OSC control surface: server (OSC in), feedback (OSC out), and the generated reference.

See ``docs/osc.md`` (written by ``dreamdeck osc-docs``) for the address scheme.
"""

from .addresses import OscConfigError
from .feedback import OscFeedback, parse_target
from .server import OscServer

__all__ = ["OscConfigError", "OscFeedback", "OscServer", "parse_target"]
