"""What a back end must serve: the call signatures and the shapes (:class:`AccelSpec`).

Every back end hands the stream plain callables with fixed signatures, so the
denoiser calls the UNet and the VAE the same way whichever back end serves them:

* ``unet(sample, timestep, encoder_hidden_states, timestep_cond=None,
  added_cond_kwargs=None) -> eps`` -- diffusers' keyword names; ``timestep`` is
  per item, shape (B,); ``timestep_cond`` is the LCM w-embedding (B, D) when the
  UNet has ``time_cond_proj_dim``; ``added_cond_kwargs`` holds SDXL's
  ``text_embeds`` (B, P) and ``time_ids`` (B, 6).  Returns the raw model output
  (B, C, h, w) (epsilon or v; the runner converts).
* ``encode(images) -> latents``: images (B, 3, H, W) in [-1, 1]; latents already
  multiplied by the autoencoder's ``scaling_factor`` (the posterior's mode for
  the full VAE).
* ``decode(latents) -> images``: the inverse, scaled latents in, images in about
  [-1, 1] out (unclamped).

Autoencoders are named ``"tiny"`` (the bundle's TAESD) and ``"full"`` (its
AutoencoderKL); a back end may serve only some of them, and the eager module
serves the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Protocol

import torch

AUTOENCODERS = ("tiny", "full")


class UNetFn(Protocol):
    def __call__(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor,
                 timestep_cond: torch.Tensor | None = None, added_cond_kwargs: dict | None = None) -> torch.Tensor: ...


ImageFn = Callable[[torch.Tensor], torch.Tensor]


def stream_batch_range(steps: int, frames: int = 1) -> tuple[int, int]:
    """UNet batch sizes the denoiser can ask for with ``steps`` and ``frames``:
    from ``frames`` (sequential, one step) up to Stream Batch under full CFG
    (``2 * steps * frames``); RCFG ``initialize`` (``steps*frames + frames``)
    and ``self``/``none`` (``steps * frames``) lie between."""
    return frames, 2 * steps * frames


@dataclass(frozen=True)
class AccelSpec:
    """The shapes, precision and device a back end must serve.

    Batch ranges are inclusive.  Image sides are in pixels: height and width each
    lie in ``size_min..size_max`` in steps of ``size_step`` (so one spec serves
    square and non-square frames); latents are the sides over the VAE's scale
    factor.  ``*_opt`` is the shape to tune for (TensorRT's optimisation
    profile, torch.compile's warm-up): ``height_opt`` x ``width_opt`` pixels.
    """

    unet_batch: tuple[int, int] = (1, 8)
    image_batch: tuple[int, int] = (1, 4)
    size_min: int = 384
    size_max: int = 1024
    size_step: int = 64
    unet_batch_opt: int = 2
    image_batch_opt: int = 1
    height_opt: int = 512
    width_opt: int = 512
    dtype: torch.dtype = torch.float32
    device: str = "cpu"
    autoencoders: tuple[str, ...] = ("tiny",)

    def __post_init__(self):
        if not (1 <= self.unet_batch[0] <= self.unet_batch_opt <= self.unet_batch[1]):
            raise ValueError(f"UNet batch range {self.unet_batch} must hold its optimum {self.unet_batch_opt}")
        if not (1 <= self.image_batch[0] <= self.image_batch_opt <= self.image_batch[1]):
            raise ValueError(f"image batch range {self.image_batch} must hold its optimum {self.image_batch_opt}")
        if self.size_step <= 0 or self.size_min % self.size_step or self.size_max % self.size_step:
            raise ValueError(f"sizes {self.size_min}..{self.size_max} must be multiples of {self.size_step}")
        for side, opt in (("height", self.height_opt), ("width", self.width_opt)):
            if not (self.size_min <= opt <= self.size_max) or opt % self.size_step:
                raise ValueError(f"{side} {opt} is outside {self.size_min}..{self.size_max} step {self.size_step}")
        bad = [a for a in self.autoencoders if a not in AUTOENCODERS]
        if bad:
            raise ValueError(f"autoencoders must be among {AUTOENCODERS}; got {bad}")

    @property
    def opt_hw(self) -> tuple[int, int]:
        """(height, width) in pixels of the shape to tune for."""
        return self.height_opt, self.width_opt

    @classmethod
    def for_stream(cls, width: int, height: int, steps: int, frames: int = 1, tiny_vae: bool = True, *,
                   size_min: int = 384, size_max: int = 1024, size_step: int = 64,
                   dtype: torch.dtype = torch.float32, device="cpu") -> "AccelSpec":
        """The spec for a stream of ``width`` x ``height`` frames with ``steps`` and
        ``frames``, covering every guidance mode (batch up to full CFG's) and the
        default resolution range (widened to hold both sides), tuned for this frame."""
        lo, hi = stream_batch_range(steps, frames)
        return cls(
            unet_batch=(lo, hi), image_batch=(1, frames), unet_batch_opt=steps * frames, image_batch_opt=frames,
            size_min=min(size_min, width, height), size_max=max(size_max, width, height), size_step=size_step,
            height_opt=height, width_opt=width,
            dtype=dtype, device=str(device), autoencoders=("tiny",) if tiny_vae else ("full",),
        )

    def with_(self, **changes) -> "AccelSpec":
        return replace(self, **changes)

    def covers(self, unet_batch: int | None = None, height: int | None = None, width: int | None = None,
               image_batch: int | None = None, autoencoder: str | None = None) -> bool:
        """Whether a call of these shapes (pixel sizes) lies inside the spec."""
        if unet_batch is not None and not self.unet_batch[0] <= unet_batch <= self.unet_batch[1]:
            return False
        if image_batch is not None and not self.image_batch[0] <= image_batch <= self.image_batch[1]:
            return False
        for s in (height, width):
            if s is not None and not (self.size_min <= s <= self.size_max and s % self.size_step == 0):
                return False
        return autoencoder is None or autoencoder in self.autoencoders
