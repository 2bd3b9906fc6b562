"""The one acceleration interface: back ends that serve the UNet and the autoencoders.

A :class:`Backend` takes a loaded :class:`~engine.diffusion.model_bundle.ModelBundle`
and an :class:`AccelSpec` (the shapes it must serve) and returns an
:class:`Accelerated`: plain callables with fixed signatures, so the denoiser
calls the UNet and the VAE the same way whichever back end serves them.

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
AutoencoderKL); an :class:`Accelerated` may serve only some of them, and the
stream uses the eager module for the others.

Back ends are found by name through :func:`get_backend`; :func:`available`
says, for each, why it cannot run here (``None`` when it can).  A back end
module may call :func:`register` itself; the built-in names are resolved
lazily (``"module:attribute"``), so importing this module imports no back end.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

import torch

from .cache import AccelBuildError, BuildCancelled, Cancel, ProgressFn, cancel_check

__all__ = [
    "AUTOENCODERS", "AccelBuildError", "AccelSpec", "Accelerated", "Backend", "BuildCancelled", "Cancel",
    "ProgressFn", "UNetFn", "ImageFn", "available", "backend_names", "cancel_check", "eager_unet", "eager_encoder",
    "eager_decoder", "get_backend", "register", "stream_batch_range",
]

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

    Batch ranges are inclusive.  Sizes are square-or-not image sizes in pixels,
    ``size_min..size_max`` in steps of ``size_step`` for both height and width;
    latents are the size over the VAE's scale factor.  ``*_opt`` is the shape
    to tune for (TensorRT's optimisation profile, torch.compile's warm-up).
    """

    unet_batch: tuple[int, int] = (1, 8)
    image_batch: tuple[int, int] = (1, 4)
    size_min: int = 384
    size_max: int = 1024
    size_step: int = 64
    unet_batch_opt: int = 2
    image_batch_opt: int = 1
    size_opt: int = 512
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
        if not (self.size_min <= self.size_opt <= self.size_max) or self.size_opt % self.size_step:
            raise ValueError(f"size {self.size_opt} is outside {self.size_min}..{self.size_max} step {self.size_step}")
        bad = [a for a in self.autoencoders if a not in AUTOENCODERS]
        if bad:
            raise ValueError(f"autoencoders must be among {AUTOENCODERS}; got {bad}")

    @classmethod
    def for_stream(cls, size: int, steps: int, frames: int = 1, tiny_vae: bool = True, *,
                   size_min: int = 384, size_max: int = 1024, size_step: int = 64,
                   dtype: torch.dtype = torch.float32, device="cpu") -> "AccelSpec":
        """The spec for a stream at ``size`` with ``steps`` and ``frames``, covering
        every guidance mode (batch up to full CFG's) and the default resolution
        range (widened to hold ``size``)."""
        lo, hi = stream_batch_range(steps, frames)
        return cls(
            unet_batch=(lo, hi), image_batch=(1, frames), unet_batch_opt=steps * frames, image_batch_opt=frames,
            size_min=min(size_min, size), size_max=max(size_max, size), size_step=size_step, size_opt=size,
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

    def key_parts(self) -> dict:
        """What of the spec goes into an engine-cache key (see engine.accel.cache)."""
        return dict(unet_batch=list(self.unet_batch), image_batch=list(self.image_batch),
                    resolution_range=[self.size_min, self.size_max, self.size_step],
                    opt=[self.unet_batch_opt, self.image_batch_opt, self.size_opt],
                    precision=str(self.dtype).replace("torch.", ""), device=str(self.device))


@dataclass
class Accelerated:
    """What a back end serves: the UNet and some autoencoders' encoder/decoder."""

    backend: str
    spec: AccelSpec
    unet: UNetFn
    encoders: dict[str, ImageFn] = field(default_factory=dict)
    decoders: dict[str, ImageFn] = field(default_factory=dict)
    detail: str = ""  # e.g. 'CPUExecutionProvider, 2 threads'
    closers: list[Callable[[], None]] = field(default_factory=list)
    # exact shapes served, when narrower than the spec's ranges (torch.compile's
    # static graphs): {(batch, height_px, width_px)}; None: every shape in the spec
    unet_shapes: set | None = None
    image_shapes: set | None = None
    # torch intra-op threads for the stream's own tensor code while this back end serves
    # a whole frame: 1 where the back end brings its own CPU thread pool (ONNX Runtime on
    # the CPU), so torch's idle OpenMP workers do not spin on the cores it needs; None: as set
    torch_threads: int | None = None

    def serves_unet(self, batch: int, height: int, width: int) -> bool:
        """Whether the UNet callable takes this call (pixel sizes); else the module does."""
        if self.unet_shapes is not None:
            return (batch, height, width) in self.unet_shapes
        return self.spec.covers(unet_batch=batch, height=height, width=width)

    def serves_spec(self, spec: "AccelSpec") -> bool:
        """Whether everything ``spec`` asks for (ranges, and its optimum shapes where
        only exact shapes are served) is served: no new preparation is needed."""
        inner, outer = spec, self.spec
        if not (outer.unet_batch[0] <= inner.unet_batch[0] and inner.unet_batch[1] <= outer.unet_batch[1]
                and outer.image_batch[0] <= inner.image_batch[0] and inner.image_batch[1] <= outer.image_batch[1]
                and outer.size_min <= inner.size_min and inner.size_max <= outer.size_max
                and inner.size_step % outer.size_step == 0 and set(inner.autoencoders) <= set(outer.autoencoders)
                and outer.dtype == inner.dtype and str(outer.device) == str(inner.device)):
            return False
        s = inner.size_opt
        if self.unet_shapes is not None and (inner.unet_batch_opt, s, s) not in self.unet_shapes:
            return False
        return self.image_shapes is None or (inner.image_batch_opt, s, s) in self.image_shapes

    def serves_images(self, batch: int, height: int, width: int, autoencoder: str) -> bool:
        """Whether this autoencoder's callables take images of this shape (pixels)."""
        if autoencoder not in self.encoders:
            return False
        if self.image_shapes is not None:
            return (batch, height, width) in self.image_shapes
        return self.spec.covers(image_batch=batch, height=height, width=width, autoencoder=autoencoder)

    def serves_frame(self, steps: int, frames: int, height: int, width: int, autoencoder: str) -> bool:
        """Whether a whole frame (every UNet batch any guidance mode asks for, and the
        autoencoder both ways) is served, so no module runs in it."""
        lo, hi = stream_batch_range(steps, frames)
        return (self.serves_images(frames, height, width, autoencoder) and autoencoder in self.decoders
                and all(self.serves_unet(b, height, width) for b in range(lo, hi + 1)))

    def encoder(self, tiny: bool) -> ImageFn | None:
        return self.encoders.get("tiny" if tiny else "full")

    def decoder(self, tiny: bool) -> ImageFn | None:
        return self.decoders.get("tiny" if tiny else "full")

    def close(self) -> None:
        for c in self.closers:
            try:
                c()
            except Exception:
                pass
        self.closers.clear()


class Backend(ABC):
    """An acceleration back end.  Subclasses set ``name`` (the ``accel`` choice)."""

    name: str = ""
    label: str = ""

    def unavailable_reason(self) -> str | None:
        """Why this back end cannot run on this machine, in words a user can act
        on; None when it can.  Cheap: no model work."""
        return None

    @abstractmethod
    def prepare(self, bundle, spec: AccelSpec, progress: ProgressFn | None = None,
                cancel: Cancel | None = None) -> Accelerated:
        """Build (or load from the engine cache) everything needed to serve
        ``spec``, then return the callables.  Runs on a background thread while
        another back end serves frames: it must not change ``bundle``'s modules,
        should call ``progress(fraction, message)`` and return soon after
        ``cancel`` is set (raising :class:`BuildCancelled`).  Failures raise
        :class:`AccelBuildError` with a one-line message."""


# -- eager building blocks (shared by every back end that wraps torch modules) -------------

def eager_unet(unet) -> UNetFn:
    def run(sample, timestep, encoder_hidden_states, timestep_cond=None, added_cond_kwargs=None):
        return unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, timestep_cond=timestep_cond,
                    added_cond_kwargs=added_cond_kwargs, return_dict=False)[0]

    return run


