"""The frames a Stable Diffusion UNet (and its TensorRT profiles) can take: one rule, declared once.

Sides are multiples of 64 pixels (the latent is 1/8 of the frame and the UNet halves it
three times) from 64 to 1024.  :func:`diffusion_frame` turns the ``size`` and
``output_size`` parameters into the model's (width, height); :func:`check_frame`
refuses, in one line, a frame the stage cannot run.
"""

from __future__ import annotations

from ..frame_size import SizeRule, model_frame, parse_output_size

DIFFUSION_SIZES = SizeRule("Stable Diffusion", 64, 64, 1024)


def diffusion_frame(size, output_size: str = "512x512") -> tuple[int, int]:
    """(width, height) for ``size`` ("512", "768x448", or an int long side) on an output of
    ``output_size`` ("1280x720").  Raises ValueError naming what Stable Diffusion takes."""
    return model_frame(size, parse_output_size(output_size), DIFFUSION_SIZES)


def check_frame(width: int, height: int) -> None:
    """Raise ValueError (one line) unless a width x height frame suits the UNet."""
    ok = all(isinstance(s, int) and not isinstance(s, bool) and DIFFUSION_SIZES.allows(s) for s in (width, height))
    if not ok:
        raise ValueError(f"frame {width}x{height} does not suit {DIFFUSION_SIZES.family}: "
                         f"width and height take {DIFFUSION_SIZES.describe()}")
