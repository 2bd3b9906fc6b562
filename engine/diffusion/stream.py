"""The diffusion stage: RGB frames in, repainted RGB frames out.

:class:`DiffusionStream` owns one loaded model and turns parameter snapshots
into the denoiser's inputs at frame edges.  Everything live (prompts, weights,
strength, guidance, delta, seeds, the similarity filter) is applied without
re-preparing: embeddings and noises come from caches, a strength change swaps
the per-step constants, and only a change of frame, step count or frame buffer
size empties the Stream Batch buffer.

Frames are ``width`` x ``height`` pixels, square or not (multiples of 64: see
:mod:`engine.diffusion.sizes`); latents are (height/8, width/8), and a source of
another shape is centre-cropped to the frame's aspect, never squashed.

The UNet and the autoencoder are served by the acceleration back end the
``accel`` parameter names (:mod:`engine.accel`): it is prepared in the
background while the current one serves, and takes over between frames.
The stage asks its :class:`~engine.accel.routing.StageRouter` which callable
serves each call; the router falls back to the eager modules.
"""

from __future__ import annotations

import threading
import time
from dataclasses import InitVar, dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from ..accel.eager import EAGER
from ..accel.routing import StageRouter
from ..accel.spec import AccelSpec
from ..frame_size import to_model_frame
from ..metrics import StageMetrics
from ..params.catalog import PROMPT_SLOTS, SEED_SLOTS
from .conditioning import NoiseCache, PromptCache, blend_conditions, blend_tensors
from .denoiser import GuidanceSettings, StreamDenoiser
from .model_bundle import ModelBundle
from .schedule import step_plan, t_index_for_strength
from .similarity_filter import SimilarityFilter
from .sizes import check_frame, diffusion_frame
from .unet_runner import Condition, UNetRunner


@dataclass
class StreamSettings:
    """The stage's view of the parameters (a snapshot's values, or defaults).

    The model's frame is ``width`` x ``height`` pixels; ``size=N`` (an init-only
    argument) is the square convenience that sets both, e.g. ``StreamSettings(size=128)``
    or ``replace(settings, size=192)``.
    """

    width: int = 512
    height: int = 512
    steps: int = 2
    frame_buffer_size: int = 1
    strength: float = 0.5
    t_index_list: tuple[int, ...] | None = None  # overrides strength when set
    guidance: str = "self"
    guidance_scale: float = 1.2
    delta: float = 1.0
    negative_prompt: str = ""
    prompts: tuple[tuple[str, float], ...] = (("", 1.0),)
    prompt_blend: str = "slerp"
    seeds: tuple[tuple[int, float], ...] = ((1, 1.0),)
    seed_blend: str = "slerp"
    tiny_vae: bool = True
    similarity_filter: bool = False
    similarity_threshold: float = 0.98
    max_skip_frame: int = 10
    stream_batch: bool = True  # False: the sequential twin (for comparison)
    accel: str = EAGER  # acceleration back end (engine.accel)
    size: InitVar[int | None] = None  # square frame: sets width and height

    def __post_init__(self, size: int | None) -> None:
        if size is not None:
            self.width = self.height = size

    @property
    def frame(self) -> tuple[int, int]:
        """(width, height) of the model's frames."""
        return self.width, self.height

    @classmethod
    def from_values(cls, v: Mapping, **overrides) -> "StreamSettings":
        """Settings from a registry snapshot's values: the frame from ``size`` shaped like
        ``output_size`` (square without one).  Raises ValueError (one line) for a size
        Stable Diffusion cannot take.  ``overrides`` are set after (``size=N``: square)."""
        prompts = tuple((v[f"prompt.{i}.text"], v[f"prompt.{i}.weight"]) for i in range(1, PROMPT_SLOTS + 1))
        seeds = tuple((v[f"seed.{i}.value"], v[f"seed.{i}.weight"]) for i in range(1, SEED_SLOTS + 1))
        width, height = diffusion_frame(v["size"], v.get("output_size", "512x512"))
        s = cls(
            width=width,
            height=height,
            steps=v["steps"],
            frame_buffer_size=v["frame_buffer_size"],
            strength=v["strength"],
            guidance=v["guidance"],
            guidance_scale=v["guidance_scale"],
            delta=v["delta"],
            negative_prompt=v["negative_prompt"],
            prompts=prompts,
            prompt_blend=v["prompt_blend"],
            seeds=seeds,
            seed_blend=v["seed_blend"],
            tiny_vae=v["tiny_vae"],
            similarity_filter=v["similarity_filter"],
            similarity_threshold=v["similarity_threshold"],
            max_skip_frame=v["max_skip_frame"],
            accel=v.get("accel", EAGER),
        )
        square = overrides.pop("size", None)
        if square is not None:
            s.width = s.height = square
        for k, val in overrides.items():
            setattr(s, k, val)
        return s


