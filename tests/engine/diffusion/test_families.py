"""The denoiser against diffusers for the other model families' arithmetic:
SDXL (pooled text + time ids), v-prediction (SD 2.x 768-v), LCM-distilled UNets."""

import pytest
import torch
from diffusers import LCMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel

from engine.diffusion.denoiser import GuidanceSettings, StreamDenoiser
from engine.diffusion.model_bundle import ModelBundle
from engine.diffusion.schedule import base_timesteps, step_plan
from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.diffusion.tiny_model import tiny_sdxl_components
from engine.diffusion.unet_runner import Condition, UNetRunner
from engine.media.test_pattern import pattern_frame

T_INDEX = [30, 42]


def _noise(seed, n, hw=(32, 32)):
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randn(1, 4, *hw, generator=gen) for _ in range(n)])


@pytest.fixture(scope="module")
def sdxl():
    c = tiny_sdxl_components()
    return ModelBundle(
        name="tiny-sdxl", family="sdxl", unet=c["unet"], vae=c["vae"], text_encoder=c["text_encoder"],
        tokenizer=c["tokenizer"], text_encoder_2=c["text_encoder_2"], tokenizer_2=c["tokenizer_2"],
        scheduler_config=dict(LCMScheduler().config), tiny_vae=c["tiny_vae"],
    )


@pytest.mark.parametrize("hw", [(32, 32), (8, 16)])  # latents of a 256x256 frame, and of a 128x64 one (h 64, w 128)
def test_sdxl_sequential_matches_diffusers_sdxl_img2img(sdxl, hw):
    """Also checks the time ids' order: diffusers conditions on (height, width), not (width, height)."""
    cfg = sdxl.scheduler_config
    tokens, pooled = sdxl.encode_text("a neon jellyfish")
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=sdxl.vae, text_encoder=sdxl.text_encoder, text_encoder_2=sdxl.text_encoder_2, tokenizer=sdxl.tokenizer,
        tokenizer_2=sdxl.tokenizer_2, unet=sdxl.unet, scheduler=LCMScheduler.from_config(cfg), requires_aesthetics_score=False,
    )
    pipe.set_progress_bar_config(disable=True)
    x0 = torch.randn(1, 4, *hw, generator=torch.Generator().manual_seed(1))
    ts = [base_timesteps(cfg)[i] for i in T_INDEX]
    ref = pipe(prompt_embeds=tokens, pooled_prompt_embeds=pooled, image=x0, strength=1.0, timesteps=ts, guidance_scale=1.0,
               generator=torch.Generator().manual_seed(9), output_type="latent").images
    height, width = (side * pipe.vae_scale_factor for side in hw)
    den = StreamDenoiser(UNetRunner(sdxl.unet, "epsilon", sdxl.sdxl_time_ids(height, width)), step_plan(cfg, T_INDEX))
    den.set_noise(_noise(9, len(T_INDEX), hw))
    ours = den.sequential(x0, Condition(tokens, pooled), None, GuidanceSettings("none", 1.0, 1.0))
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=5e-5)
    if height != width:  # the ids swapped would be another conditioning: the comparison above can tell
        den = StreamDenoiser(UNetRunner(sdxl.unet, "epsilon", sdxl.sdxl_time_ids(width, height)), step_plan(cfg, T_INDEX))
        den.set_noise(_noise(9, len(T_INDEX), hw))
        swapped = den.sequential(x0, Condition(tokens, pooled), None, GuidanceSettings("none", 1.0, 1.0))
        assert (swapped - ref).abs().max() > 1e-3


@pytest.mark.parametrize("width,height", [(128, 128), (128, 64)])
def test_sdxl_stream_runs_every_guidance_mode(sdxl, width, height):
    frame = pattern_frame(0.2, width, height)
    for mode in ("none", "self", "initialize", "full"):
        s = DiffusionStream(sdxl, StreamSettings(width=width, height=height, steps=2, guidance=mode,
                                                 prompts=(("neon", 1.0), ("rain", 0.5))))
        outs = [s.process_one(frame) for _ in range(3)]
        assert outs[0] is None and outs[2].shape == (height, width, 3)
        assert s.runner.add_time_ids.tolist() == [[height, width, 0, 0, height, width]]
        assert torch.equal(s.neg.tokens, torch.zeros_like(s.neg.tokens))  # SDXL: zeros for an empty negative prompt


def _sd_pipe(tiny, unet, cfg):
    pipe = StableDiffusionImg2ImgPipeline(
        vae=tiny["vae"], text_encoder=tiny["text_encoder"], tokenizer=tiny["tokenizer"], unet=unet,
        scheduler=LCMScheduler.from_config(cfg), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _embed(tiny, text):
    ids = tiny["tokenizer"](text, padding="max_length", max_length=77, return_tensors="pt").input_ids
    return tiny["text_encoder"](ids)[0]


def test_v_prediction_matches_diffusers(tiny):
    cfg = dict(LCMScheduler(prediction_type="v_prediction").config)
    embeds = _embed(tiny, "a forest")
    x0 = torch.randn(1, 4, 32, 32, generator=torch.Generator().manual_seed(2))
    ts = [base_timesteps(cfg)[i] for i in T_INDEX]
    ref = _sd_pipe(tiny, tiny["unet"], cfg)(prompt_embeds=embeds, image=x0, strength=1.0, timesteps=ts, guidance_scale=1.0,
                                             generator=torch.Generator().manual_seed(4), output_type="latent").images
    den = StreamDenoiser(UNetRunner(tiny["unet"], "v_prediction"), step_plan(cfg, T_INDEX))
    den.set_noise(_noise(4, len(T_INDEX)))
    ours = den.sequential(x0, Condition(embeds), None, GuidanceSettings("none", 1.0, 1.0))
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)


def test_lcm_distilled_unet_gets_the_guidance_embedding(tiny):
    torch.manual_seed(5)
    unet = UNet2DConditionModel(
        sample_size=32, block_out_channels=(32, 64), layers_per_block=1, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=8, norm_num_groups=16,
        time_cond_proj_dim=32,
    ).eval()
    cfg = dict(LCMScheduler().config)
    embeds = _embed(tiny, "a forest")
    x0 = torch.randn(1, 4, 32, 32, generator=torch.Generator().manual_seed(2))
    ts = [base_timesteps(cfg)[i] for i in T_INDEX]
    # diffusers feeds w = guidance_scale - 1 through the UNet's timestep_cond instead of running CFG
    ref = _sd_pipe(tiny, unet, cfg)(prompt_embeds=embeds, image=x0, strength=1.0, timesteps=ts, guidance_scale=4.0,
                                     generator=torch.Generator().manual_seed(4), output_type="latent").images
    den = StreamDenoiser(UNetRunner(unet), step_plan(cfg, T_INDEX))
    den.set_noise(_noise(4, len(T_INDEX)))
    ours = den.sequential(x0, Condition(embeds), None, GuidanceSettings("none", 4.0, 1.0))
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=5e-5)
    other = den.sequential(x0, Condition(embeds), None, GuidanceSettings("none", 1.5, 1.0))
    assert (other - ours).abs().max() > 1e-4  # the embedding really changes the result
