"""The stage router: which callable serves the UNet and the autoencoder, call by call."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from engine.accel import AccelSpec, get_backend
from engine.accel.routing import StageRouter

SIZE = 64


@pytest.fixture
def router(tiny_bundle):
    r = StageRouter(tiny_bundle)
    yield r
    r.close()


def _unet_args(batch: int, latent: int = SIZE // 8):
    g = torch.Generator().manual_seed(batch)
    return (torch.randn(batch, 4, latent, latent, generator=g), torch.full((batch,), 500),
            torch.randn(batch, 77, 32, generator=g))


def _recording(acc, seen: list):
    def rec(tag, fn):
        def run(*a):
            seen.append(tag)
            return fn(*a)
        return run

    return replace(acc, unet=rec("unet", acc.unet), encoders={k: rec(f"encode {k}", v) for k, v in acc.encoders.items()},
                   decoders={k: rec(f"decode {k}", v) for k, v in acc.decoders.items()})


def test_the_served_back_end_takes_only_the_calls_it_serves_and_only_from_a_frame_edge(tiny_bundle, router):
    spec = AccelSpec.for_stream(SIZE, SIZE, steps=2, size_min=64)
    seen: list[str] = []
    served = replace(_recording(get_backend("eager").prepare(tiny_bundle, spec), seen), unet_shapes={(2, SIZE, SIZE)})
    router.accel.install("recording", served)
    router.unet(*_unet_args(2))
    assert seen == [] and router.served is None  # prepared, but not swapped in between frames
    with router.frame(steps=2, frames=1, height=SIZE, width=SIZE, tiny=True):
        assert router.served is served
        ref = tiny_bundle.unet(*_unet_args(4)[:2], encoder_hidden_states=_unet_args(4)[2], return_dict=False)[0]
        assert torch.equal(router.unet(*_unet_args(4)), ref) and seen == []  # batch 4 is not served: the module
        router.unet(*_unet_args(2))
        images = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
        router.encoder(images, tiny=True)(images)
        router.decoder(torch.zeros(1, 4, 8, 8), tiny=False)(torch.zeros(1, 4, 8, 8))  # the full VAE is not served
    assert seen == ["unet", "encode tiny"]


def test_non_square_calls_are_routed_by_height_and_width(tiny_bundle, router):
    """A 128x64 stream (height 64, width 128): the back end serving exactly that frame takes its
    calls; the frame turned (64 wide, 128 high) is another shape, served by the modules."""
    spec = AccelSpec.for_stream(128, 64, steps=1, size_min=64)
    seen: list[str] = []
    acc = get_backend("eager").prepare(tiny_bundle, spec)
    served = replace(_recording(acc, seen), unet_shapes={(1, 64, 128), (2, 64, 128)}, image_shapes={(1, 64, 128)},
                     torch_threads=1)
    router.accel.install("recording", served)
    g = torch.Generator().manual_seed(0)
    wide, tall = torch.randn(1, 4, 8, 16, generator=g), torch.randn(1, 4, 16, 8, generator=g)
    c = torch.randn(1, 77, 32, generator=g)
    with router.frame(steps=1, frames=1, height=64, width=128, tiny=True):
        router.unet(wide, torch.full((1,), 500), c)
        router.unet(tall, torch.full((1,), 500), c)  # not served: the module
        images = torch.rand(1, 3, 64, 128) * 2 - 1
        router.encoder(images, tiny=True)(images)
        router.decoder(wide, tiny=True)(wide)
        router.encoder(images.transpose(2, 3), tiny=True)  # 128 high, 64 wide: the module
    assert seen == ["unet", "encode tiny", "decode tiny"]
    # the back end's thread wish holds for a frame it serves whole: this one, not the frame turned
    assert router._frame_threads(1, 1, 64, 128, True) == 1 and router._frame_threads(1, 1, 128, 64, True) is None


def test_a_stage_the_served_back_end_breaks_in_is_reported_and_redone_by_the_modules(tiny_bundle, router):
    faults = []
    router.accel.on_fault = lambda where, msg: faults.append((where, msg))
    acc = get_backend("eager").prepare(tiny_bundle, AccelSpec.for_stream(SIZE, SIZE, steps=2, size_min=64))

    def broken(*a):
        raise RuntimeError("device lost")

    router.accel.install("breaking", replace(acc, unet=broken))
    args = _unet_args(2)
    with router.frame(steps=2, frames=1, height=SIZE, width=SIZE, tiny=True):
        out = router.run(lambda: router.unet(*args))
    ref = tiny_bundle.unet(*args[:2], encoder_hidden_states=args[2], return_dict=False)[0]
    assert torch.equal(out, ref) and router.served is None and router.accel.active == "eager"
    assert faults == [("accel", "breaking back end failed while serving: RuntimeError: device lost; eager serves from now on")]
    status = router.accel.snapshot()
    assert status.active == "eager" and status.last_error == faults[0][1] and status.preparing is None
    with pytest.raises(ValueError):  # a stage's own error is not the back end's: no retry, no report
        router.run(lambda: (_ for _ in ()).throw(ValueError("bad input")))
    assert len(faults) == 1
