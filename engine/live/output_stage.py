"""The output stage: fit the model's square frames to the output, then the show-safety mix.

:func:`fit_frame` places any frame on the output canvas by ``fit`` (letterbox),
``fill`` (crop) or ``stretch``.  :class:`ShowSafety` turns the generated frame,
the raw input and the safety parameters into what the audience sees:

* freeze: hold the last frame that went out;
* passthrough: crossfade to the raw input over ``passthrough_time`` seconds;
* fade to black over ``fade_time`` seconds; blackout (latched or momentary): black at once;
* master brightness;
* a watchdog: when no new generated frame arrived for ``watchdog_limit`` seconds it
  switches to freeze or passthrough by itself, and back when generation resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..params.catalog import FIT_MODES


def fit_frame(img: np.ndarray, width: int, height: int, mode: str = "fit") -> np.ndarray:
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    if mode == "stretch":
        return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    scale = min(width / w, height / h) if mode == "fit" else max(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    if mode == "fill":
        x, y = (nw - width) // 2, (nh - height) // 2
        return np.ascontiguousarray(resized[y : y + height, x : x + width])
    if mode != "fit":
        raise ValueError(f"fit mode {mode!r} is not one of {', '.join(FIT_MODES)}")
    canvas = np.zeros((height, width, 3), np.uint8)
    x, y = (width - nw) // 2, (height - nh) // 2
    canvas[y : y + nh, x : x + nw] = resized
    return canvas


@dataclass
class SafetySettings:
    blackout: bool = False
    blackout_momentary: bool = False
    freeze: bool = False
    passthrough: bool = False
    passthrough_time: float = 1.0
    fade_to_black: bool = False
    fade_time: float = 2.0
    brightness: float = 1.0
    watchdog: bool = True
    watchdog_limit: float = 2.0
    watchdog_action: str = "freeze"  # or "passthrough"
    fit_mode: str = "fit"

    @classmethod
    def from_values(cls, v) -> "SafetySettings":
        return cls(**{k: v[k] for k in cls.__dataclass_fields__ if k in v})


class _Fader:
    """A value moving linearly toward 0 or 1 at 1/duration per second."""

    def __init__(self):
        self.value = 0.0

    def step(self, target: float, duration: float, dt: float) -> float:
        if duration <= 0:
            self.value = target
        elif self.value < target:
            self.value = min(target, self.value + dt / duration)
        elif self.value > target:
            self.value = max(target, self.value - dt / duration)
        return self.value


class ShowSafety:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._pass = _Fader()
        self._black = _Fader()
        self._last_out: np.ndarray | None = None
        self._last_t: float | None = None
        self.watchdog_engaged = False

    def compose(self, generated: np.ndarray | None, raw: np.ndarray | None, s: SafetySettings, t: float, generated_at: float | None) -> np.ndarray:
        """The frame to send at time ``t``.

        ``generated`` is the newest generated frame (None before the first),
        ``raw`` the newest input frame, ``generated_at`` when generation last
        produced a new frame (for the watchdog).
        """
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        stalled = s.watchdog and generated_at is not None and t - generated_at > s.watchdog_limit
        self.watchdog_engaged = bool(stalled)
        if s.blackout or s.blackout_momentary:
            # not remembered: freezing after a blackout holds the last real picture
            return np.zeros((self.height, self.width, 3), np.uint8)
        freeze = s.freeze or (stalled and s.watchdog_action == "freeze")
        if freeze and self._last_out is not None:
            return self._last_out
        want_pass = s.passthrough or (stalled and s.watchdog_action == "passthrough") or generated is None
        mix = self._pass.step(1.0 if want_pass else 0.0, 0.0 if generated is None else s.passthrough_time, dt)
        if generated is None and raw is None:
            out = np.zeros((self.height, self.width, 3), np.uint8)
        elif mix >= 1.0 or generated is None:
            out = fit_frame(raw, self.width, self.height, s.fit_mode)
        else:
            out = fit_frame(generated, self.width, self.height, s.fit_mode)
            if mix > 0.0 and raw is not None:
                out = cv2.addWeighted(fit_frame(raw, self.width, self.height, s.fit_mode), mix, out, 1.0 - mix, 0.0)
        black = self._black.step(1.0 if s.fade_to_black else 0.0, s.fade_time, dt)
        gain = s.brightness * (1.0 - black)
        if abs(gain - 1.0) > 1e-3:
            out = cv2.convertScaleAbs(out, alpha=gain)  # saturating multiply
        self._last_out = out
        return out
