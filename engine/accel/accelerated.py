"""What a back end hands back: :class:`Accelerated`, its callables and the shapes they take."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .spec import AccelSpec, ImageFn, UNetFn, stream_batch_range


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

    def serves_spec(self, spec: AccelSpec) -> bool:
        """Whether everything ``spec`` asks for (ranges, and its optimum shapes where
        only exact shapes are served) is served: no new preparation is needed."""
        inner, outer = spec, self.spec
        if not (outer.unet_batch[0] <= inner.unet_batch[0] and inner.unet_batch[1] <= outer.unet_batch[1]
                and outer.image_batch[0] <= inner.image_batch[0] and inner.image_batch[1] <= outer.image_batch[1]
                and outer.size_min <= inner.size_min and inner.size_max <= outer.size_max
                and inner.size_step % outer.size_step == 0 and set(inner.autoencoders) <= set(outer.autoencoders)
                and outer.dtype == inner.dtype and str(outer.device) == str(inner.device)):
            return False
        h, w = inner.opt_hw
        if self.unet_shapes is not None and (inner.unet_batch_opt, h, w) not in self.unet_shapes:
            return False
        return self.image_shapes is None or (inner.image_batch_opt, h, w) in self.image_shapes

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
