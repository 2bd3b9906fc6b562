"""Composition root and outer surfaces: the command line, settings, later OSC and presets."""
