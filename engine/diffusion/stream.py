"""The diffusion stage: RGB frames in, repainted RGB frames out.

:class:`DiffusionStream` owns one loaded model and turns parameter snapshots
into the denoiser's inputs at frame edges.  Everything live (prompts, weights,
strength, guidance, delta, seeds, the similarity filter) is applied without
re-preparing: embeddings and noises come from caches, a strength change swaps
the per-step constants, and only a change of step count or frame buffer size
empties the Stream Batch buffer.

The UNet and the autoencoder are served by the acceleration back end the
``accel`` parameter names (:mod:`engine.accel`): it is prepared in the
background while the current one serves, and takes over between frames.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import cv2
import numpy as np
import torch

from ..accel.manager import UNCHANGED, AccelManager, BackendFailure, guarded
from ..accel.base import AccelSpec
from ..metrics import StageMetrics
from ..params.catalog import PROMPT_SLOTS, SEED_SLOTS
from ..torch_threads import torch_threads
from .conditioning import NoiseCache, PromptCache, blend_conditions, blend_tensors
from .denoiser import GuidanceSettings, StreamDenoiser
from .model_bundle import ModelBundle
from .schedule import step_plan, t_index_for_strength
from .similarity_filter import SimilarityFilter
from .unet_runner import Condition, UNetRunner


@dataclass
class StreamSettings:
    """The stage's view of the parameters (a snapshot's values, or defaults)."""

    size: int = 512
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
    accel: str = "eager"  # acceleration back end (engine.accel)

    @classmethod
    def from_values(cls, v: Mapping, **overrides) -> "StreamSettings":
        prompts = tuple((v[f"prompt.{i}.text"], v[f"prompt.{i}.weight"]) for i in range(1, PROMPT_SLOTS + 1))
        seeds = tuple((v[f"seed.{i}.value"], v[f"seed.{i}.weight"]) for i in range(1, SEED_SLOTS + 1))
        s = cls(
            size=v["size"],
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
            accel=v.get("accel", "eager"),
        )
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
        self.accel = AccelManager(bundle)  # .on_fault: where back-end failures are reported
        self._served = None  # the Accelerated serving now; None: the modules (eager)
        self._eager_threads: int | None = None  # torch's count outside this frame, when the frame runs on fewer
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
            if s.size % 64 or s.size <= 0:
                raise ValueError(f"size must be a multiple of 64 pixels; got {s.size}")
            rebuild = old is None or (s.size, s.frame_buffer_size) != (old.size, old.frame_buffer_size)
            plan = None
            if rebuild or (s.strength, s.steps, s.t_index_list) != (old.strength, old.steps, old.t_index_list):
                plan = step_plan(b.scheduler_config, self._t_index(s), device=b.device, dtype=b.dtype)
            guidance = GuidanceSettings(s.guidance, s.guidance_scale, s.delta)
            texts, weights = _weights_or_first(s.prompts)
            conds = [self.prompts.get(t) if w > 0 else None for t, w in zip(texts, weights)]
            cond = blend_conditions(conds, weights, s.prompt_blend)
            neg = self._negative(s.negative_prompt)
            latent_hw = s.size // b.vae_scale_factor
            steps = plan.steps if plan is not None else self.denoiser.plan.steps
            shape = (steps, s.frame_buffer_size, b.latent_channels, latent_hw, latent_hw)
            seeds, sw = _weights_or_first(s.seeds)
            noises = [self.noises.get(seed, shape, b.device, b.dtype).reshape(steps, -1) if w > 0 else None for seed, w in zip(seeds, sw)]
            noise = blend_tensors(noises, sw, s.seed_blend, unit_variance=True).reshape(shape)

            # commit
            if rebuild:
                self.latent_hw = latent_hw
                self.runner = UNetRunner(b.unet, b.prediction_type, b.sdxl_time_ids(s.size))
                self.denoiser = StreamDenoiser(self.runner, plan, frames=s.frame_buffer_size)
                self._use_served()
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
            self.accel.request(s.accel, self.accel_spec(s))

    def accel_spec(self, s: StreamSettings | None = None) -> AccelSpec:
        """The shapes an acceleration back end must serve for settings ``s``."""
        s = s or self.settings
        b = self.bundle
        return AccelSpec.for_stream(s.size, s.steps, s.frame_buffer_size, s.tiny_vae and b.tiny_vae is not None,
                                    dtype=b.dtype, device=b.device)

    def _swap_accel(self) -> None:
        """At a frame edge: let a newly prepared back end (or eager) take over."""
        served = self.accel.poll()
        if served is not UNCHANGED:
            self._served = served
            self._use_served()

    def _use_served(self) -> None:
        served = self._served
        if served is None:
            self.runner.use(None)
        else:
            scale = self.bundle.vae_scale_factor
            self.runner.use(guarded(served.unet), lambda n, h, w: served.serves_unet(n, h * scale, w * scale))

    def _autoencoder_fn(self, images: torch.Tensor, decode: bool):
        """The served back end's encoder/decoder for this call, or None (the module)."""
        acc = self._served
        if acc is None:
            return None
        tiny = self.settings.tiny_vae and self.bundle.tiny_vae is not None
        fn = acc.decoder(tiny) if decode else acc.encoder(tiny)
        n, h, w = images.shape[0], images.shape[2], images.shape[3]
        if decode:
            h, w = h * self.bundle.vae_scale_factor, w * self.bundle.vae_scale_factor
        ok = fn is not None and acc.serves_images(n, h, w, "tiny" if tiny else "full")
        return guarded(fn) if ok else None

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
            self.apply(StreamSettings.from_values(snapshot.values, **keep))
        except ValueError as e:
            self.last_error = str(e)
            return False
        self.last_error = None
        return True

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
        size = self.settings.size
        batch = []
        for f in frames:
            if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
                raise ValueError(f"frames must be HxWx3 uint8 RGB; got {f.shape} {f.dtype}")
            if f.shape[:2] != (size, size):
                f = cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA)
            batch.append(torch.from_numpy(np.ascontiguousarray(f)))
        x = torch.stack(batch).permute(0, 3, 1, 2).to(device=self.bundle.device, dtype=self.bundle.dtype)
        return x / 127.5 - 1.0

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        fn = self._autoencoder_fn(images, decode=False)
        if fn is not None:
            return fn(images)
        ae = self.bundle.autoencoder(self.settings.tiny_vae)
        out = ae.encode(images)
        lat = out.latents if hasattr(out, "latents") else out.latent_dist.mode()
        return lat * ae.config.scaling_factor

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> list[np.ndarray]:
        fn = self._autoencoder_fn(latents, decode=True)
        if fn is not None:
            img = fn(latents)
        else:
            ae = self.bundle.autoencoder(self.settings.tiny_vae)
            img = ae.decode(latents / ae.config.scaling_factor, return_dict=False)[0]
        img = ((img.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return list(img.permute(0, 2, 3, 1).cpu().numpy())

    # -- the frame step ------------------------------------------------------------
    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        """One Stream Batch call on ``frame_buffer_size`` frames.

        Returns the finished frames (model size), or None while the pipeline
        fills after a (re)start.  With the similarity filter on, a near-repeat
        input returns the previous output at once.
        """
        with self._lock:
            return self._process(frames)

    def _process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        t0 = time.perf_counter()
        self._swap_accel()  # between frames: the only place a back end changes
        threads = self._frame_threads(len(frames))
        self._eager_threads = torch.get_num_threads() if threads else None  # for a stage eager must redo
        with torch_threads(threads):
            images = self._filtered(frames)
        if images is None:
            self.metrics.done(time.perf_counter() - t0, produced=False)
        elif images is not self._last_output:
            self._last_output = images
            self.metrics.done(time.perf_counter() - t0, produced=True)
        else:
            self.metrics.skip()
            images = list(images)  # the same (read-only) images again
        return images

    def _filtered(self, frames: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        """The new images, the previous output itself when the similarity filter skips, or None."""
        x = self.to_tensor(frames)
        if self.settings.similarity_filter:
            if self._last_output is None:
                self.filter.mark_processed(x)  # nothing to repeat yet: process, but remember it
            elif self.filter.should_skip(x):
                return self._last_output
        return self._denoise(x)

    def _frame_threads(self, frames: int) -> int | None:
        """torch's thread count for this frame's own tensor code (image conversion, the
        scheduler's arithmetic): the served back end's wish when it serves the whole
        frame (see ``Accelerated.torch_threads``); None: as set."""
        acc = self._served
        if acc is None or not acc.torch_threads:
            return None
        size, tiny = self.settings.size, self.settings.tiny_vae and self.bundle.tiny_vae is not None
        whole = acc.serves_frame(self.denoiser.plan.steps, frames, size, size, "tiny" if tiny else "full")
        return acc.torch_threads if whole else None

    def _denoise(self, x: torch.Tensor) -> list[np.ndarray] | None:
        lat = self._or_eager(lambda: self.encode(x))
        if self.settings.stream_batch:
            out = self._or_eager(lambda: self.denoiser.stream_step(lat, self.cond, self.neg, self.guidance))
        else:
            out = self._or_eager(lambda: self.denoiser.sequential(lat, self.cond, self.neg, self.guidance))
        return None if out is None else self._or_eager(lambda: self.decode(out))

    def _or_eager(self, stage):
        """Run one stage; if the served back end breaks in it, report that and redo
        the stage with eager.  Safe: a stage commits its state (the Stream Batch
        buffer) only after the back end's call has returned."""
        try:
            return stage()
        except BackendFailure as e:
            self.accel.serving_failed(e.__cause__ or e)
            self._served = None
            self._use_served()
            with torch_threads(self._eager_threads):  # the modules need the threads the frame gave away
                return stage()

    def process_one(self, frame: np.ndarray) -> np.ndarray | None:
        if self.settings.frame_buffer_size != 1:
            raise ValueError("process_one needs frame_buffer_size 1; use process() with a list of frames")
        out = self.process([frame])
        return None if out is None else out[0]

    def close(self) -> None:
        """Stop a back-end preparation in progress and release the served back end
        (the stream goes on with eager if used again)."""
        with self._lock:
            self.accel.close()
            self._served = None
            self._use_served()

    def restart(self) -> None:
        """Empty the pipeline (e.g. after a source switch) so no old frame leaks out."""
        with self._lock:
            self.denoiser.reset()
            self.filter.reset()
            self._last_output = None
