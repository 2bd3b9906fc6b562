"""The model's frame size: the long side (or an explicit WIDTHxHEIGHT), shaped like the output.

The ``size`` parameter is text: ``"512"`` means "512 pixels on the long side, the short side
following the output's aspect", ``"768x448"`` asks for exactly that frame.  Each model family
says which sides it can take (:class:`SizeRule`: Stable Diffusion UNets and their TensorRT
profiles multiples of 64, the style network multiples of 4); :func:`model_frame` snaps the
short side to the allowed value nearest the output's aspect, and refuses, in one line naming
what is allowed, a size the family cannot take.  :func:`to_model_frame` brings a source frame
to the model's frame: centre-cropped to its aspect (no squashing), then resized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

SIZE_LIMITS = (32, 2048)  # any family's long side lies within this


@dataclass(frozen=True)
class SizeRule:
    """The sides a model family can take: multiples of ``multiple`` from ``minimum`` to ``maximum``."""

    family: str  # in the user's words, for messages: "Stable Diffusion", "the style network"
    multiple: int
    minimum: int
    maximum: int

    def allows(self, side: int) -> bool:
        return self.minimum <= side <= self.maximum and side % self.multiple == 0

    def describe(self) -> str:
        return f"multiples of {self.multiple} from {self.minimum} to {self.maximum} px"


def normalize_size(value: Any) -> str:
    """``size`` as the registry stores it: ``"512"`` or ``"768x448"`` (an int from OSC or an old preset is its long side).
    Raises ValueError with what it takes."""
    if isinstance(value, bool):
        raise ValueError(f"size takes a long side in pixels (e.g. 512) or WIDTHxHEIGHT (e.g. 768x448), not {value!r}")
    if isinstance(value, (int, float)) and float(value).is_integer():
        value = str(int(value))
    if not isinstance(value, str):
        raise ValueError(f"size takes a long side in pixels (e.g. 512) or WIDTHxHEIGHT (e.g. 768x448), not {value!r}")
    text = value.strip().lower().replace(" ", "").replace("×", "x")
    lo, hi = SIZE_LIMITS
    parts = text.split("x")
    if len(parts) in (1, 2) and all(p.isascii() and p.isdigit() for p in parts):
        sides = [int(p) for p in parts]
        if all(lo <= s <= hi for s in sides):
            return "x".join(str(s) for s in sides)
    raise ValueError(f"size takes a long side from {lo} to {hi} px (e.g. 512) or WIDTHxHEIGHT (e.g. 768x448); got {value!r}")


def parse_output_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def _nearest(side: float, rule: SizeRule) -> int:
    """The allowed side nearest ``side`` (ties go to the larger), within the rule's range."""
    m = rule.multiple
    down = max(rule.minimum, min(rule.maximum, int(side // m) * m))
    up = max(rule.minimum, min(rule.maximum, down + m))
    return up if abs(math.log(up / side)) <= abs(math.log(down / side)) else down


def model_frame(size: str, output: tuple[int, int], rule: SizeRule) -> tuple[int, int]:
    """(width, height) of the model's frames for ``size`` (see :func:`normalize_size`) on an output of
    ``output`` = (width, height) pixels.  Raises ValueError naming what ``rule`` allows."""
    text = normalize_size(size)
    if "x" in text:
        w, h = (int(p) for p in text.split("x"))
        if not (rule.allows(w) and rule.allows(h)):
            raise ValueError(f"size {text} does not suit {rule.family}: width and height take {rule.describe()}")
        return w, h
    long_side = int(text)
    if not rule.allows(long_side):
        raise ValueError(f"size {long_side} does not suit {rule.family}: it takes {rule.describe()}")
    ow, oh = output
    if ow >= oh:
        return long_side, _nearest(long_side * oh / ow, rule)
    return _nearest(long_side * ow / oh, rule), long_side


def to_model_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``frame`` centre-cropped to ``width:height`` and resized to it (area interpolation): nothing squashed."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    if abs(w * height - h * width) > max(w, h):  # aspects differ by more than a pixel: crop the excess
        if w * height > h * width:
            cw = max(1, round(h * width / height))
            x = (w - cw) // 2
            frame = frame[:, x : x + cw]
        else:
            ch = max(1, round(w * height / width))
            y = (h - ch) // 2
            frame = frame[y : y + ch]
    return cv2.resize(np.ascontiguousarray(frame), (width, height), interpolation=cv2.INTER_AREA)