def _weights_or_first(pairs: Sequence[tuple]) -> tuple[list, list[float]]:
    items = [p[0] for p in pairs]
    weights = [float(p[1]) for p in pairs]
    if not any(w > 0 for w in weights):
        weights = [1.0] + [0.0] * (len(weights) - 1)  # all faders down: slot 1 alone
    return items, weights


class DiffusionStream:
    def __init__(self, bundle: ModelBundle, settings: StreamSettings | None = None, filter_seed: int = 0):
        self.bundle = bundle
        self.settings = settings or StreamSettings()
        self.metrics = StageMetrics("generate")
        self.prompts = PromptCache(bundle.encode_text)
        self.noises = NoiseCache()
        self.filter = SimilarityFilter(seed=filter_seed)
        self._last_output: list[np.ndarray] | None = None
        self._snapshot_version: int | None = None
        self._applied: StreamSettings | None = None
        self._lock = threading.RLock()  # apply() may come from another thread than process()
        self.last_error: str | None = None
        self.router = StageRouter(bundle)  # which callable serves the UNet and the autoencoder, call by call
        self.accel = self.router.accel  # the back-end manager: .on_fault, .snapshot(), .install(), .wait()
        bundle.use_channels_last()
        self.apply(self.settings)

    # -- configuration -------------------------------------------------------------
    def _t_index(self, s: StreamSettings) -> list[int]:
        if s.t_index_list:
            return list(s.t_index_list)
        return t_index_for_strength(self.bundle.scheduler_config, s.strength, s.steps)

    def apply(self, s: StreamSettings) -> None:
        """Apply settings at a frame edge, all or nothing.

        Everything that can fail (sizes, timesteps, guidance mode, prompt
        encoding, noise) is worked out first; only then is the new state put in
        place, so a refused change leaves the stream running as it was.  Only a
        new size or frame buffer size builds a new denoiser; a new step count
        refills the Stream Batch buffer; everything else is live.
        """
        with self._lock:
            b = self.bundle
            old = self._applied
            check_frame(s.width, s.height)
            rebuild = old is None or (s.width, s.height, s.frame_buffer_size) != (old.width, old.height, old.frame_buffer_size)
            plan = None
            if rebuild or (s.strength, s.steps, s.t_index_list) != (old.strength, old.steps, old.t_index_list):
                plan = step_plan(b.scheduler_config, self._t_index(s), device=b.device, dtype=b.dtype)
            guidance = GuidanceSettings(s.guidance, s.guidance_scale, s.delta)
            texts, weights = _weights_or_first(s.prompts)
            conds = [self.prompts.get(t) if w > 0 else None for t, w in zip(texts, weights)]
            cond = blend_conditions(conds, weights, s.prompt_blend)
            neg = self._negative(s.negative_prompt)
            latent_hw = (s.height // b.vae_scale_factor, s.width // b.vae_scale_factor)
            steps = plan.steps if plan is not None else self.denoiser.plan.steps
            shape = (steps, s.frame_buffer_size, b.latent_channels, *latent_hw)
            seeds, sw = _weights_or_first(s.seeds)
            noises = [self.noises.get(seed, shape, b.device, b.dtype).reshape(steps, -1) if w > 0 else None for seed, w in zip(seeds, sw)]
            noise = blend_tensors(noises, sw, s.seed_blend, unit_variance=True).reshape(shape)

            # commit
            if rebuild:
                self.latent_hw = latent_hw
                self.runner = UNetRunner(b.unet, b.prediction_type, b.sdxl_time_ids(s.height, s.width), forward=self.router.unet)
                self.denoiser = StreamDenoiser(self.runner, plan, frames=s.frame_buffer_size)
                self._last_output = None  # never hand out a frame of the old size
                self.filter.reset()
            elif plan is not None:
                self.denoiser.set_plan(plan)
            self.denoiser.set_noise(noise)
            if old is not None and old.stream_batch != s.stream_batch:
                self.denoiser.reset()
            self.guidance, self.cond, self.neg = guidance, cond, neg
            self.filter.configure(s.similarity_threshold, s.max_skip_frame)
            if not s.similarity_filter:
                self.filter.reset()
            self.settings = self._applied = s
            self.router.request(s.accel, self.accel_spec(s))

    def accel_spec(self, s: StreamSettings | None = None) -> AccelSpec:
        """The shapes an acceleration back end must serve for settings ``s``."""
        s = s or self.settings
        b = self.bundle
        return AccelSpec.for_stream(s.width, s.height, s.steps, s.frame_buffer_size, s.tiny_vae and b.tiny_vae is not None,
                                    dtype=b.dtype, device=b.device)

    def sync(self, snapshot) -> bool:
        """Apply a parameter-registry snapshot if it is newer than the last one seen.

        Called by the generate loop once per frame edge; returns True when
        something was applied.  Size, steps and frame buffer size are applied
        too (the stream rebuilds or refills); the ``model`` parameter is the
        loader's business, not this stage's.  A refused snapshot leaves the
        stream as it was and its reason in ``last_error``.
        """
        if snapshot.version == self._snapshot_version:
            return False
        self._snapshot_version = snapshot.version
        keep = {k: getattr(self.settings, k) for k in ("t_index_list", "stream_batch")}
        try:
            wanted = StreamSettings.from_values(snapshot.values, **keep)
            self.last_error = None
        except ValueError as e:  # a size this model cannot take: the rest still applies, at the current frame
            self.last_error = str(e)
            wanted = StreamSettings.from_values({**snapshot.values, "size": f"{self.settings.width}x{self.settings.height}"}, **keep)
        try:
            self.apply(wanted)
        except ValueError as e:
            self.last_error = str(e)
            return False
        return self.last_error is None

    def _negative(self, text: str) -> Condition:
        c = self.prompts.get(text)
        if self.bundle.family == "sdxl" and not text:
            # SDXL pipelines use zeros for an empty negative prompt
            return Condition(torch.zeros_like(c.tokens), torch.zeros_like(c.pooled))
        return c

    @property
    def latency_frames(self) -> int:
        """Calls between a frame going in and coming out (Stream Batch pipeline depth)."""
        return self.denoiser.plan.steps - 1 if self.settings.stream_batch else 0

    # -- pixels <-> latents --------------------------------------------------------
    def to_tensor(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """Frames (HxWx3 uint8 RGB, any size) as the model's images: centre-cropped to its
        aspect, resized to its frame, in [-1, 1]."""
        width, height = self.settings.frame
        batch = []
        for f in frames:
            if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
                raise ValueError(f"frames must be HxWx3 uint8 RGB; got {f.shape} {f.dtype}")
            f = to_model_frame(f, width, height)
            batch.append(torch.from_numpy(np.ascontiguousarray(f)))
        x = torch.stack(batch).permute(0, 3, 1, 2).to(device=self.bundle.device, dtype=self.bundle.dtype)
        return x / 127.5 - 1.0

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.router.encoder(images, self.settings.tiny_vae)(images)

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> list[np.ndarray]:
        img = self.router.decoder(latents, self.settings.tiny_vae)(latents)
        img = ((img.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return list(img.permute(0, 2, 3, 1).cpu().numpy())

    # -- the frame step ------------------------------------------------------------
    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        """One Stream Batch call on ``frame_buffer_size`` frames.

        Returns the finished frames (the model's height x width), or None while the pipeline
        fills after a (re)start.  With the similarity filter on, a near-repeat
        input returns the previous output at once.
        """
        with self._lock:
            return self._process(frames)

    def _process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        t0 = time.perf_counter()
        s, run = self.settings, self.router.run  # run(): a stage the served back end breaks in is redone eagerly
        with self.router.frame(self.denoiser.plan.steps, len(frames), s.height, s.width, s.tiny_vae):  # back ends change only here
            x = self.to_tensor(frames)
            # 1. similarity filter: a near-repeat of the last input shows the last output again
            if self._repeats(x):
                images = self._last_output
            else:
                # 2. encode
                latents = run(lambda: self.encode(x))
                # 3. denoise: one Stream Batch step (or every step, sequentially)
                denoised = run(lambda: self._denoise(latents))
                # 4. decode (nothing yet while the Stream Batch pipeline fills)
                images = None if denoised is None else run(lambda: self.decode(denoised))
        if images is None:
            self.metrics.done(time.perf_counter() - t0, produced=False)
        elif images is not self._last_output:
            self._last_output = images
            self.metrics.done(time.perf_counter() - t0, produced=True)
        else:
            self.metrics.skip()
            images = list(images)  # the same (read-only) images again
        return images

    def _repeats(self, x: torch.Tensor) -> bool:
        """Whether the similarity filter skips this input (the previous output is shown again)."""
        if not self.settings.similarity_filter:
            return False
        if self._last_output is None:
            self.filter.mark_processed(x)  # nothing to repeat yet: process, but remember it
            return False
        return self.filter.should_skip(x)

    def _denoise(self, latents: torch.Tensor) -> torch.Tensor | None:
        if self.settings.stream_batch:
            return self.denoiser.stream_step(latents, self.cond, self.neg, self.guidance)
        return self.denoiser.sequential(latents, self.cond, self.neg, self.guidance)

    def process_one(self, frame: np.ndarray) -> np.ndarray | None:
        if self.settings.frame_buffer_size != 1:
            raise ValueError("process_one needs frame_buffer_size 1; use process() with a list of frames")
        out = self.process([frame])
        return None if out is None else out[0]

    def close(self) -> None:
        """Stop a back-end preparation in progress and release the served back end
        (the stream goes on with eager if used again)."""
        with self._lock:
            self.router.close()

    def restart(self) -> None:
        """Empty the pipeline (e.g. after a source switch) so no old frame leaks out."""
        with self._lock:
            self.denoiser.reset()
            self.filter.reset()
            self._last_output = None
