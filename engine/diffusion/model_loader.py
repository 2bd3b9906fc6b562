"""Model loading: turn what the user named into a :class:`ModelBundle`, or say why not.

A model can be named four ways (see :func:`describe_source`):

* ``tiny``: the built-in test model (:mod:`engine.diffusion.tiny_model`), no download;
* a local folder in diffusers layout (``model_index.json``, ``unet/``, ``vae/``, ...);
* a Hugging Face id such as ``stabilityai/sd-turbo``: read from the local cache, else
  downloaded (unless offline mode is on), only the safetensors/json/txt files needed;
* one ``.safetensors`` checkpoint (A1111 / ComfyUI layout), its family read from the
  tensor names in its header.

On top of the base model the loader adds what the stream needs: the tiny VAE (TAESD)
for fast decoding, the LCM-LoRA that lets a non-distilled SD 1.5 / SDXL model draw in
1-4 steps, and the user's LoRAs; LoRAs are fused into the weights, so they cost
nothing per frame.  The tiny VAE and the LCM-LoRA are optional: given a ``warn``
callback, one that cannot be had (offline and not cached) is skipped with one
:class:`LoadWarning` (see :mod:`engine.diffusion.model_extras`).

:func:`load_model` is pure: it returns a new bundle or raises :class:`ModelLoadError`
(one line, naming the fix) and never touches a bundle loaded before.  It reports
``progress(stage, fraction)`` and stops at the next stage edge (or mid-download)
when ``cancel`` is set.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from engine.diffusion.lora_fusion import fuse_loras, lora_file
from engine.diffusion.model_bundle import ModelBundle
from engine.diffusion.model_extras import TINY_VAES, LoadWarning, Warn, lcm_lora_or_none, tiny_vae_folder
from engine.diffusion.model_sources import (
    CONFIG_PATTERNS,
    FAMILY_LABELS,
    SAFE_SUFFIX,
    Cancelled,
    MissingWeights,
    ModelLoadError,
    checkpoint_family,
    describe_source,
    family_from_unet_config,
    fetch_from_hub,
    one_line,
    read_json,
    read_safetensors_header,
    refuse_pickle,
    single_file_config_repo,
    weights_variant,
)

__all__ = ["LoadWarning", "ModelLoadError", "TINY_VAES", "describe_source", "family_from_unet_config", "load_model"]

# The files of a diffusers pipeline repository the stream uses: configs, tokenizers and the
# full-precision safetensors weights (no .bin, no fp16/ema variants, no safety checker).
PIPELINE_PATTERNS = (
    "model_index.json",
    "scheduler/*.json",
    "tokenizer*/*",
    "text_encoder*/config.json",
    "text_encoder*/model.safetensors",
    "text_encoder*/model.safetensors.index.json",  # large encoders come in shards
    "text_encoder*/model-*-of-*.safetensors",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.safetensors.index.json",
    "unet/diffusion_pytorch_model-*-of-*.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
)
MODEL_FIX = "point --model at a local folder or .safetensors file"


@dataclass
class _Parts:
    """What a source yields before the shared steps (tiny VAE, device, LoRAs)."""

    family: str
    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_config: dict
    text_encoder_2: Any = None
    tokenizer_2: Any = None
    tiny_vae: Any = None
    loras: dict[str, float] = field(default_factory=dict)

    def modules(self):
        return [m for m in (self.unet, self.vae, self.tiny_vae, self.text_encoder, self.text_encoder_2) if m is not None]


class _Progress:
    """Stage reports that only move forward, with the cancel check at every stage edge."""

    def __init__(self, callback: Callable[[str, float], None] | None, cancel: threading.Event | None):
        self.callback = callback
        self.cancel = cancel
        self.fraction = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()
        self.fraction = max(self.fraction, min(fraction, 1.0))
        if self.callback is not None:
            self.callback(stage, self.fraction)

    def span(self, lo: float, hi: float) -> Callable[[float, str], None]:
        """A reporter for a sub-task (a download) whose own 0..1 maps onto lo..hi."""
        return lambda done, text: self(text, lo + (hi - lo) * done)


# -- public entry point -------------------------------------------------------------------------

def load_model(
    name: str,
    *,
    tiny_vae: bool = True,
    lcm_lora: bool = True,
    loras: Sequence[tuple[str, float]] = (),
    device=None,
    dtype=None,
    progress: Callable[[str, float], None] | None = None,
    cancel: threading.Event | None = None,
    warn: Warn | None = None,
) -> ModelBundle:
    """Load ``name`` ('tiny', a folder, a hub id or a .safetensors file) into a new bundle.

    ``device``/``dtype`` default to CUDA + float16 when a GPU is present, else CPU +
    float32 (``dtype`` may also be 'fp16', 'bf16' or 'fp32').  ``loras`` are (path or
    hub id, scale) pairs fused into the weights.  ``progress(stage, fraction)`` is called
    on the loading thread, and during downloads from huggingface_hub's worker threads
    too: a GUI must hand it over to its own thread.  With ``warn``, a tiny VAE or
    LCM-LoRA that cannot be had is skipped and ``warn(LoadWarning)`` called once for it
    (on the loading thread); without, that is a ModelLoadError.
    """
    name = str(name)  # a pathlib.Path is welcome too
    step = _Progress(progress, cancel)
    device, dtype = _pick_device(device, dtype)
    try:
        with torch.no_grad():
            return _load(name, tiny_vae, lcm_lora, loras, device, dtype, step, warn)
    except ModelLoadError:
        raise
    except (torch.OutOfMemoryError, MemoryError) as e:
        raise ModelLoadError(_out_of_memory(name, device)) from e
    except RuntimeError as e:
        text = str(e).lower()
        if "out of memory" in text or "can't allocate memory" in text:
            raise ModelLoadError(_out_of_memory(name, device)) from e
        raise ModelLoadError(_unexpected(name, e)) from e
    except Exception as e:
        raise ModelLoadError(_unexpected(name, e)) from e


def _out_of_memory(name: str, device: torch.device) -> str:
    where = "GPU memory" if device.type == "cuda" else "memory"
    return (
        f"Not enough {where} to load '{name}': choose a smaller model (an SD 1.5 or sd-turbo model instead of SDXL), "
        "load it in fp16, or close other apps that use the GPU or RAM."
    )


def _unexpected(name: str, e: Exception) -> str:
    return (
        f"Could not load model '{name}' ({type(e).__name__}: {one_line(e, 160)}): check that it is a complete "
        "SD 1.5, SD 2.x or SDXL model, as a diffusers folder, a hub id or a .safetensors file."
    )


def _pick_device(device, dtype) -> tuple[torch.device, torch.dtype]:
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if isinstance(dtype, str):
        names = {"fp16": torch.float16, "float16": torch.float16, "half": torch.float16,
                 "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32}
        if dtype.lower() not in names:
            raise ModelLoadError(f"Unknown dtype '{dtype}': use fp16, bf16 or fp32.")
        dtype = names[dtype.lower()]
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    return device, dtype


def _load(name, want_tiny_vae, want_lcm_lora, loras, device, dtype, step: _Progress, warn: Warn | None) -> ModelBundle:
    # Cheap checks and downloads come first, the heavy weights last: a bad LoRA path or a
    # missing LCM-LoRA is reported before minutes are spent reading a large model.
    step(f"Finding model '{name}'", 0.0)
    source = describe_source(name)
    user_loras = []
    for lora_name, scale in loras:
        step(f"Finding LoRA '{lora_name}'", 0.01)
        user_loras.append((str(lora_name), lora_file(str(lora_name), step.span(0.01, 0.02), step.cancel), float(scale)))
    spec = _inspect(name, source, want_tiny_vae, dtype, step)
    # judged by the model's own name (the last part of a path or id), not the folders above it
    own_name = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    is_turbo = "turbo" in f"{own_name} {spec.hints}".lower()
    is_lcm = "lcm" in own_name or spec.lcm_unet
    tiny_vae_dir = None
    if want_tiny_vae and source != "built-in":
        tiny_vae_dir = tiny_vae_folder(spec.family, step, warn)
    lcm_plan, lcm_warnings = [], []  # said once the UNet is known not to be LCM-distilled
    if want_lcm_lora and source != "built-in" and not (is_turbo or is_lcm):
        lcm_plan = lcm_lora_or_none(name, spec.family, step, step.span(0.35, 0.4), step.cancel,
                                    None if warn is None else lcm_warnings.append)

    parts = spec.load()
    if tiny_vae_dir is not None:
        from diffusers import AutoencoderTiny

        step("Loading the tiny VAE", 0.76)
        parts.tiny_vae = AutoencoderTiny.from_pretrained(tiny_vae_dir, use_safetensors=True, torch_dtype=dtype)
    if getattr(parts.unet.config, "time_cond_proj_dim", None) is not None:
        lcm_plan, lcm_warnings = [], []  # an LCM-distilled UNet after all (e.g. a single file without 'lcm' in its name)
    for warning in lcm_warnings:
        warn(warning)

    step(f"Moving the model to {device}", 0.8)
    for module in parts.modules():
        module.eval().requires_grad_(False)
        module.to(device=device)
        if module.dtype != dtype:  # from_pretrained already gave most of them the dtype
            module.to(dtype=dtype)

    if lcm_plan or user_loras:
        parts.loras = fuse_loras(
            parts.family,
            dict(unet=parts.unet, vae=parts.vae, text_encoder=parts.text_encoder, tokenizer=parts.tokenizer,
                 text_encoder_2=parts.text_encoder_2, tokenizer_2=parts.tokenizer_2),
            parts.scheduler_config, lcm_plan + user_loras, step,
        )

    step(f"Model '{name}' ready", 1.0)
    return ModelBundle(
        name=name, family=parts.family, unet=parts.unet, vae=parts.vae, text_encoder=parts.text_encoder,
        tokenizer=parts.tokenizer, scheduler_config=parts.scheduler_config, tiny_vae=parts.tiny_vae,
        text_encoder_2=parts.text_encoder_2, tokenizer_2=parts.tokenizer_2, is_turbo=is_turbo,
        loras=parts.loras, device=device, dtype=dtype,
    )


@dataclass
class _Spec:
    """What is known about a model before its weights are read, and how to read them."""

    family: str
    hints: str  # more text searched for 'turbo' (the model_index's _name_or_path)
    lcm_unet: bool  # the UNet config says LCM-distilled (time_cond_proj_dim)
    load: Callable[[], _Parts]


def _inspect(name: str, source: str, want_tiny_vae: bool, dtype, step: _Progress) -> _Spec:
    if source == "built-in":
        return _Spec("sd15", "", False, lambda: _tiny_parts(want_tiny_vae))
    if source == "folder":
        return _inspect_folder(Path(name).expanduser(), name, dtype, step)
    if source == "hub id":
        folder = fetch_from_hub(
            name, PIPELINE_PATTERNS, what=f"Model '{name}'", fix=MODEL_FIX, must_have=("model_index.json",),
            report=step.span(0.02, 0.3), cancel=step.cancel,
        )
        try:
            return _inspect_folder(folder, name, dtype, step)
        except MissingWeights as e:  # only full-precision .safetensors are fetched (never .bin)
            raise ModelLoadError(
                f"Model '{name}' on the Hugging Face hub has no full-precision .safetensors weights for every part: "
                f"get a .safetensors version of it and {MODEL_FIX}."
            ) from e
    return _inspect_single_file(Path(name).expanduser(), dtype, step)


# -- sources ---------------------------------------------------------------------------------------

def _lcm_scheduler_config(config) -> dict:
    """The model's scheduler config as an LCMScheduler config: its betas and prediction type kept."""
    import inspect

    from diffusers import LCMScheduler

    accepted = inspect.signature(LCMScheduler.__init__).parameters
    # keys LCMScheduler does not take (Euler's sigmas, ...) are dropped here rather than warned about
    return dict(LCMScheduler.from_config({k: v for k, v in dict(config).items() if k in accepted}).config)


