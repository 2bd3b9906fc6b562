"""Eager PyTorch: the modules themselves, the default and the fallback.

The eager calls are written here once: the stream runs them when no back end
serves a call, :class:`EagerBackend` serves them, and the back ends that wrap
torch modules (torch.compile, the ONNX export) start from them.
"""

from __future__ import annotations

from .accelerated import Accelerated
from .base import Backend
from .spec import AccelSpec, ImageFn, UNetFn

EAGER = "eager"  # the back end that needs no preparation: the modules themselves


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


class EagerBackend(Backend):
    name = EAGER
    label = "eager PyTorch"

    def prepare(self, bundle, spec: AccelSpec, progress=None, cancel=None) -> Accelerated:
        acc = Accelerated(self.name, spec, eager_unet(bundle.unet), detail=f"PyTorch {bundle.device}")
        for which in spec.autoencoders:
            ae = autoencoder_module(bundle, which)
            if ae is not None:
                acc.encoders[which], acc.decoders[which] = eager_encoder(ae), eager_decoder(ae)
        if progress:
            progress(1.0, "eager: ready")
        return acc
