"""The style network as a live stage: frames in, painted frames out, like the diffusion stream.

:class:`StyleStream` speaks the pipeline's generator protocol (``sync``, ``process``,
``restart``, ``close``, ``metrics``, ``latency_frames``).  Parameters it reads:

* ``prompt.N.text`` / ``prompt.N.weight``: each slot names a style (:mod:`.catalog`); the
  faders blend the 26 styles through the network's own style-weight input, and paintings
  (``image:PATH``) through their style vectors; where both kinds are up, the two pictures mix;
* ``strength``: 1 paints fully, 0 shows the input;
* ``size`` against ``output_size``: the frame, sides in multiples of 4 (:data:`STYLE_SIZES`);
* the similarity filter, as for diffusion.  Seeds, steps and guidance have no effect.

Two frames are in flight at once on a machine with two or more cores (each on its own
share of the cores): throughput nearly doubles on a small CPU for one frame of latency,
as Stream Batch trades it on a GPU.  A refused change (an unknown style, a painting that
cannot be read, a size the network cannot take) leaves the stream painting as before,
with the reason in ``last_error``.
"""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import torch

from ..diffusion.similarity_filter import SimilarityFilter
from ..frame_size import SizeRule, model_frame, parse_output_size, to_model_frame
from ..metrics import StageMetrics
from ..params.catalog import PROMPT_SLOTS
from .catalog import DEFAULT_STYLE, NUM_STYLES, StyleError, parse_slot
from .loader import StyleBundle

STYLE_SIZES = SizeRule("the style network", 4, 32, 1920)
IGNORED = "seeds, steps, guidance and the negative prompt have no effect on the style network"


@dataclass(frozen=True)
class StyleSettings:
    width: int = 512
    height: int = 288
    prompts: tuple[tuple[str, float], ...] = (("", 1.0),)
    strength: float = 1.0
    similarity_filter: bool = False
    similarity_threshold: float = 0.98
    max_skip_frame: int = 10
    frame_buffer_size: int = 1  # one frame per call (the render loop reads it)

    @property
    def frame(self) -> tuple[int, int]:
        """(width, height) of the frames painted."""
        return self.width, self.height

    @classmethod
    def from_values(cls, v: Mapping, frame_aspect: tuple[int, int] | None = None, **overrides) -> "StyleSettings":
        """Settings from registry values; the frame follows ``frame_aspect`` (w, h) or else the output size."""
        aspect = frame_aspect or parse_output_size(v.get("output_size", "1280x720"))
        w, h = model_frame(v["size"], aspect, STYLE_SIZES)
        s = cls(width=w, height=h, strength=float(v["strength"]),
                prompts=tuple((v[f"prompt.{i}.text"], float(v[f"prompt.{i}.weight"])) for i in range(1, PROMPT_SLOTS + 1)),
                similarity_filter=bool(v["similarity_filter"]), similarity_threshold=float(v["similarity_threshold"]),
                max_skip_frame=int(v["max_skip_frame"]))
        return replace(s, **overrides)


@dataclass(frozen=True)
class Blend:
    """What the faders ask for now: built-in style weights, a painting's vector, and how the two mix."""

    weights: np.ndarray  # [26], sums to 1 (or all zero when only paintings are up)
    vector: np.ndarray | None  # blended painting style vector, None when no painting is up
    builtin_share: float  # 1: only built-in styles; 0: only paintings


