"""``dreamdeck bench``: the engine against diffusers, measured side by side in one run.

Every configuration runs on the same model components, resolution, input frames
and thread count, one after another in this process:

* engine: DreamDeck's stream (Stream Batch, RCFG ``self``, tiny VAE, cached prompt);
* AutoPipelineForImage2Image on its defaults (50 steps, guidance 7.5) at the same
  strength: the comparison the StreamDiffusion paper makes;
* diffusers' img2img pipeline with the LCM scheduler at the same timesteps and
  guidance scale: like for like (a guidance scale above 1 makes it run full CFG);
* the engine with the full VAE (same autoencoder as diffusers);
* Stream Batch against its sequential twin, RCFG ``self`` against ``full``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from engine.media.test_pattern import pattern_frame


def _frames(width: int, height: int, n: int) -> list[np.ndarray]:
    return [pattern_frame(i / 15, width, height) for i in range(n)]


def bench_frame(size) -> tuple[int, int]:
    """(width, height) of a bench's frames for ``--size``: a long side is a square frame (the
    benches have no output to take an aspect from), WIDTHxHEIGHT that frame.  One line
    naming what Stable Diffusion takes when it cannot."""
    from engine.diffusion.sizes import diffusion_frame

    from .loading import size_error

    try:
        return diffusion_frame(size, "512x512")
    except ValueError as e:
        raise size_error(e) from None


BENCH_PROMPT = "a neon jellyfish drifting through a rainy city at night"


def bench_model(name: str):
    """The model every engine bench measures, loaded quietly for inference (one line when it cannot load)."""
    from engine.diffusion.model_loader import ModelLoadError, load_model

    from .errors import UserError

    from engine.model_family import is_styles

    if is_styles(name):
        raise UserError("the engine benches measure diffusion models (e.g. --model tiny); the built-in styles have "
                        "their own: dreamdeck bench --styles")
    _quiet_libraries()
    torch.set_grad_enabled(False)
    try:
        return load_model(name, tiny_vae=True)
    except ModelLoadError as e:
        raise UserError(str(e)) from None


def _quiet_libraries() -> None:
    """diffusers/transformers warn about things that are deliberate here (custom timesteps)."""
    import warnings

    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)


def _fps(run, items: list, warmup: int) -> float:
    for x in items[:warmup]:
        run(x)
    t0 = time.perf_counter()
    for x in items[warmup:]:
        run(x)
    return (len(items) - warmup) / (time.perf_counter() - t0)


def _pipelines(bundle):
    from diffusers import AutoPipelineForImage2Image, LCMScheduler, PNDMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionXLImg2ImgPipeline

    parts = dict(vae=bundle.vae, text_encoder=bundle.text_encoder, tokenizer=bundle.tokenizer, unet=bundle.unet)
    if bundle.family == "sdxl":
        parts.update(text_encoder_2=bundle.text_encoder_2, tokenizer_2=bundle.tokenizer_2)
        cls = StableDiffusionXLImg2ImgPipeline
    else:
        parts.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        cls = StableDiffusionImg2ImgPipeline
    lcm = cls(scheduler=LCMScheduler.from_config(bundle.scheduler_config), **parts)
    # AutoPipeline with the checkpoint family's stock scheduler (PNDM for SD 1.x/2.x)
    auto = AutoPipelineForImage2Image.from_pipe(cls(scheduler=PNDMScheduler.from_config(bundle.scheduler_config), **parts))
    for p in (lcm, auto):
        p.set_progress_bar_config(disable=True)
    return auto, lcm


def run_bench(a) -> int:
    from PIL import Image

    from engine.diffusion.schedule import base_timesteps
    from engine.diffusion.stream import DiffusionStream, StreamSettings

    from engine.params import ParamError, engine_store

    from .errors import UserError

    try:  # the registry's own checks, before any time is spent on the model
        engine_store().update({"size": a.size, "steps": a.steps, "strength": a.strength, "guidance_scale": a.guidance_scale})
    except ParamError as e:
        raise UserError(str(e)) from None
    if a.frames < 4:
        raise UserError(f"--frames must be at least 4; got {a.frames}")
    width, height = bench_frame(a.size)
    say = (lambda *x: print(*x, file=sys.stderr)) if a.json else print
    bundle = bench_model(a.model)
    prompt = BENCH_PROMPT
    base = StreamSettings(width=width, height=height, steps=a.steps, strength=a.strength, guidance="self", guidance_scale=a.guidance_scale,
                          prompts=((prompt, 1.0),), tiny_vae=bundle.tiny_vae is not None)
    stream = DiffusionStream(bundle, base)  # also puts the shared weights channels-last, for diffusers too
    t_index = stream.denoiser.plan.t_index
    timesteps = [base_timesteps(bundle.scheduler_config)[i] for i in t_index]
    auto, lcm = _pipelines(bundle)
    rounds = 3
    per_round = max(4, a.frames // rounds)
    frames = _frames(width, height, per_round + 2)
    images = [Image.fromarray(f) for f in frames]
    say(f"bench: model {a.model!r}, {width}x{height}, {a.steps} steps (t_index {list(t_index)}), strength {a.strength}, "
        f"guidance scale {a.guidance_scale}, {torch.get_num_threads()} torch threads, device {bundle.device}; "
        f"{rounds} interleaved rounds, median frames/s")

    def engine(**changes):
        def run():
            stream.apply(replace(base, **changes))
            stream.restart()
            return _fps(stream.process_one, frames, warmup=2)
        return run

    def lcm_run():
        call = lambda im: lcm(prompt=prompt, image=im, strength=1.0, timesteps=timesteps, guidance_scale=a.guidance_scale,
                              generator=torch.Generator().manual_seed(0))
        return _fps(call, images[: max(3, per_round // 2) + 1], warmup=1)

    def auto_run():
        call = lambda im: auto(prompt=prompt, image=im, strength=a.strength, generator=torch.Generator().manual_seed(0))
        return _fps(call, images[:3], warmup=1)

    configs = {
        "engine_fps": ("DreamDeck: Stream Batch, RCFG self, TAESD", engine()),
        "engine_full_vae_fps": ("DreamDeck with the full VAE", engine(tiny_vae=False)),
        "engine_sequential_fps": ("DreamDeck sequential (no Stream Batch)", engine(stream_batch=False)),
        "engine_rcfg_full_fps": ("DreamDeck with full CFG", engine(guidance="full")),
        "lcm_img2img_fps": ("diffusers img2img + LCMScheduler", lcm_run),
        "autopipeline_fps": ("diffusers AutoPipelineForImage2Image", auto_run),
    }
    for key in configs:  # untimed: first calls at a new shape pay one-off kernel setup
        if key.startswith("engine"):
            configs[key][1]()
    samples: dict[str, list[float]] = {k: [] for k in configs}
    for _ in range(rounds):
        for key, (_, run) in configs.items():
            samples[key].append(run())
    r = {k: float(np.median(v)) for k, v in samples.items()}
    for key, (label, _) in configs.items():
        spread = (max(samples[key]) - min(samples[key])) / r[key] * 100
        say(f"  {label:<44} {r[key]:8.2f} frames/s  (spread {spread:4.1f}%)")

    report = {
        "model": a.model,
        "size": f"{width}x{height}",
        "steps": a.steps,
        "t_index_list": list(t_index),
        "strength": a.strength,
        "guidance_scale": a.guidance_scale,
        **{k: round(v, 3) for k, v in r.items()},
        "ratio_vs_autopipeline": round(r["engine_fps"] / r["autopipeline_fps"], 3),
        "ratio_like_for_like": round(r["engine_fps"] / r["lcm_img2img_fps"], 3),
        "ratio_like_for_like_same_vae": round(r["engine_full_vae_fps"] / r["lcm_img2img_fps"], 3),
        "stream_batch_vs_sequential": round(r["engine_fps"] / r["engine_sequential_fps"], 3),
        "rcfg_self_vs_full": round(r["engine_fps"] / r["engine_rcfg_full_fps"], 3),
        "torch_threads": torch.get_num_threads(),
        "device": str(bundle.device),
    }
    if a.json:
        print(json.dumps(report))
    else:
        print("ratios (DreamDeck / baseline; above 1 means DreamDeck is faster):")
        for k in ("ratio_vs_autopipeline", "ratio_like_for_like", "ratio_like_for_like_same_vae", "stream_batch_vs_sequential", "rcfg_self_vs_full"):
            print(f"  {k:<44} {report[k]:8.2f}x")
    return 0
