"""TensorRT engine builds, for real, with ``tensorrt-rtx`` (it builds without a GPU):
from the tiny model's ONNX export into the engine cache, with progress, cancel
through the builder's progress monitor, and one-line errors."""

from __future__ import annotations

import pytest
import torch

from engine.accel import AccelSpec
from engine.accel.cache import AccelBuildError, BuildCancelled, Cancel, EngineCache, cache_key
from engine.accel.tensorrt_backend import TensorRTModule, TensorRTRTXBackend
from engine.accel.tensorrt_build import (
    AccelUnavailable,
    availability,
    build_engine_cached,
    library_version,
    load_library,
    profile_shapes,
)
from engine.accel.onnx_export import cached_export

pytest.importorskip("tensorrt_rtx", reason="tensorrt-rtx is a test dependency (pip install tensorrt-rtx)")

BATCH = (1, 2, 2)
PIXELS = (128, 256, 256)  # the tiny model's range, in pixels (latents are /8)


SPEC = AccelSpec(unet_batch=(1, 2), unet_batch_opt=2, image_batch=(1, 2), image_batch_opt=1, size_min=128,
                 size_max=256, size_step=64, height_opt=256, width_opt=256, dtype=torch.float32, autoencoders=("tiny",))


@pytest.fixture(scope="module")
def built(tiny_bundle, tmp_path_factory):
    """The back end's own path on the tiny model: cached ONNX exports (fp16), then
    cached engines for the UNet and the tiny VAE's encoder and decoder."""
    backend = TensorRTRTXBackend(cache=EngineCache(tmp_path_factory.mktemp("engines")))
    seen = []
    paths = backend.build_engines(tiny_bundle, SPEC, progress=lambda f, m: seen.append((f, m)))
    onnx = cached_export(tiny_bundle, "unet", SPEC.with_(dtype=torch.float16), cache=backend.cache)
    return backend, paths, seen, onnx


def test_profile_shapes_cover_batch_and_resolution():
    shapes = profile_shapes(
        {"sample": (-1, 4, -1, -1), "timestep": (-1,), "encoder_hidden_states": (-1, 77, 1024), "image": (-1, 3, -1, -1)},
        batch=(1, 2, 4), pixels=(384, 512, 1024),
    )
    assert shapes["sample"] == ((1, 4, 48, 48), (2, 4, 64, 64), (4, 4, 128, 128))
    assert shapes["timestep"] == ((1,), (2,), (4,))
    assert shapes["encoder_hidden_states"] == ((1, 77, 1024), (2, 77, 1024), (4, 77, 1024))
    assert shapes["image"] == ((1, 3, 384, 384), (2, 3, 512, 512), (4, 3, 1024, 1024))
    with pytest.raises(AccelBuildError, match="dynamic dimension 1"):
        profile_shapes({"tokens": (-1, -1, 32)}, (1, 1, 1), (64, 64, 64))


def test_profile_shapes_take_a_non_square_optimum_per_dimension():
    """pixels (min, opt, max): square bounds, the optimum a (height, width) frame such as 320x512 (h x w)."""
    shapes = profile_shapes({"sample": (-1, 4, -1, -1), "images": (-1, 3, -1, -1)}, batch=(1, 2, 4),
                            pixels=(256, (320, 512), (1024, 768)))
    assert shapes["sample"] == ((1, 4, 32, 32), (2, 4, 40, 64), (4, 4, 128, 96))
    assert shapes["images"] == ((1, 3, 256, 256), (2, 3, 320, 512), (4, 3, 1024, 768))


def _key(role, **over):
    parts = dict(role=role, flavour="tensorrt-rtx", version=library_version("tensorrt-rtx"), batch=BATCH, pixels=PIXELS, precision="fp16")
    parts.update(over)
    return cache_key(parts), parts


def test_rtx_engines_build_without_a_gpu_into_the_cache(built, tiny_bundle):
    backend, paths, seen, _ = built
    assert set(paths) == {("unet", "tiny"), ("vae_encoder", "tiny"), ("vae_decoder", "tiny")}
    assert all(p.suffix == ".engine" and p.stat().st_size > 10_000 for p in paths.values())
    assert all(backend.cache.get(p.parent.name, verify=True) == p for p in paths.values())
    assert len(backend.cache.entries()) == 6  # three exports, three engines
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Building engine" in m for _, m in seen)  # the builder's own phases come through
    manifest = backend.cache.manifest(paths[("unet", "tiny")].parent.name)
    assert manifest["parts"]["flavour"] == "tensorrt-rtx" and manifest["parts"]["gpu"] == "cpu"
    # a second request is served from the cache without building
    again = []
    assert backend.build_engines(tiny_bundle, SPEC, progress=lambda f, m: again.append(m)) == paths
    assert not any("Building" in m for m in again)


