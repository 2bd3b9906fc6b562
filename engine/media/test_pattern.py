"""A moving test pattern: colour bars, a sweeping gradient and orbiting discs.

It moves everywhere (so the similarity filter lets frames through) and has hard
edges and smooth areas (so a model's effect is easy to see).
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def pattern_frame(t: float, width: int = 512, height: int = 512, static: bool = False) -> np.ndarray:
    """The pattern at time ``t`` seconds (RGB uint8); ``static`` freezes it at t=0."""
    if static:
        t = 0.0
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = 2 * math.pi * (x / width + 0.15 * t)
    img = np.stack(
        [
            127 + 120 * np.sin(phase),
            127 + 120 * np.sin(phase + 2.1 + y / height * 3),
            127 + 120 * np.sin(phase + 4.2),
        ],
        axis=-1,
    ).astype(np.uint8)
    bars = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255), (255, 0, 0), (0, 0, 255)]
    bw = width // len(bars)
    for i, c in enumerate(bars):
        img[: height // 6, i * bw : (i + 1) * bw] = c
    cx, cy, r = width / 2, height * 0.58, min(width, height) * 0.28
    for k in range(3):
        a = t * (0.9 + 0.3 * k) + k * 2.1
        px, py = int(cx + r * math.cos(a)), int(cy + r * 0.6 * math.sin(a))
        color = [(240, 80, 40), (40, 200, 240), (250, 230, 60)][k]
        cv2.circle(img, (px, py), max(4, min(width, height) // 10), color, -1, lineType=cv2.LINE_AA)
    return img
