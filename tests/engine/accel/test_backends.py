"""The back-end registry, and each CPU back end serving the stream like eager does."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.accel import AccelSpec, Accelerated, available, backend_names, get_backend
from engine.accel.cache import AccelBuildError
from engine.accel.compiled import CompiledBackend
from engine.accel.onnxruntime_backend import OnnxRuntimeBackend
from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.media.test_pattern import pattern_frame
from engine.params.catalog import ACCEL_BACKENDS

SIZE = 64


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_registry_knows_every_accel_choice_and_says_why_not():
    assert set(ACCEL_BACKENDS) <= set(backend_names())
    report = available()
    assert report["eager"] is None and report["onnxruntime"] is None
    for name, reason in report.items():
        assert reason is None or (isinstance(reason, str) and reason and "\n" not in reason)
    with pytest.raises(KeyError):
        get_backend("warp-drive")


def test_each_accel_choice_finds_the_back_end_of_that_name():
    """The registry pairs the catalog's names with their modules by position: a slip in
    the order would hand out the wrong back end under a name."""
    import importlib

    from engine.accel import base

    assert tuple(base._BUILTIN) == ACCEL_BACKENDS
    for name, target in base._BUILTIN.items():
        module, _, attr = target.partition(":")
        assert getattr(importlib.import_module(module), attr).name == name


def test_spec_for_stream_covers_every_guidance_mode():
    spec = AccelSpec.for_stream(512, 512, steps=2, frames=1)
    assert spec.unet_batch == (1, 4) and spec.unet_batch_opt == 2  # sequential 1 .. full CFG 2*2
    assert spec.covers(unet_batch=3, height=768, width=384) and not spec.covers(unet_batch=5)
    assert not spec.covers(height=448 + 32)
    small = AccelSpec.for_stream(256, 256, steps=1, frames=2, tiny_vae=False)
    assert (small.size_min, small.image_batch, small.autoencoders) == (256, (1, 2), ("full",))


def test_spec_for_a_non_square_stream_tunes_for_its_height_and_width():
    spec = AccelSpec.for_stream(1280 - 192, 128, steps=1)  # width 1088 (above the default range), height 128 (below)
    assert spec.opt_hw == (128, 1088) and (spec.size_min, spec.size_max) == (128, 1088)  # the range holds both sides
    assert spec.covers(height=128, width=1088) and spec.covers(height=1088, width=128)
    assert not spec.covers(height=64, width=1088)
    portrait = AccelSpec.for_stream(320, 512, steps=2)
    assert (portrait.height_opt, portrait.width_opt) == (512, 320) and portrait.size_min == 320
    with pytest.raises(ValueError, match="width 96 is outside"):
        AccelSpec(size_min=64, size_max=128, height_opt=64, width_opt=96)
    # exact shapes (torch.compile) serve a spec only at its own (height, width)
    exact = Accelerated("x", portrait, None, unet_shapes={(2, 512, 320)}, image_shapes={(1, 512, 320)})
    assert exact.serves_spec(portrait) and not exact.serves_spec(AccelSpec.for_stream(512, 320, steps=2))
    assert exact.serves_unet(2, 512, 320) and not exact.serves_unet(2, 320, 512)


def test_unavailable_provider_is_a_clear_error(tiny_bundle):
    backend = OnnxRuntimeBackend(providers=["CUDAExecutionProvider"])
    with pytest.raises(AccelBuildError, match="no CUDAExecutionProvider"):
        backend.prepare(tiny_bundle, AccelSpec.for_stream(SIZE, SIZE, 2, size_min=64))


def test_corrupted_onnx_file_is_a_clear_error(tmp_path):
    from engine.accel.onnxruntime_backend import OrtModel

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07 not a model")
    with pytest.raises(AccelBuildError, match="could not load"):
        OrtModel(bad, ["CPUExecutionProvider"])


def _frames(n=5, width=SIZE, height=SIZE):
    return [pattern_frame(i / 10, width, height) for i in range(n)]


def _run(stream, frames):
    return [stream.process_one(f) for f in frames]


def test_eager_backend_wrappers_match_the_modules(tiny_bundle):
    acc = get_backend("eager").prepare(tiny_bundle, AccelSpec.for_stream(SIZE, SIZE, 2, size_min=64))
    g = torch.Generator().manual_seed(0)
    x, t, c = torch.randn(2, 4, 8, 8, generator=g), torch.tensor([900, 400]), torch.randn(2, 77, 32, generator=g)
    ref = tiny_bundle.unet(x, t, encoder_hidden_states=c, return_dict=False)[0]
    assert torch.equal(acc.unet(x, t, c), ref)
    img = torch.rand(1, 3, SIZE, SIZE, generator=g)
    assert acc.encoder(True)(img).shape == (1, 4, 8, 8) and acc.decoder(False) is None


@pytest.mark.parametrize("width,height", [(SIZE, SIZE), (128, 64)])
def test_onnxruntime_serves_the_stream_like_eager(tiny_bundle, width, height):
    frames = _frames(width=width, height=height)
    base = StreamSettings(width=width, height=height, prompts=(("a cat", 1.0),))
    ref = _run(DiffusionStream(tiny_bundle, base), frames)
    s = DiffusionStream(tiny_bundle, replace(base, accel="onnxruntime"))
    try:
        assert s.accel.wait(60) and s.accel.last_error is None, s.accel.snapshot()
        assert s.accel_spec().opt_hw == (height, width)
        out = _run(s, frames)
        assert s.accel.active == "onnxruntime" and s.router.served is not None
        assert s.router.served.serves_frame(2, 1, height, width, "tiny")  # ORT ran every stage, no module did
        calls = s.runner.calls
        assert all(o is None for o in out[:1]) and all(o is not None for o in out[1:])
        for a, b in zip(ref[1:], out[1:]):  # uint8 pictures: float32 rounding moves a value by at most one step
            assert a.shape == b.shape == (height, width, 3)
            assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
        assert calls == len(frames)
    finally:
        s.accel.close()


@pytest.mark.parametrize("width,height", [(SIZE, SIZE), (128, 64)])
def test_compile_backend_serves_its_warmed_shapes(tiny_bundle, width, height):
    """The torch.compile path (Dynamo capture, static shapes, warm-up) with the
    ``aot_eager`` compiler: the same graphs as Inductor gets, without minutes of C++."""
    spec = AccelSpec.for_stream(width, height, steps=2, size_min=64)
    acc = CompiledBackend(backend="aot_eager").prepare(tiny_bundle, spec)
    assert acc.serves_unet(2, height, width) and not acc.serves_unet(4, height, width)  # other shapes: the module
    assert acc.serves_images(1, height, width, "tiny") and acc.serves_spec(spec)
    assert height == width or not acc.serves_unet(2, width, height)  # the frame turned is another shape
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(2, 4, height // 8, width // 8, generator=g), torch.tensor([900, 400])
    c = torch.randn(1, 77, 32, generator=g).expand(2, -1, -1)
    ref = tiny_bundle.unet(x, t, encoder_hidden_states=c, return_dict=False)[0]
    torch.testing.assert_close(acc.unet(x, t, c), ref, rtol=1e-4, atol=1e-4)
    img = torch.rand(1, 3, height, width, generator=g) * 2 - 1
    lat = tiny_bundle.tiny_vae.encode(img).latents * tiny_bundle.tiny_vae.config.scaling_factor
    torch.testing.assert_close(acc.encoder(True)(img), lat, rtol=1e-4, atol=1e-4)


def test_what_is_served_decides_whether_a_change_needs_a_new_preparation():
    spec = AccelSpec.for_stream(256, 256, steps=2, size_min=64)
    ranges = Accelerated("x", spec, None)
    exact = Accelerated("x", spec, None, unet_shapes={(2, 256, 256)}, image_shapes={(1, 256, 256)})
    assert ranges.serves_spec(spec) and exact.serves_spec(spec)
    moved = AccelSpec.for_stream(320, 320, steps=2, size_min=64)  # a new size inside the ranges
    assert ranges.serves_spec(moved) and not exact.serves_spec(moved)
    assert not ranges.serves_spec(AccelSpec.for_stream(256, 256, steps=3, size_min=64))  # batch 6 > 4
    assert not ranges.serves_spec(AccelSpec.for_stream(256, 256, steps=2, size_min=64, tiny_vae=False))