def _tiny_parts(want_tiny_vae: bool) -> _Parts:
    from engine.diffusion.tiny_model import tiny_components

    c = tiny_components()  # fresh weights every time: the loader never shares modules
    return _Parts(
        family="sd15", unet=c["unet"], vae=c["vae"], text_encoder=c["text_encoder"], tokenizer=c["tokenizer"],
        scheduler_config=_lcm_scheduler_config(c["scheduler"].config),
        tiny_vae=c["tiny_vae"] if want_tiny_vae else None,
    )


def _inspect_folder(folder: Path, name: str, dtype, step: _Progress) -> _Spec:
    index = read_json(folder / "model_index.json")
    if index is None:
        raise ModelLoadError(
            f"'{name}' is not a diffusers model folder (no model_index.json): point --model at a folder saved "
            "with diffusers, or at a .safetensors checkpoint file."
        )
    unet_config = read_json(folder / "unet" / "config.json")
    if unet_config is None or unet_config.get("_class_name", "UNet2DConditionModel") != "UNet2DConditionModel":
        kind = index.get("_class_name", "this pipeline")
        raise ModelLoadError(f"'{name}' holds a {kind}, which DreamDeck cannot run: use an SD 1.5, SD 2.x or SDXL model.")
    if unet_config.get("in_channels", 4) != 4:
        raise ModelLoadError(
            f"'{name}' is an inpainting or other special-purpose model ({unet_config['in_channels']} input "
            "channels): use a regular text-to-image model."
        )
    family = family_from_unet_config(unet_config)
    components = [("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"), ("text_encoder", "model")]
    if family == "sdxl":
        components.append(("text_encoder_2", "model"))
    # every component's weights are checked before any is loaded, so a bad folder fails fast
    variants = {comp: weights_variant(folder, comp, stem) for comp, stem in components}
    return _Spec(
        family=family,
        hints=str(index.get("_name_or_path", "")),
        lcm_unet=unet_config.get("time_cond_proj_dim") is not None,
        load=lambda: _load_folder(folder, family, variants, dtype, step),
    )


