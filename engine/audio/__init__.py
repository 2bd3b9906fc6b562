"""Binaural audio: renderers that place a mono source around the listener's head."""

from .types import SAMPLE_RATE, BinauralRenderer, Pose, relative_direction

__all__ = ["SAMPLE_RATE", "BinauralRenderer", "Pose", "relative_direction"]