def eager_encoder(ae) -> ImageFn:
    scale = ae.config.scaling_factor

    def run(images):
        out = ae.encode(images)
        lat = out.latents if hasattr(out, "latents") else out.latent_dist.mode()
        return lat * scale

    return run


def eager_decoder(ae) -> ImageFn:
    scale = ae.config.scaling_factor

    def run(latents):
        return ae.decode(latents / scale, return_dict=False)[0]

    return run


def autoencoder_module(bundle, which: str):
    """The bundle's module for ``which`` ('tiny' or 'full'), or None if it has none."""
    return bundle.tiny_vae if which == "tiny" else bundle.vae


# -- the registry ----------------------------------------------------------------------

_BUILTIN = {
    "eager": "engine.accel.eager:EagerBackend",
    "compile": "engine.accel.compiled:CompiledBackend",
    "onnxruntime": "engine.accel.onnxruntime_backend:OnnxRuntimeBackend",
    "tensorrt": "engine.accel.tensorrt_backend:TensorRTBackend",
    "tensorrt-rtx": "engine.accel.tensorrt_backend:TensorRTRTXBackend",
}
_registry: dict[str, Callable[[], Backend] | str] = dict(_BUILTIN)
_instances: dict[str, Backend] = {}
_lock = threading.Lock()


class _Missing(Backend):
    """Stands in for a back end whose module cannot be imported here."""

    def __init__(self, name: str, reason: str):
        self.name, self._reason = name, reason

    def unavailable_reason(self) -> str | None:
        return self._reason

    def prepare(self, bundle, spec, progress=None, cancel=None) -> Accelerated:
        raise AccelBuildError(f"{self.name}: {self._reason}")


def register(name: str, factory: Callable[[], Backend]) -> None:
    """Make a back end known under ``name`` (replacing any earlier one)."""
    with _lock:
        _registry[name] = factory
        _instances.pop(name, None)


def backend_names() -> tuple[str, ...]:
    return tuple(_registry)


def get_backend(name: str) -> Backend:
    """The back end called ``name``; an unknown name raises KeyError, one that
    cannot be imported here comes back as a stand-in saying why."""
    with _lock:
        if name in _instances:
            return _instances[name]
        if name not in _registry:
            raise KeyError(f"no acceleration back end {name!r}; known: {', '.join(_registry)}")
        target = _registry[name]
    if isinstance(target, str):
        mod_name, _, attr = target.partition(":")
        try:
            factory = getattr(importlib.import_module(mod_name), attr)
        except Exception as e:  # ImportError, or a half-written module: say so, do not crash the show
            backend: Backend = _Missing(name, f"its module could not be loaded ({type(e).__name__}: {e})")
        else:
            backend = factory()
    else:
        backend = target()
    with _lock:
        return _instances.setdefault(name, backend)


def available() -> dict[str, str | None]:
    """Every known back end: None when it can run here, else the reason it cannot."""
    out: dict[str, str | None] = {}
    for name in backend_names():
        try:
            out[name] = get_backend(name).unavailable_reason()
        except Exception as e:
            out[name] = f"{type(e).__name__}: {e}"
    return out
