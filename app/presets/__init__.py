"""Presets: versioned JSON looks, saved atomically, recalled with a crossfade.

* ``store.PresetStore``: save / load / list / rename / delete (user folder + shipped presets)
* ``schema``: the file format, ``schema_version`` and the migrations
* ``fade`` / ``recall.PresetRecaller``: the crossfaded, optionally beat-quantised recall
* ``commands``: ``dreamdeck preset ...`` and ``dreamdeck live --preset``
"""

from .errors import PresetError
from .names import check_name
from .recall import PresetRecaller
from .schema import CURRENT_VERSION
from .store import Preset, PresetInfo, PresetStore

__all__ = ["PresetError", "check_name", "PresetRecaller", "CURRENT_VERSION", "Preset", "PresetInfo", "PresetStore"]
