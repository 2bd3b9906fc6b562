"""Residual CFG: each mode against an independent computation, and counted UNet work."""

import pytest
import torch
from diffusers import LCMScheduler, StableDiffusionImg2ImgPipeline

from engine.diffusion.denoiser import GuidanceSettings, StreamDenoiser
from engine.diffusion.schedule import base_timesteps, step_plan
from engine.diffusion.unet_runner import Condition, UNetRunner

T_INDEX = [20, 32, 45]


def _embed(tiny, text):
    ids = tiny["tokenizer"](text, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    return tiny["text_encoder"](ids)[0]


def _setup(tiny, steps_index=T_INDEX):
    cfg = LCMScheduler().config
    gen = torch.Generator().manual_seed(11)
    x0 = torch.randn(1, 4, 32, 32, generator=gen)
    noise = torch.randn(len(steps_index), 1, 4, 32, 32, generator=gen)
    return cfg, x0, noise, _embed(tiny, "a neon jellyfish"), _embed(tiny, "blurry, dull")


def _reference(tiny, cfg, t_index, x0, noise, cond, neg, mode, scale, delta):
    """The paper's formulas, written out independently of engine.diffusion.guidance."""
    sched = LCMScheduler.from_config(cfg)
    ts = [base_timesteps(cfg)[i] for i in t_index]
    unet = tiny["unet"]

    def coef(t):
        a = sched.alphas_cumprod[t].sqrt()
        b = (1 - sched.alphas_cumprod[t]).sqrt()
        cs, co = sched.get_scalings_for_boundary_condition_discrete(t)
        return a, b, cs, co

    a0, b0, _, _ = coef(ts[0])
    x = a0 * x0 + b0 * noise[0]
    anchor = x0  # Self-Negative: the virtual residual points at the input latent
    for i, t in enumerate(ts):
        a, b, cs, co = coef(t)
        e_cond = unet(x, t, encoder_hidden_states=cond).sample
        if mode == "full":
            e_neg = unet(x, t, encoder_hidden_states=neg).sample
            eps = e_neg + scale * (e_cond - e_neg)
        else:
            if mode == "initialize" and i == 0:
                e_neg0 = unet(x, t, encoder_hidden_states=neg).sample
                anchor = (x - b * e_neg0) / a  # Onetime-Negative: x0 predicted under the negative prompt
            e_virtual = (x - a * anchor) / b
            if mode == "initialize" and i == 0:
                torch.testing.assert_close(e_virtual, e_neg0, rtol=1e-4, atol=1e-4)
            if mode == "self" and i == 0:
                torch.testing.assert_close(e_virtual, noise[0], rtol=1e-4, atol=1e-4)
            eps = delta * e_virtual + scale * (e_cond - delta * e_virtual)
        den = co * (x - b * eps) / a + cs * x
        if i + 1 < len(ts):
            an, bn, _, _ = coef(ts[i + 1])
            x = an * den + bn * noise[i + 1]
    return den


@pytest.mark.parametrize("mode", ["self", "initialize", "full"])
@pytest.mark.parametrize("scale,delta", [(1.6, 1.0), (2.5, 0.7)])
def test_modes_follow_the_paper(tiny, mode, scale, delta):
    cfg, x0, noise, cond, neg = _setup(tiny)
    den = StreamDenoiser(UNetRunner(tiny["unet"]), step_plan(cfg, T_INDEX), frames=1)
    den.set_noise(noise)
    ours = den.sequential(x0, Condition(cond), Condition(neg), GuidanceSettings(mode, scale, delta))
    ref = _reference(tiny, cfg, T_INDEX, x0, noise, cond, neg, mode, scale, delta)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=5e-5)


def test_rcfg_modes_differ_from_each_other(tiny):
    cfg, x0, noise, cond, neg = _setup(tiny)
    outs = {}
    for mode in ("none", "self", "initialize", "full"):
        den = StreamDenoiser(UNetRunner(tiny["unet"]), step_plan(cfg, T_INDEX), frames=1)
        den.set_noise(noise)
        outs[mode] = den.sequential(x0, Condition(cond), Condition(neg), GuidanceSettings(mode, 2.0, 1.0))
    modes = list(outs)
    for i, m in enumerate(modes):
        for n in modes[i + 1 :]:
            assert (outs[m] - outs[n]).abs().max() > 1e-3, (m, n)


def test_full_equals_diffusers_textbook_cfg(tiny):
    """'full' against diffusers' own classifier-free guidance (LCM img2img, guidance 1.8)."""
    cfg, x0, _, cond, neg = _setup(tiny)
    pipe = StableDiffusionImg2ImgPipeline(
        vae=tiny["vae"], text_encoder=tiny["text_encoder"], tokenizer=tiny["tokenizer"], unet=tiny["unet"],
        scheduler=LCMScheduler.from_config(cfg), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    ts = [base_timesteps(cfg)[i] for i in T_INDEX]
    ref = pipe(prompt_embeds=cond, negative_prompt_embeds=neg, image=x0, strength=1.0, timesteps=ts, guidance_scale=1.8,
               generator=torch.Generator().manual_seed(5), output_type="latent").images
    gen = torch.Generator().manual_seed(5)
    noise = torch.stack([torch.randn(1, 4, 32, 32, generator=gen) for _ in T_INDEX])
    den = StreamDenoiser(UNetRunner(tiny["unet"]), step_plan(cfg, T_INDEX), frames=1)
    den.set_noise(noise)
    ours = den.sequential(x0, Condition(cond), Condition(neg), GuidanceSettings("full", 1.8, 1.0))
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("steps_index", [[35], [32, 45], [20, 30, 38, 45]])
@pytest.mark.parametrize("mode,expected", [("none", "n"), ("self", "n"), ("initialize", "n+1"), ("full", "2n")])
def test_unet_batch_items_per_frame_are_counted(tiny, steps_index, mode, expected):
    n = len(steps_index)
    want = {"n": n, "n+1": n + 1, "2n": 2 * n}[expected]
    cfg, x0, _, cond, neg = _setup(tiny, steps_index)
    noise = torch.randn(n, 1, 4, 32, 32)
    seen = []
    hook = tiny["unet"].register_forward_hook(lambda mod, args, kwargs, out: seen.append(args[0].shape[0]), with_kwargs=True)
    try:
        g = GuidanceSettings(mode, 1.5, 1.0)
        seq = StreamDenoiser(UNetRunner(tiny["unet"]), step_plan(cfg, steps_index), frames=1)
        seq.set_noise(noise)
        seq.sequential(x0, Condition(cond), Condition(neg), g)
        assert sum(seen) == want
        seen.clear()
        stream = StreamDenoiser(UNetRunner(tiny["unet"]), step_plan(cfg, steps_index), frames=1)
        stream.set_noise(noise)
        for _ in range(5):
            stream.stream_step(x0, Condition(cond), Condition(neg), g)
        assert sum(seen) == 5 * want
        assert len(seen) == 5  # Stream Batch: one UNet call per frame, whatever the mode
    finally:
        hook.remove()
