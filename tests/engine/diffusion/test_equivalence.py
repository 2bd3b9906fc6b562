"""Our denoiser against diffusers' own img2img pipeline, and Stream Batch against sequential."""

import pytest
import torch
from diffusers import LCMScheduler, StableDiffusionImg2ImgPipeline

from engine.diffusion.denoiser import GuidanceSettings, StreamDenoiser
from engine.diffusion.schedule import base_timesteps, step_plan
from engine.diffusion.unet_runner import Condition, UNetRunner

T_INDEX = {1: [35], 2: [32, 45], 4: [20, 30, 38, 45]}
# latent (height, width): a 256x256 frame, and a non-square 128x64 one (width 128, height 64; the VAE scales by 8)
LATENTS = {"256x256": (32, 32), "128x64": (8, 16)}


def _embed(tiny, text):
    ids = tiny["tokenizer"](text, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    return tiny["text_encoder"](ids)[0]


@pytest.mark.parametrize("frame", LATENTS)
@pytest.mark.parametrize("steps", [1, 2, 4])
def test_sequential_matches_diffusers_lcm_img2img(tiny, steps, frame):
    sched_cfg = LCMScheduler().config
    plan = step_plan(sched_cfg, T_INDEX[steps])
    timesteps = [base_timesteps(sched_cfg)[i] for i in T_INDEX[steps]]
    embeds = _embed(tiny, "a neon jellyfish")
    h, w = LATENTS[frame]
    x0 = torch.randn(1, 4, h, w, generator=torch.Generator().manual_seed(7))

    pipe = StableDiffusionImg2ImgPipeline(
        vae=tiny["vae"], text_encoder=tiny["text_encoder"], tokenizer=tiny["tokenizer"], unet=tiny["unet"],
        scheduler=LCMScheduler.from_config(sched_cfg), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    ref = pipe(
        prompt_embeds=embeds, image=x0, strength=1.0, timesteps=timesteps, guidance_scale=1.0,
        generator=torch.Generator().manual_seed(99), output_type="latent",
    ).images

    # diffusers draws the start noise, then one fresh noise per step but the last: same order here
    gen = torch.Generator().manual_seed(99)
    noise = torch.stack([torch.randn(1, 4, h, w, generator=gen) for _ in range(steps)])
    den = StreamDenoiser(UNetRunner(tiny["unet"]), plan, frames=1)
    den.set_noise(noise)
    ours = den.sequential(x0, Condition(embeds), None, GuidanceSettings("none", 1.0, 1.0))
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("frame", LATENTS)
@pytest.mark.parametrize("steps", [1, 2, 4])
@pytest.mark.parametrize("mode", ["none", "self", "initialize", "full"])
def test_stream_batch_equals_sequential_after_warmup(tiny, steps, mode, frame):
    sched_cfg = LCMScheduler().config
    plan = step_plan(sched_cfg, T_INDEX[steps])
    cond, neg = Condition(_embed(tiny, "a neon jellyfish")), Condition(_embed(tiny, "blurry"))
    g = GuidanceSettings(mode, 1.8, 0.9)
    gen = torch.Generator().manual_seed(3)
    h, w = LATENTS[frame]
    noise = torch.randn(steps, 1, 4, h, w, generator=gen)
    frames = [torch.randn(1, 4, h, w, generator=gen) for _ in range(6)]

    stream = StreamDenoiser(UNetRunner(tiny["unet"]), plan, frames=1)
    stream.set_noise(noise)
    seq = StreamDenoiser(UNetRunner(tiny["unet"]), plan, frames=1)
    seq.set_noise(noise)

    outs = [stream.stream_step(x, cond, neg, g) for x in frames]
    # warm-up: the first n-1 calls hand out nothing (never a "brown" frame)
    assert all(o is None for o in outs[: steps - 1])
    for k, out in enumerate(outs[steps - 1 :]):
        expected = seq.sequential(frames[k], cond, neg, g)
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("steps", [1, 2, 4])
def test_stream_batch_with_frame_buffer_of_two(tiny, steps):
    sched_cfg = LCMScheduler().config
    plan = step_plan(sched_cfg, T_INDEX[steps])
    cond, neg = Condition(_embed(tiny, "a neon jellyfish")), Condition(_embed(tiny, "blurry"))
    g = GuidanceSettings("initialize", 1.5, 1.0)
    gen = torch.Generator().manual_seed(4)
    noise = torch.randn(steps, 2, 4, 32, 32, generator=gen)
    pairs = [torch.randn(2, 4, 32, 32, generator=gen) for _ in range(5)]
    stream = StreamDenoiser(UNetRunner(tiny["unet"]), plan, frames=2)
    stream.set_noise(noise)
    seq = StreamDenoiser(UNetRunner(tiny["unet"]), plan, frames=2)
    seq.set_noise(noise)
    outs = [stream.stream_step(x, cond, neg, g) for x in pairs]
    assert all(o is None for o in outs[: steps - 1])
    for k, out in enumerate(outs[steps - 1 :]):
        torch.testing.assert_close(out, seq.sequential(pairs[k], cond, neg, g), rtol=1e-4, atol=5e-5)