def plan_blend(prompts: Sequence[tuple[str, float]], vector_of) -> Blend:
    """The blend of the slots' styles by their faders (StyleError for a slot naming no style).
    All faders down: slot 1 alone; nothing named anywhere: the default style."""
    choices = [parse_slot(t) for t, _ in prompts]  # every slot is checked, so a bad one is said at once
    weights = [max(0.0, w) for _, w in prompts]
    if not any(w > 0 for w in weights):
        weights = [1.0] + [0.0] * (len(weights) - 1)
    builtin = np.zeros(NUM_STYLES, np.float32)
    vectors, vweights = [], []
    for c, w in zip(choices, weights):
        if c is None or w <= 0:
            continue
        if c.index is not None:
            builtin[c.index] += w
        else:
            vectors.append(vector_of(c.image))
            vweights.append(w)
    b_total, v_total = float(builtin.sum()), float(sum(vweights))
    if b_total + v_total == 0:
        builtin[DEFAULT_STYLE] = b_total = 1.0
    vector = None
    if vectors:
        vector = sum(w * v for w, v in zip(vweights, vectors)) / v_total
    weights26 = builtin / b_total if b_total > 0 else builtin
    return Blend(weights26.astype(np.float32), vector, b_total / (b_total + v_total))


_PAINTERS: dict[int, ThreadPoolExecutor] = {}
_PAINTERS_LOCK = threading.Lock()


def painters(count: int) -> ThreadPoolExecutor:
    """The process's ``count`` painter threads, made once and shared by every style stream: a model reload
    starts no threads, so memory (each new thread's allocator arena) and the thread count stay flat all night."""
    with _PAINTERS_LOCK:
        pool = _PAINTERS.get(count)
        if pool is None:
            pool = _PAINTERS[count] = ThreadPoolExecutor(count, thread_name_prefix="dreamdeck-styles")
        return pool