def test_another_batch_range_rebuilds_only_the_unet_engine(built, tiny_bundle):
    backend, paths, _, _ = built
    before = set(backend.cache.entries())
    wider = backend.build_engines(tiny_bundle, SPEC.with_(unet_batch=(1, 4)))
    assert wider[("unet", "tiny")] != paths[("unet", "tiny")]
    assert wider[("vae_decoder", "tiny")] == paths[("vae_decoder", "tiny")]
    assert len(set(backend.cache.entries()) - before) == 1
    if not torch.cuda.is_available():
        with pytest.raises(AccelUnavailable, match="needs an NVIDIA GPU"):
            backend.prepare(tiny_bundle, SPEC)


def test_a_non_square_optimum_builds_its_own_engines(built, tiny_bundle):
    """A 256x128 stream (width 256, height 128): engines built for that optimum, apart from the square ones;
    the ONNX exports are shared (their graphs are dynamic)."""
    backend, paths, _, _ = built
    before = set(backend.cache.entries())
    wide = SPEC.with_(height_opt=128, width_opt=256)
    assert wide.opt_hw == (128, 256)
    new = backend.build_engines(tiny_bundle, wide)
    assert set(new) == set(paths) and all(new[job] != paths[job] for job in paths)
    assert len(set(backend.cache.entries()) - before) == 3  # three engines, no new export
    manifest = backend.cache.manifest(new[("unet", "tiny")].parent.name)
    assert manifest["parts"]["resolution_opt"] == [128, 256] and manifest["parts"]["resolution_range"] == [128, 256, 64]
    assert backend.cache.manifest(paths[("unet", "tiny")].parent.name)["parts"]["resolution_opt"] == [256, 256]
    assert backend.build_engines(tiny_bundle, wide) == new  # cached by its own key


def test_cancel_through_the_progress_monitor_leaves_no_engine(built, tmp_path):
    cache = EngineCache(tmp_path)
    key, parts = _key("unet")
    cancel = Cancel()
    seen = []

    def progress(f, message):
        seen.append(message)
        if "Building engine" in message:  # the builder is working: press cancel
            cancel.set()

    with pytest.raises(BuildCancelled, match="cancelled"):
        build_engine_cached(cache, key, "tensorrt-rtx", built[3], BATCH, PIXELS, progress=progress, cancel=cancel)
    assert cache.get(key) is None and cache.entries() == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(seen) < 20  # it stopped early, not after the whole build


def test_corrupt_onnx_gives_a_clear_one_line_error(built, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(built[3].read_bytes()[:50_000])
    cache = EngineCache(tmp_path / "cache")
    key, _ = _key("unet", weights="corrupt")
    with pytest.raises(AccelBuildError) as e:
        build_engine_cached(cache, key, "tensorrt-rtx", bad, BATCH, PIXELS, what="UNet")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("tensorrt-rtx UNet build failed: ") and "could not parse bad.onnx" in msg
    assert cache.get(key) is None


def test_an_impossible_profile_is_a_one_line_build_failure(built, tmp_path):
    cache = EngineCache(tmp_path)
    key, _ = _key("unet", pixels="bad")
    with pytest.raises(AccelBuildError, match="tensorrt-rtx engine build failed") as e:
        build_engine_cached(cache, key, "tensorrt-rtx", built[3], (2, 1, 1), PIXELS)  # min > max
    assert "\n" not in str(e.value)
    assert cache.get(key) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_running_an_engine_needs_an_nvidia_gpu(tmp_path):
    assert "needs an NVIDIA GPU" in availability("tensorrt-rtx")
    assert availability("tensorrt-rtx", need_gpu=False) is None
    with pytest.raises(AccelUnavailable, match="needs an NVIDIA GPU"):
        TensorRTModule("tensorrt-rtx", tmp_path / "any.engine")


def test_missing_tensorrt_library_says_how_to_install():
    try:
        load_library("tensorrt")
    except AccelUnavailable as e:
        assert "pip install tensorrt" in str(e) and "\n" not in str(e)
    else:
        pytest.skip("tensorrt is installed here")
