"""The one error the presets package raises."""

from __future__ import annotations

from ..errors import UserError


class PresetError(UserError):
    """A preset could not be read, written or recalled; the message is one line that says why."""