class StyleStream:
    def __init__(self, bundle: StyleBundle, settings: StyleSettings | None = None, filter_seed: int = 0,
                 frames_in_flight: int | None = None):
        self.bundle = bundle
        self.metrics = StageMetrics("generate")
        self.filter = SimilarityFilter(seed=filter_seed)
        self.depth = frames_in_flight or bundle.frames_in_flight
        self._pool = painters(self.depth) if self.depth > 1 else None
        self._pending: collections.deque[Future] = collections.deque()
        self._lock = threading.RLock()
        self._last_output: list[np.ndarray] | None = None
        self._snapshot_version: int | None = None
        self.last_error: str | None = None
        self.accel = None  # served by ONNX Runtime directly: no back-end manager to show
        self.settings = StyleSettings()
        self.blend = plan_blend(self.settings.prompts, bundle.arbitrary.vector)
        try:
            self.apply(settings or self.settings)
        except StyleError as e:  # e.g. a diffusion prompt still in a slot: paint the default style, and say why
            self.apply(replace(settings, prompts=(("", 1.0),)))
            self.last_error = f"{e}; painting style {DEFAULT_STYLE} meanwhile"

    # -- configuration -------------------------------------------------------------------
    def apply(self, s: StyleSettings) -> None:
        """Apply settings at a frame edge, all or nothing (StyleError / ValueError: nothing changed)."""
        if not (STYLE_SIZES.allows(s.width) and STYLE_SIZES.allows(s.height)):
            raise ValueError(f"size {s.width}x{s.height} does not suit {STYLE_SIZES.family}: it takes {STYLE_SIZES.describe()}")
        if not 0.0 <= s.strength <= 1.0:
            raise ValueError(f"strength takes 0..1; got {s.strength}")
        blend = plan_blend(s.prompts, self.bundle.arbitrary.vector)
        with self._lock:
            if (s.width, s.height) != (self.settings.width, self.settings.height):
                self._last_output = None  # never hand out a frame of the old size
                self.filter.reset()
            self.filter.configure(s.similarity_threshold, s.max_skip_frame)
            if not s.similarity_filter or (s.prompts, s.strength) != (self.settings.prompts, self.settings.strength):
                self.filter.reset()  # a new look is painted at once, even over a still input
            self.settings, self.blend = s, blend

    def sync(self, snapshot) -> bool:
        """Apply a registry snapshot newer than the last one seen; a refused one leaves its reason in ``last_error``."""
        if snapshot.version == self._snapshot_version:
            return False
        self._snapshot_version = snapshot.version
        try:
            wanted = StyleSettings.from_values(snapshot.values)
        except ValueError as e:  # a size the network cannot take: the rest still applies, at the current frame
            self.last_error = str(e)
            wanted = StyleSettings.from_values({**snapshot.values, "size": f"{self.settings.width}x{self.settings.height}"})
        else:
            self.last_error = None
        try:
            self.apply(wanted)
        except StyleError as e:  # a slot naming no style: the rest still applies, on the styles that ran
            self.last_error = str(e)
            self.apply(replace(wanted, prompts=self.settings.prompts))
        except ValueError as e:  # nothing else can be kept apart: the stream runs as it was
            self.last_error = str(e)
        return self.last_error is None

    @property
    def latency_frames(self) -> int:
        return self.depth - 1

    # -- the frame step ------------------------------------------------------------------
    def paint(self, frame: np.ndarray, s: StyleSettings, blend: Blend) -> np.ndarray:
        """One frame (already at the model's size) painted: HxWx3 uint8."""
        strength = np.array([s.strength], np.float32)
        if blend.vector is None:
            return self.bundle.run_builtin(frame[None], blend.weights, strength)[0]
        painting = self.bundle.arbitrary.stylize(frame, blend.vector)
        if blend.builtin_share > 0:
            builtin = self.bundle.run_builtin(frame[None], blend.weights, np.ones(1, np.float32))[0].astype(np.float32) / 255.0
            painting = blend.builtin_share * builtin + (1.0 - blend.builtin_share) * painting
        x = frame.astype(np.float32) / 255.0
        return np.clip(np.floor((x + s.strength * (painting - x)) * 255.0 + 0.5), 0, 255).astype(np.uint8)

    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        """Paint one frame; returns the frame that finished (None while the first ones are still in flight)."""
        with self._lock:
            t0 = time.perf_counter()
            s, blend = self.settings, self.blend
            frame = frames[-1]
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(f"frames must be HxWx3 uint8 RGB; got {frame.shape} {frame.dtype}")
            frame = to_model_frame(frame, s.width, s.height)
            if self._repeats(frame):
                if self._pending and self._pending[0].done():  # a frame finished meanwhile: show it, not the old one
                    out = self._pending.popleft().result()
                    if out.shape[:2] == (s.height, s.width):
                        self._last_output = [out]
                self.metrics.skip()
                return list(self._last_output)
            if self._pool is None:
                out = self.paint(frame, s, blend)
            else:
                self._pending.append(self._pool.submit(self.paint, frame, s, blend))
                if len(self._pending) < self.depth:
                    self.metrics.done(time.perf_counter() - t0, produced=False)
                    return None
                out = self._pending.popleft().result()
            if out.shape[:2] != (s.height, s.width):  # painted before a size change: not shown
                self.metrics.done(time.perf_counter() - t0, produced=False)
                return None
            self._last_output = [out]
            self.metrics.done(time.perf_counter() - t0, produced=True)
            return [out]

    def _repeats(self, frame: np.ndarray) -> bool:
        if not self.settings.similarity_filter:
            return False
        x = torch.from_numpy(frame)
        if self._last_output is None:
            self.filter.mark_processed(x)
            return False
        return self.filter.should_skip(x)

    def process_one(self, frame: np.ndarray) -> np.ndarray | None:
        out = self.process([frame])
        return None if out is None else out[0]

    def restart(self) -> None:
        """Empty the frames in flight (e.g. after a source switch) so no old frame leaks out."""
        with self._lock:
            while self._pending:
                self._pending.popleft().exception()  # wait for it; a painter's error is not this call's
            self.filter.reset()
            self._last_output = None

    def close(self) -> None:
        with self._lock:
            for f in self._pending:
                f.cancel()
            while self._pending:  # the shared painters finish this stream's frames before it goes
                f = self._pending.popleft()
                if not f.cancelled():
                    f.exception()
