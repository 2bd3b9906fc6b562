"""Eager PyTorch: the modules themselves, the default and the fallback."""

from __future__ import annotations

from .base import Accelerated, AccelSpec, Backend, autoencoder_module, eager_decoder, eager_encoder, eager_unet


class EagerBackend(Backend):
    name = "eager"
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
