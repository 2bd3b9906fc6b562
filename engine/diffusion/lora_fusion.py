"""LoRAs for a loaded model: find the file, then fuse it into the weights.

A LoRA is named by a ``.safetensors`` file, a folder holding one, or a Hugging Face
id (fetched under the same cache/offline rules as models).  Fusing goes through
diffusers' own LoRA machinery (which understands the diffusers, PEFT and kohya
layouts) on a throwaway pipeline around our modules; after fusing, the LoRA layers
are dropped, so a fused LoRA costs nothing per frame.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from engine.diffusion.model_sources import (
    FAMILY_LABELS,
    PICKLE_SUFFIXES,
    SAFE_SUFFIX,
    ModelLoadError,
    fetch_from_hub,
    looks_like_hub_id,
    one_line,
    read_safetensors_header,
    refuse_pickle,
)

log = logging.getLogger(__name__)

LCM_LORAS = {"sd15": "latent-consistency/lcm-lora-sdv1-5", "sdxl": "latent-consistency/lcm-lora-sdxl"}


def lcm_lora_plan(
    name: str,
    family: str,
    step: Callable[[str, float], None],
    report: Callable[[float, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[tuple[str, Path, float]]:
    """The LCM-LoRA of ``family`` as a (label, file, scale) plan entry, or nothing where none exists.

    It lets a non-distilled SD 1.5 / SDXL model draw in 1-4 steps.  ``step(stage,
    fraction)`` reports the stage, ``report`` the download.
    """
    if family not in LCM_LORAS:
        # there is no official LCM-LoRA for SD 2.x: it runs without one (best with a turbo/LCM model)
        log.info("No LCM-LoRA exists for %s models: '%s' is loaded without one", FAMILY_LABELS[family], name)
        step(f"No LCM-LoRA exists for {FAMILY_LABELS[family]}: loading without one", 0.35)
        return []
    repo = LCM_LORAS[family]
    step(f"Getting the LCM-LoRA ({repo})", 0.35)
    folder = fetch_from_hub(
        repo, ("pytorch_lora_weights.safetensors",), what=f"The LCM-LoRA '{repo}' (needed for fast steps)",
        fix="turn the LCM-LoRA off (--no-lcm-lora) to run without it",
        must_have=("pytorch_lora_weights.safetensors",), report=report, cancel=cancel,
    )
    return [(repo, folder / "pytorch_lora_weights.safetensors", 1.0)]


def lora_file(
    source: str,
    report: Callable[[float, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The .safetensors file that ``source`` (a file, a folder or a hub id) names, its header checked."""
    path = _find_lora(source, report, cancel)
    read_safetensors_header(path, what="LoRA")  # truncated or corrupt: said now, not after the model load
    return path


def _find_lora(source: str, report, cancel) -> Path:
    path = Path(source).expanduser()
    if path.is_dir():
        return _pick_lora_in(path, source)
    if path.exists() or path.suffix.lower() in (SAFE_SUFFIX, *PICKLE_SUFFIXES):
        refuse_pickle(path, "LoRA")
        if not path.is_file():
            raise ModelLoadError(f"No LoRA file at '{source}': check the path.")
        if path.suffix.lower() != SAFE_SUFFIX:
            raise ModelLoadError(f"LoRA '{source}' is not a .safetensors file: only .safetensors LoRAs are read.")
        return path
    if looks_like_hub_id(source):
        folder = fetch_from_hub(
            source, ("*.safetensors",), what=f"LoRA '{source}'", fix="pass the path of a local .safetensors LoRA",
            must_have=("*.safetensors",), report=report, cancel=cancel,
        )
        return _pick_lora_in(folder, source)
    raise ModelLoadError(f"No LoRA file or folder at '{source}': check the path, or give a Hugging Face id.")


def _pick_lora_in(folder: Path, source: str) -> Path:
    files = sorted(folder.glob("*.safetensors"))
    preferred = folder / "pytorch_lora_weights.safetensors"  # the name diffusers saves LoRAs under
    if preferred in files:
        return preferred
    if len(files) == 1:
        return files[0]
    if not files:
        raise ModelLoadError(f"LoRA '{source}' has no .safetensors file: only .safetensors LoRAs are read.")
    raise ModelLoadError(f"LoRA '{source}' holds {len(files)} .safetensors files: pass the path of the one you want.")


def _lora_pipeline(family: str, components: dict[str, Any], scheduler_config: dict):
    """A pipeline around our modules, only to use diffusers' LoRA loading and fusing."""
    from diffusers import LCMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline

    # steps_offset=1 only spares the pipeline's warning about old configs; this scheduler is discarded
    scheduler = LCMScheduler.from_config(scheduler_config, steps_offset=1)
    common = {k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")}
    if family == "sdxl":
        return StableDiffusionXLPipeline(
            text_encoder_2=components["text_encoder_2"], tokenizer_2=components["tokenizer_2"], scheduler=scheduler,
            **common,
        )
    return StableDiffusionPipeline(
        safety_checker=None, feature_extractor=None, requires_safety_checker=False, scheduler=scheduler, **common
    )


def fuse_loras(
    family: str,
    components: dict[str, Any],
    scheduler_config: dict,
    plan: Sequence[tuple[str, Path, float]],
    step: Callable[[str, float], None],
    span: tuple[float, float] = (0.86, 0.98),
) -> dict[str, float]:
    """Fuse every (label, file, scale) of ``plan`` into the modules, in place; returns {label: scale}.

    ``components`` holds unet, vae, text_encoder, tokenizer (and text_encoder_2,
    tokenizer_2 for SDXL).  ``step(stage, fraction)`` is called before each LoRA,
    with fractions inside ``span``; it may raise to cancel.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    pipe = _lora_pipeline(family, components, scheduler_config)
    family_label = FAMILY_LABELS[family]
    names, scales, applied = [], [], {}
    lo, hi = span
    for i, (label, path, scale) in enumerate(plan):
        step(f"Loading LoRA '{label}'", lo + (hi - lo) * i / len(plan))
        try:
            state = load_file(str(path))
        except SafetensorError as e:
            raise ModelLoadError(
                f"LoRA '{label}' is not a valid .safetensors file (truncated or corrupt): download it again."
            ) from e
        adapter = f"lora_{i}"
        try:
            pipe.load_lora_weights(state, adapter_name=adapter)
        except Exception as e:
            raise ModelLoadError(
                f"LoRA '{label}' does not fit this {family_label} model ({one_line(e, 120)}): "
                f"use a LoRA made for {family_label}."
            ) from e
        names.append(adapter)
        scales.append(float(scale))
        applied[label] = applied.get(label, 0.0) + float(scale)
    step("Fusing LoRAs into the weights", hi)
    pipe.set_adapters(names, scales)
    pipe.fuse_lora(adapter_names=names)
    pipe.unload_lora_weights()  # drops the LoRA layers; the fused weights stay
    return applied