def _load_folder(folder: Path, family: str, variants: dict, dtype, step: _Progress) -> _Parts:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    def weights(component: str) -> dict:
        return dict(subfolder=component, use_safetensors=True, variant=variants[component])

    step("Loading the UNet", 0.45)
    unet = UNet2DConditionModel.from_pretrained(folder, torch_dtype=dtype, **weights("unet"))
    step("Loading the VAE", 0.6)
    vae = AutoencoderKL.from_pretrained(folder, torch_dtype=dtype, **weights("vae"))
    step("Loading the text encoder", 0.65)
    text_encoder = CLIPTextModel.from_pretrained(folder, dtype=dtype, **weights("text_encoder"))
    tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer")
    text_encoder_2 = tokenizer_2 = None
    if family == "sdxl":
        step("Loading the second text encoder", 0.7)
        text_encoder_2 = CLIPTextModelWithProjection.from_pretrained(folder, dtype=dtype, **weights("text_encoder_2"))
        tokenizer_2 = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer_2")
    scheduler = read_json(folder / "scheduler" / "scheduler_config.json") or {}  # none: SD's usual betas
    return _Parts(
        family=family, unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, scheduler_config=_lcm_scheduler_config(scheduler),
    )


def _inspect_single_file(path: Path, dtype, step: _Progress) -> _Spec:
    refuse_pickle(path)
    if not path.is_file():
        raise ModelLoadError(f"No model file at '{path}': check the path.")
    if path.suffix.lower() != SAFE_SUFFIX:
        raise ModelLoadError(f"'{path}' is not a .safetensors file: DreamDeck reads only .safetensors checkpoints.")
    family = checkpoint_family(read_safetensors_header(path), path)
    turbo = "turbo" in path.name.lower()
    repo = single_file_config_repo(family, turbo)
    # from_single_file needs the family's diffusers configs; they are fetched here, under
    # our cache/offline rules, and handed over as a folder, so diffusers never goes online
    config_dir = fetch_from_hub(
        repo, CONFIG_PATTERNS, what=f"The {FAMILY_LABELS[family]} configuration that '{path.name}' needs ({repo}, "
        "a few small files)", fix="load the model from a diffusers folder instead",
        must_have=("model_index.json", "unet/config.json"), report=step.span(0.02, 0.3), cancel=step.cancel,
    )
    return _Spec(family=family, hints="", lcm_unet=False,
                 load=lambda: _load_single_file(path, config_dir, family, dtype, step))


def _load_single_file(path: Path, config_dir: Path, family: str, dtype, step: _Progress) -> _Parts:
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    step(f"Reading {path.name}", 0.45)
    pipeline_class = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    pipe = pipeline_class.from_single_file(str(path), config=str(config_dir), local_files_only=True, torch_dtype=dtype)
    return _Parts(
        family=family, unet=pipe.unet, vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer,
        text_encoder_2=getattr(pipe, "text_encoder_2", None), tokenizer_2=getattr(pipe, "tokenizer_2", None),
        scheduler_config=_lcm_scheduler_config(pipe.scheduler.config),
    )

