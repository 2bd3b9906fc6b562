"""Which callable serves the UNet, the encoder and the decoder in this frame.

:class:`StageRouter` is the stream's one door to acceleration.  It owns the
stream's :class:`~engine.accel.manager.AccelManager` and what it serves now,
and answers, call by call, with the served back end's callable where that
takes the call's shapes, else with the eager module's (:mod:`engine.accel.eager`).

* :meth:`StageRouter.frame` opens a frame: a newly prepared back end (or eager)
  takes over there and only there, so no frame mixes two back ends, and torch
  gets the thread count the served back end wants for the frame.
* :meth:`StageRouter.run` runs one stage of the frame (encode, denoise, decode);
  if the served back end breaks in it, the failure is reported through the
  manager (fault log, status) and the stage is redone by the modules, which
  serve from then on.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import torch

from ..torch_threads import torch_threads
from .accelerated import Accelerated
from .eager import autoencoder_module, eager_decoder, eager_encoder, eager_unet
from .manager import UNCHANGED, AccelManager, one_line
from .spec import AccelSpec, ImageFn

T = TypeVar("T")


class BackendFailure(RuntimeError):
    """A served back end's callable raised (wraps the original as ``__cause__``)."""


def guarded(fn):
    """``fn``, with any exception it raises wrapped in :class:`BackendFailure`, so
    the stream can tell a back end breaking from a bad input of its own."""

    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise BackendFailure(one_line(e)) from e

    return run


class StageRouter:
    """The stream's acceleration: the back-end manager, what serves now, and the
    callable for each call.  Used from the generate thread (under the stream's lock)."""

    def __init__(self, bundle, manager: AccelManager | None = None):
        self.bundle = bundle
        self.accel = manager or AccelManager(bundle)  # .on_fault: where back-end failures are reported
        self.served: Accelerated | None = None  # what serves now; None: the modules (eager)
        self._served_unet = None  # served.unet, guarded
        self._eager_unet = eager_unet(bundle.unet)
        self._eager_threads: int | None = None  # torch's count outside this frame, when the frame runs on fewer

    def request(self, name: str, spec: AccelSpec) -> None:
        """Ask for back end ``name`` serving ``spec``: prepared in the background, it
        takes over at a later :meth:`frame`."""
        self.accel.request(name, spec)

    def _serve(self, served: Accelerated | None) -> None:
        self.served = served
        self._served_unet = None if served is None else guarded(served.unet)

    def _autoencoder(self, tiny: bool) -> str:
        return "tiny" if tiny and self.bundle.tiny_vae is not None else "full"

    # -- the frame edge ------------------------------------------------------------------
    @contextmanager
    def frame(self, steps: int, frames: int, height: int, width: int, tiny: bool) -> Iterator[None]:
        """One frame of ``frames`` images of ``height`` x ``width`` pixels through ``steps`` steps: the only
        place a back end changes, and the torch thread count for the frame's own tensor
        code (image conversion, the scheduler's arithmetic)."""
        served = self.accel.poll()
        if served is not UNCHANGED:
            self._serve(served)
        threads = self._frame_threads(steps, frames, height, width, tiny)
        self._eager_threads = torch.get_num_threads() if threads else None  # for a stage eager must redo
        with torch_threads(threads):
            yield

    def _frame_threads(self, steps: int, frames: int, height: int, width: int, tiny: bool) -> int | None:
        """The served back end's wish when it serves the whole frame (see
        ``Accelerated.torch_threads``); None: as set."""
        acc = self.served
        if acc is None or not acc.torch_threads:
            return None
        whole = acc.serves_frame(steps, frames, height, width, self._autoencoder(tiny))
        return acc.torch_threads if whole else None

    def run(self, stage: Callable[[], T]) -> T:
        """Run one stage; if the served back end breaks in it, report that and redo
        the stage with eager.  Safe: a stage commits its state (the Stream Batch
        buffer) only after the back end's call has returned."""
        try:
            return stage()
        except BackendFailure as e:
            self.accel.serving_failed(e.__cause__ or e)
            self._serve(None)
            with torch_threads(self._eager_threads):  # the modules need the threads the frame gave away
                return stage()

    # -- the callables ---------------------------------------------------------------------
    def unet(self, sample, timestep, encoder_hidden_states, timestep_cond=None, added_cond_kwargs=None):
        """The UNet call (the :class:`~engine.accel.spec.UNetFn` signature): the served
        back end's where it takes this batch and latent size, else the module's."""
        acc = self.served
        if acc is not None:
            scale = self.bundle.vae_scale_factor
            if acc.serves_unet(sample.shape[0], sample.shape[2] * scale, sample.shape[3] * scale):
                return self._served_unet(sample, timestep, encoder_hidden_states, timestep_cond, added_cond_kwargs)
        return self._eager_unet(sample, timestep, encoder_hidden_states, timestep_cond, added_cond_kwargs)

    def encoder(self, images: torch.Tensor, tiny: bool) -> ImageFn:
        """The encoder for ``images`` (B, 3, H, W) with the tiny autoencoder or the full one."""
        n, h, w = images.shape[0], images.shape[2], images.shape[3]
        return self._image_fn(n, h, w, tiny, decode=False)

    def decoder(self, latents: torch.Tensor, tiny: bool) -> ImageFn:
        """The decoder for ``latents`` (B, C, h, w)."""
        scale = self.bundle.vae_scale_factor
        n, h, w = latents.shape[0], latents.shape[2] * scale, latents.shape[3] * scale
        return self._image_fn(n, h, w, tiny, decode=True)

    def _image_fn(self, n: int, h: int, w: int, tiny: bool, decode: bool) -> ImageFn:
        which = self._autoencoder(tiny)
        acc = self.served
        if acc is not None:
            fn = (acc.decoders if decode else acc.encoders).get(which)
            if fn is not None and acc.serves_images(n, h, w, which):
                return guarded(fn)
        ae = autoencoder_module(self.bundle, which)
        return eager_decoder(ae) if decode else eager_encoder(ae)

    def close(self) -> None:
        """Stop a preparation in progress and release the served back end (eager serves
        if the stream is used again)."""
        self.accel.close()
        self._serve(None)
