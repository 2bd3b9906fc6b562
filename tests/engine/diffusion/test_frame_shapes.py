"""Non-square frames through the diffusion stage: the frame from size and output_size, every guidance
mode, both autoencoders, the similarity filter, refusals and rebuilds at e.g. 128x64 on the tiny model."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.diffusion.sizes import DIFFUSION_SIZES, check_frame, diffusion_frame
from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.frame_size import to_model_frame
from engine.media.test_pattern import pattern_frame
from engine.params import engine_store

W, H = 128, 64


def _values(**changes):
    store = engine_store()
    store.update(changes)
    return store.snapshot().values


def test_from_values_shapes_the_long_side_like_the_output():
    s = StreamSettings.from_values(_values(size="512", output_size="1280x720"))
    # 512 * 720 / 1280 = 288: 320 is nearer than 256 in log-aspect (288/256 = 1.125 > 320/288 = 1.111)
    assert (s.width, s.height) == s.frame == (512, 320)
    assert StreamSettings.from_values(_values(size="512", output_size="512x512")).frame == (512, 512)
    assert StreamSettings.from_values(_values(size="768x448", output_size="1280x720")).frame == (768, 448)
    assert StreamSettings.from_values({**_values(), "size": "512", "output_size": "720x1280"}).frame == (320, 512)
    no_output = {k: v for k, v in _values(size="256").items() if k != "output_size"}
    assert StreamSettings.from_values(no_output).frame == (256, 256)  # without an output: square
    assert StreamSettings.from_values(_values(size="256"), size=128).frame == (128, 128)  # the square override


@pytest.mark.parametrize("size", ["500", "768x450", "2048", "32"])
def test_from_values_refuses_a_size_stable_diffusion_cannot_take_in_one_line(size):
    with pytest.raises(ValueError) as e:
        StreamSettings.from_values(_values(size=size, output_size="1280x720"))
    msg = str(e.value)
    assert "\n" not in msg and "Stable Diffusion" in msg and "multiples of 64" in msg and "from 64 to 1024" in msg


def test_square_shorthand_and_replace():
    s = StreamSettings(size=192)
    assert s.frame == (192, 192)
    assert replace(s, width=128).frame == (128, 192)  # replace keeps the frame; size= is init-only
    assert replace(s, size=64).frame == (64, 64)
    assert StreamSettings(width=W, height=H).frame == (W, H)
    assert diffusion_frame("256", "1024x576") == (256, 128) and DIFFUSION_SIZES.multiple == 64
    check_frame(W, H)
    with pytest.raises(ValueError, match=r"frame 128x60 does not suit Stable Diffusion: .*multiples of 64"):
        check_frame(W, 60)


@pytest.mark.parametrize("guidance", ["none", "self", "initialize", "full"])
def test_every_guidance_mode_at_128x64_matches_its_sequential_twin(tiny_bundle, guidance):
    frames = [pattern_frame(i / 4, W, H) for i in range(6)]
    settings = StreamSettings(width=W, height=H, steps=2, guidance=guidance, guidance_scale=1.5, negative_prompt="blurry",
                              prompts=(("neon", 1.0),))
    batched = DiffusionStream(tiny_bundle, settings)
    sequential = DiffusionStream(tiny_bundle, replace(settings, stream_batch=False))
    assert batched.denoiser.noise.shape == (2, 1, 4, H // 8, W // 8)  # latents are (h/8, w/8)
    outs = [batched.process_one(f) for f in frames]
    assert outs[0] is None  # the Stream Batch pipeline fills
    for k, out in enumerate(outs[1:]):
        ref = sequential.process_one(frames[k])
        assert out.shape == ref.shape == (H, W, 3)
        assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


@pytest.mark.parametrize("tiny_vae", [True, False])
def test_both_autoencoders_at_128x64(tiny_bundle, tiny_vae):
    s = DiffusionStream(tiny_bundle, StreamSettings(width=W, height=H, steps=1, tiny_vae=tiny_vae, prompts=(("x", 1.0),)))
    latents = s.encode(s.to_tensor([pattern_frame(0.3, W, H)]))
    assert latents.shape == (1, 4, H // 8, W // 8)
    assert s.decode(latents)[0].shape == (H, W, 3)
    assert s.process_one(pattern_frame(0.3, W, H)).shape == (H, W, 3)


def test_source_frames_are_cropped_to_the_frame_not_squashed(tiny_bundle):
    s = DiffusionStream(tiny_bundle, StreamSettings(width=W, height=H, steps=1, prompts=(("x", 1.0),)))
    src = pattern_frame(0.7, 640, 640)  # a square camera into a 2:1 frame: the middle band, not a squashed square
    x = s.to_tensor([src])
    assert x.shape == (1, 3, H, W)
    expected = torch.from_numpy(to_model_frame(src, W, H)).permute(2, 0, 1).float() / 127.5 - 1
    torch.testing.assert_close(x[0], expected)
    assert s.process_one(src).shape == (H, W, 3)


def test_similarity_filter_at_128x64_skips_a_repeated_frame(tiny_bundle):
    s = DiffusionStream(tiny_bundle, StreamSettings(width=W, height=H, steps=1, similarity_filter=True, max_skip_frame=3,
                                                    prompts=(("x", 1.0),)))
    frame = np.full((H, W, 3), 120, np.uint8)
    outs = [s.process_one(frame) for _ in range(6)]
    assert all(o.shape == (H, W, 3) for o in outs)
    assert s.metrics.summary()["skipped"] == 4  # frames 1-3 repeat frame 0, frame 4 refreshes, frame 5 repeats it


def test_refused_frame_keeps_the_stream_and_a_new_frame_rebuilds(tiny_bundle):
    s = DiffusionStream(tiny_bundle, StreamSettings(width=W, height=H, steps=2, prompts=(("x", 1.0),)))
    frame = pattern_frame(0.1, W, H)
    s.process_one(frame)
    assert s.process_one(frame).shape == (H, W, 3)
    before = s.settings
    for bad in (dict(width=100), dict(height=0), dict(width=2048)):
        with pytest.raises(ValueError) as e:
            s.apply(replace(s.settings, **bad))
        assert "\n" not in str(e.value) and "multiples of 64" in str(e.value)
        assert s.settings is before and s.process_one(frame) is not None
    denoiser = s.denoiser
    s.apply(replace(s.settings, width=H, height=W))  # the same area, turned: a new frame, a new denoiser
    assert s.denoiser is not denoiser and s.latent_hw == (W // 8, H // 8)
    tall = pattern_frame(0.1, H, W)
    outs = [s.process_one(tall) for _ in range(3)]
    assert outs[0] is None and all(o.shape == (W, H, 3) for o in outs[1:])


def test_sync_refuses_a_size_in_one_line_and_keeps_running(tiny_bundle):
    store = engine_store()
    store.update({"size": "128x64", "steps": 1, "prompt.1.text": "neon"})
    s = DiffusionStream(tiny_bundle, StreamSettings.from_values(store.snapshot().values))
    assert s.settings.frame == (W, H)
    store.set("size", "500")
    assert s.sync(store.snapshot()) is False
    assert "multiples of 64" in s.last_error and "\n" not in s.last_error
    assert s.process_one(pattern_frame(0.1, W, H)).shape == (H, W, 3)
    store.update({"size": "256", "output_size": "1280x720"})
    assert s.sync(store.snapshot()) and s.settings.frame == (256, 128)


def test_accel_spec_follows_the_frame(tiny_bundle):
    s = DiffusionStream(tiny_bundle, StreamSettings(width=W, height=H, steps=2, prompts=(("x", 1.0),)))
    spec = s.accel_spec()
    assert spec.opt_hw == (H, W) and (spec.height_opt, spec.width_opt) == (64, 128)
    assert spec.size_min == 64 and spec.covers(unet_batch=2, height=H, width=W)
