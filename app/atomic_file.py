"""Atomic file writes for what the app saves (presets, MIDI mappings): see :mod:`engine.atomic_file`."""

from engine.atomic_file import write_atomic

__all__ = ["write_atomic"]
