"""Hardware video encoders: is one here (NVENC with an NVIDIA driver, VideoToolbox on macOS), and will it start?"""

from __future__ import annotations

import sys
from fractions import Fraction
from functools import lru_cache

import av


@lru_cache(maxsize=None)
def _nvidia_driver() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except Exception:
        return False


def hardware_present(encoder: str) -> bool:
    """The encoder is in PyAV's FFmpeg and the machine has what drives it (an NVIDIA driver, macOS)."""
    if encoder not in av.codecs_available:
        return False
    if encoder.endswith("_nvenc"):
        return _nvidia_driver()
    if encoder.endswith("_videotoolbox"):
        return sys.platform == "darwin"
    return False


@lru_cache(maxsize=32)
def hardware_opens(encoder: str, width: int, height: int, fps: float) -> str | None:
    """None when ``encoder`` opens at this size, else FFmpeg's reason (remembered: one try per process)."""
    try:
        ctx = av.CodecContext.create(encoder, "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = Fraction(1, max(1, round(fps)))
        ctx.framerate = Fraction(max(1, round(fps)), 1)
        ctx.open()
        del ctx
        return None
    except Exception as e:  # FFmpeg's error for this encoder (no device, too many sessions, old driver...)
        return str(e) or type(e).__name__
